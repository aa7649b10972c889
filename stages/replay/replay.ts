/**
 * Replay: archived NDJSON back onto a pipe, as it was first written, optionally limited to a time window
 * and a pace. Archives are what `collect --archive` keeps (contracts.md): segments named so that name
 * order is time order, plain or gzip, with the segment still being written ending in `.open`.
 */
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { makeBadRow, type BadRow, type BadRowSink, type Processor } from "../shared/bad-rows";
import { lineEventChunks, type UnfinishedLine } from "../shared/line-input";
import type { LineEvent } from "../shared/lines";
import { lineProblemBadRow } from "../shared/ndjson";
import { isJsonObject, recordTime } from "../shared/records";

const ARCHIVE_SEGMENT = /\.ndjson(\.gz)?$/;

export class ReplayInputError extends Error {}

/**
 * The files to read, in order: a folder contributes its `*.ndjson` and `*.ndjson.gz` files sorted by name
 * (an open segment is skipped: it is still changing); a file named on its own is read whatever its name.
 */
export async function listArchiveFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new ReplayInputError(`${path} does not exist`);
    }
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((name) => ARCHIVE_SEGMENT.test(name)).sort();
      files.push(...names.map((name) => join(path, name)));
    } else {
      files.push(path);
    }
  }
  return files;
}

export async function totalBytes(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += (await stat(file)).size;
  return total;
}

/** A file's bytes, gunzipped when it starts with the gzip magic (names can lie; content does not). */
async function* fileChunks(path: string, onBytesRead: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  const handle = Bun.file(path);
  const magic = new Uint8Array(await handle.slice(0, 2).arrayBuffer());
  const raw = createReadStream(path);
  raw.on("data", (chunk) => onBytesRead((chunk as Buffer).length));
  const stream = magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) yield chunk;
  } finally {
    raw.destroy();
  }
}

/** A time window on the record time; `until` is exclusive. */
export interface TimeWindow {
  since?: Date;
  until?: Date;
}

export type WindowVerdict = "inside" | "outside" | "timeless";

export function placeInWindow(line: string, window: TimeWindow): WindowVerdict {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "timeless";
  }
  const time = isJsonObject(value) ? recordTime(value) : null;
  if (!time) return "timeless";
  if (window.since && time < window.since) return "outside";
  if (window.until && time >= window.until) return "outside";
  return "inside";
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Holds a stream of lines to at most `perSecond` (a token bucket): any stretch of t seconds carries at most
 * t·perSecond + burst lines, even right after the reader was slow, so a paced replay never catches up in
 * a rush. The burst is 10 ms worth of lines (at least one), so high rates do not need a timer per line.
 */
export class RateLimiter {
  readonly burst: number;
  private tokens: number;
  private last: number | null = null;

  constructor(private readonly perSecond: number, private readonly clock: Clock = realClock) {
    this.burst = Math.max(1, Math.floor(perSecond / 100));
    this.tokens = this.burst;
  }

  private refill(): void {
    const now = this.clock.now();
    if (this.last !== null) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
  }

  async wait(): Promise<void> {
    this.refill();
    while (this.tokens < 1) {
      await this.clock.sleep(((1 - this.tokens) * 1000) / this.perSecond);
      this.refill();
    }
    this.tokens -= 1;
  }
}

export interface ReplayOptions {
  window: TimeWindow;
  /** Lines per second at most; undefined for as fast as the reader takes them. */
  rate?: number;
  maxLineBytes: number;
  clock?: Clock;
}

export interface LineOutput {
  writeLine(line: string): Promise<void>;
  readonly isDownstreamClosed: boolean;
}

export interface ReplayContext {
  output: LineOutput;
  bad: BadRowSink;
  processor: Processor;
  signal?: AbortSignal;
  onBytesRead?: (bytes: number) => void;
}

export interface ReplayTotals {
  written: number;
  outsideWindow: number;
  timeless: number;
  bad: number;
}

export async function replay(files: readonly string[], options: ReplayOptions, context: ReplayContext): Promise<ReplayTotals> {
  const totals: ReplayTotals = { written: 0, outsideWindow: 0, timeless: 0, bad: 0 };
  const filtering = options.window.since !== undefined || options.window.until !== undefined;
  const limiter = options.rate ? new RateLimiter(options.rate, options.clock) : null;
  const stopped = () => context.signal?.aborted || context.output.isDownstreamClosed;
  for (const file of files) {
    if (stopped()) break;
    const chunks = lineEventChunks(fileChunks(file, context.onBytesRead ?? (() => {})), { maxLineBytes: options.maxLineBytes });
    let lastLine = 0;
    reading: for (;;) {
      // A file that cannot be read on (a truncated gzip, a read error) ends with a bad row naming it and
      // the last whole line replayed; the line it was in the middle of is not written, and replay goes on
      // with the next file.
      let next: IteratorResult<(LineEvent | UnfinishedLine)[]>;
      try {
        next = await chunks.next();
      } catch (error) {
        totals.bad++;
        await context.bad.write(unreadableFile(file, lastLine, error as Error, context.processor));
        break;
      }
      if (next.done) break;
      for (const event of next.value) {
        lastLine = event.number;
        if (event.kind !== "line") {
          totals.bad++;
          await context.bad.write(lineProblemBadRow(event, context.processor, options.maxLineBytes, file));
          continue;
        }
        if (filtering) {
          const verdict = placeInWindow(event.text, options.window);
          if (verdict !== "inside") {
            if (verdict === "outside") totals.outsideWindow++;
            else totals.timeless++;
            continue;
          }
        }
        if (limiter) await limiter.wait();
        await context.output.writeLine(event.text);
        totals.written++;
        if (stopped()) {
          await chunks.return(undefined);
          break reading;
        }
      }
    }
  }
  return totals;
}

function unreadableFile(file: string, lastLine: number, error: Error, processor: Processor): BadRow {
  const reason = `${error.message}${(error as NodeJS.ErrnoException).code ? ` (${(error as NodeJS.ErrnoException).code})` : ""}`;
  const where = lastLine === 0 ? "before its first line" : `after line ${lastLine}`;
  const message = `${file}: cannot be read on ${where}: ${reason}; the lines before were replayed, the rest of the file was not`;
  return makeBadRow("generic_error", processor, { timestamp: new Date().toISOString(), errors: [message] }, file);
}
