/**
 * What every stage process shares: the bad-row channel, stdin as chunks, signals, exit codes.
 * Stage logic never touches `process`; these helpers adapt it to one.
 */
import { Acknowledgements } from "../stages/shared/acknowledgements";
import { AppendFile, appendProblem } from "../stages/shared/append-file";
import { BadRowFile } from "../stages/shared/bad-rows";
import { ConfigError } from "../stages/shared/config-error";
import { StageCounters } from "../stages/shared/counters";
import { LineWriter } from "../stages/shared/line-writer";
import { readLineBatches, readRecords, lineProblemBadRow, type InputRecord, type LineBatch, type LineProblem } from "../stages/shared/ndjson";
import type { BadRow, Processor } from "../stages/shared/bad-rows";
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;

export function processorFor(stage: string): Processor {
  return { artifact: `telemetry-${stage}`, version: VERSION };
}

/** Whether a listener bound to `host` takes connections from this machine only. */
export function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === "::1" || host === "localhost";
}

/** For a startup line: who can reach a listener on `host`, and how to change it. */
export function reachOf(host: string): string {
  return isLoopback(host) ? "this machine only; --host 0.0.0.0 lets other machines in" : "other machines can reach it";
}

export function say(stage: string, message: string): void {
  process.stderr.write(`telemetry ${stage}: ${message}\n`);
}

export function exitWithConfigError(stage: string, message: string): never {
  say(stage, message);
  process.exit(2);
}

/**
 * Aborts on the first SIGTERM or SIGINT so the stage can stop taking input and drain;
 * a second signal ends the process at once for a person who does not want to wait.
 */
export function shutdownSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    controller.abort(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return controller.signal;
}

export const DEFAULT_BAD_PATH = "telemetry-bad.ndjson";

/** The --bad channel; a destination that cannot be written is a configuration error, found at startup. */
export function openBadChannel(stage: string, path: string | undefined): BadRowFile {
  const destination = path ?? DEFAULT_BAD_PATH;
  const problem = appendProblem(destination);
  if (problem !== null) exitWithConfigError(stage, `bad rows cannot be written to ${destination} (${problem}); choose another --bad PATH.`);
  return new BadRowFile(destination, {
    isDefaultPath: path === undefined,
    announceDefault: (where) => say(stage, `bad rows are going to ${where} (choose with --bad PATH)`),
  });
}

function openAcknowledgements(stage: string, path: string | undefined, output: LineWriter): Acknowledgements | undefined {
  if (path === undefined) return undefined;
  const problem = appendProblem(path);
  if (problem !== null) exitWithConfigError(stage, `acknowledgements cannot be written to ${path} (${problem}); choose another --acks PATH.`);
  return new Acknowledgements(new AppendFile(path), () => output.written());
}

/** Options every stdin stage accepts; defined once so --help and env names agree everywhere. */
export const stdinStageOptions = {
  bad: {
    type: "string",
    describe: `file or FIFO that bad rows are appended to (default ./${DEFAULT_BAD_PATH})`,
  },
  "max-line-bytes": {
    type: "number",
    default: 8 * 1024 * 1024,
    describe: "longest input line accepted; longer lines become size_violation bad rows",
  },
  "stats-interval": {
    type: "number",
    default: 10,
    describe: "seconds between counter lines on stderr (0 turns them off)",
  },
  acks: {
    type: "string",
    describe: 'file or FIFO told {"handled":N} as the first N input lines are handled for good (for a supervisor)',
  },
} as const;

/** What a stage writes its lines to: stdout's LineWriter, or a Kafka producer (stages/kafka). */
export type StageOutput = Pick<LineWriter, "writeLine" | "writeLines" | "writeRecord" | "written" | "end" | "closed" | "isBlocked">;

/**
 * Another source and destination than stdin/stdout/--bad/--acks: Kafka topics (cli/kafka.ts). The stage
 * itself does not change: it reads the same lines and says the same "lines 1..N handled".
 */
