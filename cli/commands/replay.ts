/**
 * `telemetry replay`: archived NDJSON to stdout, for re-running part of the pipeline on what was kept.
 * Wires stages/replay to the process: stdout with awaited writes, EPIPE → exit 0, SIGTERM → stop and
 * flush, a progress bar (cli-progress) when stderr is a terminal.
 */
import type { Argv, CommandModule } from "yargs";
import { LineWriter } from "../../stages/shared/line-writer";
import { countOf } from "../../stages/shared/plural";
import { withExamples } from "../command";
import type { TimeWindow } from "../../stages/replay/replay";
import {
  exitWithConfigError,
  openBadChannel,
  processorFor,
  say,
  shutdownSignal,
  stdinStageOptions,
} from "../runtime";

interface ReplayArgs {
  paths: string[];
  since?: string;
  until?: string;
  rate?: number;
  progress?: boolean;
  bad?: string;
  maxLineBytes: number;
}

const STAGE = "replay";

/** An ISO date/time, or milliseconds since the epoch. */
function parseTime(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const time = /^\d+$/.test(value) ? new Date(Number(value)) : new Date(value);
  if (Number.isNaN(time.getTime())) exitWithConfigError(STAGE, `${flag} "${value}" is not a date (e.g. 2025-11-27T10:00:00Z)`);
  return time;
}

async function run(args: ReplayArgs): Promise<never> {
  // Loaded here, not at the top, so other commands do not pay for replay's modules at startup.
  const [{ SingleBar }, { listArchiveFiles, replay, ReplayInputError, totalBytes }] = await Promise.all([
    import("cli-progress"),
    import("../../stages/replay/replay"),
  ]);
  const window: TimeWindow = { since: parseTime(args.since, "--since"), until: parseTime(args.until, "--until") };
  if (args.rate !== undefined && !(args.rate > 0)) exitWithConfigError(STAGE, "--rate must be a number of lines per second above 0");
  let files: string[];
  try {
    files = await listArchiveFiles(args.paths);
  } catch (error) {
    if (error instanceof ReplayInputError) exitWithConfigError(STAGE, error.message);
    throw error;
  }
  if (files.length === 0) exitWithConfigError(STAGE, `no *.ndjson or *.ndjson.gz files in ${args.paths.join(", ")}`);

  const signal = shutdownSignal();
  const output = new LineWriter(process.stdout);
  output.closed.then(() => process.exit(0));
  const bad = openBadChannel(STAGE, args.bad);
  const showProgress = args.progress ?? Boolean(process.stderr.isTTY);
  const bar = showProgress
    ? new SingleBar({
        stream: process.stderr,
        format: "replay [{bar}] {percentage}% | {value}/{total} bytes | {lines} lines | ETA {eta_formatted}",
        hideCursor: true,
      })
    : null;
  let lines = 0;
  bar?.start(await totalBytes(files), 0, { lines });
  try {
    const totals = await replay(
      files,
      { window, rate: args.rate, maxLineBytes: args.maxLineBytes },
      {
        output: {
          writeLine: (line) => {
            lines++;
            return output.writeLine(line);
          },
          get isDownstreamClosed() {
            return output.isDownstreamClosed;
          },
        },
        bad,
        processor: processorFor(STAGE),
        signal,
        onBytesRead: bar ? (bytes) => bar.increment(bytes, { lines }) : undefined,
      },
    );
    await output.end();
    bar?.stop();
    const skipped = totals.outsideWindow + totals.timeless;
    say(
      STAGE,
      `${countOf(totals.written, "line")} from ${countOf(files.length, "file")}` +
        (skipped ? `; ${totals.outsideWindow} outside the time window, ${totals.timeless} without a record time` : "") +
        (totals.bad ? `; ${countOf(totals.bad, "unreadable line")} written as bad rows` : ""),
    );
  } finally {
    bar?.stop();
    bad.close();
  }
  process.exit(0);
}

const replayCommand: CommandModule<object, ReplayArgs> = {
  command: "replay <paths..>",
  describe: "Write archived NDJSON (files or folders of *.ndjson / *.ndjson.gz, in name order) to stdout",
  builder: (yargs: Argv) =>
    withExamples(yargs, [
      ["$0 replay data/archive | $0 enrich | $0 sink-good", "re-enrich everything kept"],
      ["$0 replay --since 2025-11-27T00:00:00Z --rate 500 data/archive | $0 enrich", "one day onwards, gently"],
    ])
      .positional("paths", { type: "string", array: true, describe: "archive files or folders" })
      .options({
        since: { type: "string", describe: "only records at or after this time (ISO 8601 or epoch ms), by record time" },
        until: { type: "string", describe: "only records before this time" },
        rate: { type: "number", describe: "at most this many lines per second" },
        progress: { type: "boolean", describe: "progress bar on stderr (default: when stderr is a terminal)" },
        bad: stdinStageOptions.bad,
        "max-line-bytes": stdinStageOptions["max-line-bytes"],
      }) as unknown as Argv<ReplayArgs>,
  handler: (args) => run(args),
};

export default replayCommand;
