#!/usr/bin/env bun
/**
 * The `telemetry` command: one sub-command per stage. Each module in cli/commands/ declares its flags
 * and wires its stage to the process; this file only lists them and sets the shared rules:
 * TELEMETRY_* environment variables for every flag (cli/command.ts), `--config FILE` for the same names,
 * and exit 2 with one sentence on a bad flag.
 */
import yargs, { type CommandModule } from "yargs";
import { hideBin } from "yargs/helpers";
import { missingShippedFiles } from "../stages/shared/shipped-files";
import { chosenCommand, declareCommand, ENV_PREFIX } from "./command";
import { VERSION } from "./runtime";
import collect from "./commands/collect";
import sink, { sinkBad, sinkGood } from "./commands/sink";
import replay from "./commands/replay";
import iglu from "./commands/iglu";
import enrich from "./commands/enrich";
import logsListen from "./commands/logs-listen";
import up from "./commands/up";
import { down, status } from "./commands/status";
import dashboard from "./commands/dashboard";
import kafkaTopics from "./commands/kafka-topics";

const commands: CommandModule<any, any>[] = [collect, sink, sinkGood, sinkBad, replay, enrich, logsListen, dashboard, up, status, down, kafkaTopics];

const cli = yargs(hideBin(process.argv))
  .scriptName("telemetry")
  // Our own sentences are English; yargs' would otherwise follow LANG and could not be reworded below.
  .locale("en")
  .updateStrings({
    "Invalid values:": " ",
    "Argument: %s, Given: %s, Choices: %s": "--%s cannot be %s; it takes one of %s",
  })
  .usage("$0 <command> [options]\n\nSnowplow- and Logstash-compatible telemetry as Unix stages joined by NDJSON pipes.")
  .env(ENV_PREFIX)
  .config("config", "JSON file with options (same names as the flags)")
  .strict()
  .demandCommand(1, "name a command")
  .version(VERSION)
  .check(rejectNonNumbers, true)
  .middleware(requireShippedFiles)
  .help()
  .wrap(Math.min(110, process.stdout.columns || 110))
  .epilogue(
    "Example:\n  telemetry collect --port 8000 | telemetry enrich | telemetry sink-good\n\n" +
      "Every flag can also be set as TELEMETRY_<FLAG_NAME> (e.g. TELEMETRY_PORT=8000); a command reads only its own.",
  )
  .fail((message, error) => {
    if (error && !(error as { isConfigError?: boolean }).isConfigError && !message) throw error;
    // yargs may put the sentence after an empty first line (see updateStrings above).
    const sentence = (message ?? error?.message ?? "invalid arguments").split("\n").map((line) => line.trim()).find(Boolean);
    const command = chosenCommand();
    const name = command === undefined ? "telemetry" : `telemetry ${command}`;
    process.stderr.write(`${name}: ${sentence} (see \`${name} --help\`)\n`);
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

/** A compiled telemetry copied without its share/ folder says so before any stage looks for a schema. */
function requireShippedFiles(): void {
  const missing = missingShippedFiles();
  if (missing === undefined) return;
  process.stderr.write(`telemetry: ${missing} is missing; keep the share/ folder that \`make build\` writes beside the executable.\n`);
  process.exit(2);
}

for (const command of commands) cli.command(declareCommand(command));
cli.command(declareCommand(iglu, { group: true }));

await cli.parseAsync();
