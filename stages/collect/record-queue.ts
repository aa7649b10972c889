/**
 * The bounded queue between HTTP handlers and stdout. Handlers must answer at once, but stdout may be
 * slower than the network; the queue absorbs bursts, and when it is full the collector refuses new
 * records (503, so trackers retry) instead of growing without bound or answering 200 for records it
 * cannot hold. Everything the queue accepted is written out: `drain()` waits for it.
 */

export type QueueCapacity = { records: number } | { bytes: number };

/** Where queued lines go; LineWriter is one. */
export interface LineSink {
  writeLine(line: string): Promise<void>;
}

/** "10000" → 10000 records; "32MiB", "500KB", "65536B" → bytes. */
export function parseQueueCapacity(text: string): QueueCapacity | undefined {
  const match = /^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$/.exec(text);
  if (!match) return undefined;
  const count = Number(match[1]);
  if (!(count > 0)) return undefined;
  if (match[2] === undefined) return { records: count };
  const unit = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 }[match[2] as "B"];
  return { bytes: count * unit };
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
   * Takes the lines (`bytes[i]` is the UTF-8 length of `lines[i]`) if there is room for all of them and
   * returns true; false means the caller must refuse the request. All or none: the records of one split
   * request are refused together, so the tracker's retry cannot duplicate the part already taken.
   * Lines larger than a byte capacity are still taken when the queue is empty, so they cannot be stuck.
   */
  offer(lines: readonly string[], bytes: readonly number[]): boolean {
    let size = lines.length;
    if (this.countsBytes) {
      size = 0;
      for (const length of bytes) size += length;
    }
    if (this.used + size > this.limit && this.used > 0) {
      this.refusing = true;
      return false;
    }
    for (let i = 0; i < lines.length; i++) {
      this.lines.push(lines[i]!);
      this.sizes.push(this.countsBytes ? bytes[i]! : 1);
    }
    this.used += size;
    if (!this.pumping) void this.pump();
    return true;
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
        this.used -= sizes[i]!;
        if (this.refusing && this.used <= this.limit / 2) this.refusing = false;
      }
    }
    this.pumping = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
