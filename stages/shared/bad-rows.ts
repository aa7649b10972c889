/**
 * Bad rows: Snowplow's self-describing failure records, and the `--bad` channel they are written to.
 *
 * A bad row must reach its destination whole even when several processes share it (`make up` points
 * every stage at one FIFO) and a row is longer than PIPE_BUF, where the kernel no longer keeps a single
 * write atomic. Each row is therefore written under an exclusive flock(2) on the destination itself.
 */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, openSync, writeSync } from "node:fs";
import { resolve } from "node:path";

/** The bad-row types and the schema version our processors emit (as the Snowplow badrows library does). */
export const BAD_ROW_VERSIONS = {
  size_violation: "1-0-0",
  collector_payload_format_violation: "1-0-0",
  adapter_failures: "1-0-0",
  tracker_protocol_violations: "1-0-1",
  schema_violations: "2-0-1",
  enrichment_failures: "2-0-1",
  loader_parsing_error: "2-0-0",
  loader_iglu_error: "2-0-1",
  loader_runtime_error: "1-0-1",
  generic_error: "1-0-0",
} as const;

export type BadRowType = keyof typeof BAD_ROW_VERSIONS;

export interface Processor {
  artifact: string;
  version: string;
}

export interface BadRow {
  schema: string;
  data: { processor: Processor; failure: Record<string, unknown>; payload: unknown };
}

/** Where stages put their bad rows; tests pass an in-memory one. */
export interface BadRowSink {
  write(row: BadRow): Promise<void> | void;
}

export function badRowSchema(type: BadRowType): string {
  return `iglu:com.snowplowanalytics.snowplow.badrows/${type}/jsonschema/${BAD_ROW_VERSIONS[type]}`;
}

export function makeBadRow(
  type: BadRowType,
  processor: Processor,
  failure: Record<string, unknown>,
  payload: unknown,
): BadRow {
  return { schema: badRowSchema(type), data: { processor, failure, payload } };
}

/** The type name of a bad row (`schema_violations`), or undefined if it is not one. */
export function badRowType(row: unknown): BadRowType | undefined {
  const schema = (row as { schema?: unknown } | null)?.schema;
  if (typeof schema !== "string") return undefined;
  const match = /^iglu:com\.snowplowanalytics\.snowplow\.badrows\/([a-z_]+)\/jsonschema\//.exec(schema);
  return match && match[1]! in BAD_ROW_VERSIONS ? (match[1] as BadRowType) : undefined;
}

const LOCK_EX = 2;
const LOCK_UN = 8;
let flock: ((fd: number, operation: number) => number) | undefined;
function lockFunction(): (fd: number, operation: number) => number {
  flock ??= dlopen("libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  }).symbols.flock as (fd: number, operation: number) => number;
  return flock;
}

export interface BadRowFileOptions {
  /** Called once, before the first row, when the path was not chosen by the user. */
  announceDefault?: (path: string) => void;
  isDefaultPath?: boolean;
}

/**
 * Appends bad rows to a file or FIFO. The destination is opened on the first row, so a stage that
 * never fails leaves no empty file behind and does not wait for a FIFO reader it does not need.
 */
export class BadRowFile implements BadRowSink {
  private fd: number | null = null;
  rowsWritten = 0;

  constructor(readonly path: string, private readonly options: BadRowFileOptions = {}) {}

  write(row: BadRow): void {
    this.writeLine(JSON.stringify(row));
  }

  writeLine(line: string): void {
    if (this.fd === null) {
      if (this.options.isDefaultPath) this.options.announceDefault?.(resolve(this.path));
      // Blocking append: on a FIFO this waits for a reader, which is the backpressure we want.
      this.fd = openSync(this.path, "a");
    }
    const bytes = Buffer.from(line + "\n");
    const lock = lockFunction();
    lock(this.fd, LOCK_EX);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset);
    } finally {
      lock(this.fd, LOCK_UN);
    }
    this.rowsWritten++;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Keeps bad rows in memory; for tests and for callers that inspect them. */
export class BadRowList implements BadRowSink {
  readonly rows: BadRow[] = [];
  write(row: BadRow): void {
    this.rows.push(row);
  }
}