export interface StageIO {
  /** Where "Kafka" or the like is named in messages. */
  name: string;
  input(stop: AbortSignal): AsyncIterable<Uint8Array>;
  output?: StageOutput;
  bad?: BadRowFile;
  /** Input lines 1..`line` are handled for good (what --acks would be told). */
  handled(line: number): void;
  /** After the stage has finished and its output is written: commit, leave, disconnect. */
  close(): Promise<void>;
}

export interface StdinStageContext {
  /** stdin as parsed records. A stage reads either this or lineBatches(), not both. */
  input: AsyncIterable<InputRecord>;
  /** stdin as batches of unparsed lines, one per chunk read (counted in `counters.in`). */
  lineBatches(): AsyncIterable<LineBatch>;
  output: StageOutput;
  bad: BadRowFile;
  counters: StageCounters;
  signal: AbortSignal;
  processor: Processor;
  /** Input lines 1..`line` are handled for good: told to --acks once stdout has written their output. */
  acknowledge(line: number): void;
}

export interface StdinStageArgs {
  bad?: string;
  maxLineBytes: number;
  statsInterval: number;
  acks?: string;
}

export interface StdinStageOptions {
  /** The bad row for an unreadable input line; default `lineProblemBadRow` (size_violation / generic_error). */
  lineProblemBadRow?: (problem: LineProblem, processor: Processor, maxLineBytes: number) => BadRow;
  /** Read and write elsewhere than stdin, stdout and --bad (Kafka). */
  io?: StageIO;
}

async function* countedBatches(batches: AsyncIterable<LineBatch>, counters: StageCounters): AsyncGenerator<LineBatch> {
  for await (const batch of batches) {
    counters.in += batch.texts.length;
    yield batch;
  }
}

/**
 * Runs a stage that reads NDJSON on stdin: unreadable lines become bad rows, output is awaited,
 * EPIPE ends the process quietly with 0, SIGTERM/SIGINT stops reading and lets the stage drain.
 */
export async function runStdinStage(
  stage: string,
  args: StdinStageArgs,
  run: (context: StdinStageContext) => Promise<void>,
  options: StdinStageOptions = {},
): Promise<never> {
  const problemBadRow = options.lineProblemBadRow ?? lineProblemBadRow;
  const signal = shutdownSignal();
  const processor = processorFor(stage);
  const { io } = options;
  if (io && args.acks !== undefined) {
    exitWithConfigError(stage, `--acks does not go with ${io.name}: there the stage commits what it has handled itself; leave out --acks.`);
  }
  const stdout = io?.output ? undefined : new LineWriter(process.stdout);
  const output: StageOutput = io?.output ?? stdout!;
  const bad = io?.bad ?? openBadChannel(stage, args.bad);
  const acks = stdout && openAcknowledgements(stage, args.acks, stdout);
  const counters = new StageCounters();
  const stopReporting = counters.startReporting(args.statsInterval, (line) => say(stage, line));
  output.closed.then(() => process.exit(0));
  // At a stop the readers finish the line under way (or report it unfinished), never cut it.
  const stdin = io ? io.input(signal) : (process.stdin as AsyncIterable<Uint8Array>);
  const reading = { maxLineBytes: args.maxLineBytes, stop: signal };
  const onProblem = (problem: LineProblem) => {
    counters.bad++;
    bad.write(problemBadRow(problem, processor, args.maxLineBytes));
  };
  let records: AsyncIterable<InputRecord> | undefined;
  const context: StdinStageContext = {
    get input() {
      records ??= readRecords(stdin, { ...reading, onProblem, onRecord: () => void counters.in++ });
      return records;
    },
    lineBatches: () => countedBatches(readLineBatches(stdin, { ...reading, onProblem }), counters),
    output,
    bad,
    counters,
    signal,
    processor,
    acknowledge: (line) => (io ? io.handled(line) : acks?.handled(line)),
  };
  try {
    await run(context);
    await output.end();
    await acks?.close();
    await io?.close();
  } catch (error) {
    if (error instanceof ConfigError) exitWithConfigError(stage, error.message);
    throw error;
  } finally {
    process.stdin.pause();
    stopReporting();
    bad.close();
  }
  say(stage, `stopped (${counters.totals()})`);
  process.exit(0);
}
