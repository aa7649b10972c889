/**
 * The bounded queue between HTTP handlers and stdout. Handlers must answer at once, but stdout may be
 * slower than the network; the queue absorbs bursts, and when it is full the collector refuses new
 * records (503, so trackers retry) instead of growing without bound or answering 200 for records it
 * cannot hold. Everything the queue accepted is written out: `drain()` waits for it (callers first settle
 * every reservation; the collector does so by waiting for the requests in flight).
 */

import { parseByteSize } from "../shared/byte-size";

export type QueueCapacity = { records: number } | { bytes: number };

/** Where queued lines go; LineWriter is one. */
export interface LineSink {
  writeLine(line: string): Promise<void>;
}

/** "10000" → 10000 records; "32MiB", "500KB", "65536B" → bytes. */
export function parseQueueCapacity(text: string): QueueCapacity | undefined {
  const bytes = parseByteSize(text);
  if (bytes === undefined) return undefined;
  return /^\s*\d+\s*$/.test(text) ? { records: bytes } : { bytes };
}

/** Room held in the queue for one request's records until they are archived. */
export interface Reservation {
  /** Queues the records (in the order of the sizes reserved). */
  commit(lines: readonly string[]): void;
  /** Gives the room back: the records will not be written. */
  cancel(): void;
}

export class RecordQueue {
  private lines: string[] = [];
  private sizes: number[] = [];
  /** Records or bytes held, in the unit of the capacity. */
  private used = 0;
  private readonly limit: number;
  private readonly countsBytes: boolean;
  private pumping = false;
  private refusing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly sink: LineSink, capacity: QueueCapacity) {
    this.countsBytes = "bytes" in capacity;
    this.limit = "bytes" in capacity ? capacity.bytes : capacity.records;
  }

  /**
   * Sets aside room for one request's records (`bytes[i]` is the UTF-8 length of record i) if all of them
   * fit, or returns undefined: the caller must refuse the request. All or none, so the records of one split
   * request are refused together and the tracker's retry cannot duplicate a part already taken. The room is
   * taken before the records are archived and the records join the queue only once they are (`commit`), so
   * nothing reaches stdout that was not archived, and a refused request was archived nowhere.
   * Lines larger than a byte capacity are still taken when the queue is empty, so they cannot be stuck.
   */
  reserve(bytes: readonly number[]): Reservation | undefined {
    let size = bytes.length;
    if (this.countsBytes) {
      size = 0;
      for (const length of bytes) size += length;
    }
    if (this.used + size > this.limit && this.used > 0) {
      this.refusing = true;
      return undefined;
    }
    this.used += size;
    let settled = false;
    return {
      commit: (lines) => {
        if (settled) return;
        settled = true;
        for (let i = 0; i < lines.length; i++) {
          this.lines.push(lines[i]!);
          this.sizes.push(this.countsBytes ? bytes[i]! : 1);
        }
        if (!this.pumping) void this.pump();
      },
      cancel: () => {
        if (settled) return;
        settled = true;
        this.release(size);
      },
    };
  }

  /**
   * False from the moment a record was refused until the queue has emptied to half its capacity,
   * so /sink-health does not flap on every record.
   */
  get isHealthy(): boolean {
    return !this.refusing;
  }

  get length(): number {
    return this.lines.length;
  }

  /** Resolves once every accepted line has been handed to the sink. */
  drain(): Promise<void> {
    if (!this.pumping && this.lines.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    while (this.lines.length > 0) {
      // Take the whole backlog at once: handlers keep appending to fresh arrays meanwhile.
      const lines = this.lines;
      const sizes = this.sizes;
      this.lines = [];
      this.sizes = [];
      for (let i = 0; i < lines.length; i++) {
        await this.sink.writeLine(lines[i]!);
        this.release(sizes[i]!);
      }
    }
    this.pumping = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private release(size: number): void {
    this.used -= size;
    if (this.refusing && this.used <= this.limit / 2) this.refusing = false;
  }
}
