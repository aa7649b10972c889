/**
 * NDJSON input for stages that read records: lines → parsed JSON values, with every line that cannot be
 * read turned into a bad row that names its line number, the way ndjson-cli names `stdin:N`.
 */
import { makeBadRow, type BadRow, type Processor } from "./bad-rows";
import { lineEventChunks, type LineInputOptions, type UnfinishedLine } from "./line-input";
import type { LineEvent } from "./lines";

export interface InputRecord {
  value: unknown;
  /** 1-based line number within this input, for error messages. */
  line: number;
  /** The line as read, for bad rows that must carry the original. */
  text: string;
}

export type LineProblem =
  | Exclude<LineEvent, { kind: "line" }>
  | UnfinishedLine
  | { kind: "invalid_json"; number: number; text: string; error: string };

export interface ReadRecordsOptions extends LineInputOptions {
  /** Told about each unreadable line; the record stream goes on. */
  onProblem: (problem: LineProblem) => Promise<void> | void;
  /** Told just before each record is handed on, so a caller can count records without another generator layer. */
  onRecord?: () => void;
}

/** The input's records; at a stop (options.stop) reading ends as lineEventChunks says, never mid-line. */
export async function* readRecords(
  chunks: AsyncIterable<Uint8Array>,
  options: ReadRecordsOptions,
): AsyncGenerator<InputRecord> {
  // One generator step per chunk, not per record: a generator layer per record is a measurable share of a
  // stage's CPU time (issue 3).
  for await (const events of lineEventChunks(chunks, options)) {
    for (const event of events) {
      if (event.kind !== "line") {
        await options.onProblem(event);
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(event.text);
      } catch (error) {
        await options.onProblem({
          kind: "invalid_json",
          number: event.number,
          text: event.text,
          error: (error as Error).message,
        });
        continue;
      }
      options.onRecord?.();
      yield { value, line: event.number, text: event.text };
    }
  }
}

/** The readable lines of one input chunk, not yet parsed, with their line numbers (for error messages). */
export interface LineBatch {
  texts: string[];
  numbers: number[];
}

export interface ReadLineBatchesOptions extends LineInputOptions {
  /** Told about each line that cannot be read as text (too long, not UTF-8, unfinished at a stop); the batches go on. */
  onProblem: (problem: Exclude<LineEvent, { kind: "line" }> | UnfinishedLine) => Promise<void> | void;
}

/**
 * The lines of each chunk as one batch, for a stage that parses and processes lines elsewhere (enrich hands
 * batches to worker threads). A batch is never held back waiting for more input, so a quiet source is not
 * delayed; a busy one gives batches as large as the chunks it reads.
 */
export async function* readLineBatches(chunks: AsyncIterable<Uint8Array>, options: ReadLineBatchesOptions): AsyncGenerator<LineBatch> {
  for await (const events of lineEventChunks(chunks, options)) {
    const batch: LineBatch = { texts: [], numbers: [] };
    for (const event of events) {
      if (event.kind === "line") {
        batch.texts.push(event.text);
        batch.numbers.push(event.number);
      } else await options.onProblem(event);
    }
    if (batch.texts.length > 0) yield batch;
  }
}

/** A person-readable sentence for a problem, naming where it was (`stdin:12`). */
export function describeLineProblem(problem: LineProblem, source = "stdin"): string {
  const where = `${source}:${problem.number}`;
  switch (problem.kind) {
    case "oversized":
      return `${where}: line of ${problem.bytes} bytes is longer than the limit`;
    case "invalid_utf8":
      return `${where}: line is not valid UTF-8`;
    case "invalid_json":
      return `${where}: line is not valid JSON (${problem.error})`;
    case "unfinished":
      return `${where}: line was still arriving when the stage stopped (${problem.bytes} bytes read; its rest, if any, was left in the input)`;
  }
}

/** The default bad row for an unreadable line: size_violation when too long, generic_error otherwise. */
export function lineProblemBadRow(
  problem: LineProblem,
  processor: Processor,
  maxLineBytes: number,
  source = "stdin",
  now: Date = new Date(),
): BadRow {
  const timestamp = now.toISOString();
  const message = describeLineProblem(problem, source);
  if (problem.kind === "oversized") {
    return makeBadRow(
      "size_violation",
      processor,
      {
        timestamp,
        maximumAllowedSizeBytes: maxLineBytes,
        actualSizeBytes: problem.bytes,
        expectation: `${message}; the line must be at most ${maxLineBytes} bytes`,
      },
      problem.head,
    );
  }
  const raw = problem.kind === "invalid_utf8" ? problem.base64 : problem.kind === "unfinished" ? problem.head : problem.text;
  return makeBadRow("generic_error", processor, { timestamp, errors: [message] }, raw);
}
