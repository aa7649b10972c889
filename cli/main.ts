#!/usr/bin/env bun
/**
 * The `telemetry` command: one sub-command per stage. Each module in cli/commands/ declares its flags
 * and wires its stage to the process; this file only lists them and sets the shared rules:
 * TELEMETRY_* environment variables for every flag, `--config FILE` for the same names, and
 * exit 2 with one sentence on a bad flag.
 */
import yargs, { type CommandModule } from "yargs";
import { hideBin } from "yargs/helpers";
import { VERSION } from "./runtime";
import collect from "./commands/collect";
import sink, { sinkBad, sinkGood } from "./commands/sink";
import replay from "./commands/replay";
import iglu from "./commands/iglu";
import enrich from "./commands/enrich";
import logsListen from "./commands/logs-listen";


const commands: CommandModule<any, any>[] = [collect, sink, sinkGood, sinkBad, replay, enrich, logsListen, iglu];

const cli = yargs(hideBin(process.argv))
  .scriptName("telemetry")
  .usage("$0 <command> [options]\n\nSnowplow- and Logstash-compatible telemetry as Unix stages joined by NDJSON pipes.")
  .env("TELEMETRY")
  .config("config", "JSON file with options (same names as the flags)")
  .strict()
  .demandCommand(1, "Name a command; `telemetry --help` lists them.")
  .version(VERSION)
  .check(rejectNonNumbers, true)
  .help()
  .wrap(Math.min(110, process.stdout.columns || 110))
  .epilogue(
    "Example:\n  telemetry collect --port 8000 | telemetry enrich | telemetry sink-good\n\n" +
      "Every flag can also be set as TELEMETRY_<FLAG_NAME> (e.g. TELEMETRY_PORT=8000).",
  )
  .fail((message, error) => {
    if (error && !(error as { isConfigError?: boolean }).isConfigError && !message) throw error;
    const sentence = (message ?? error?.message ?? "invalid arguments").split("\n")[0];
    process.stderr.write(`telemetry: ${sentence}\nRun \`telemetry --help\` for usage.\n`);
    process.exit(2);
  });

/** yargs turns `--port abc` into NaN; say so here rather than let a stage fail on it later. */
function rejectNonNumbers(argv: Record<string, unknown>): true {
  for (const [name, value] of Object.entries(argv)) {
    if (typeof value === "number" && Number.isNaN(value) && !/[A-Z]/.test(name)) {
      throw new Error(`--${name} must be a number`);
    }
  }
  return true;
}

for (const command of commands) cli.command(command);

await cli.parseAsync();
