/**
 * One hop of the pipeline under `telemetry up`: the lines that one or more stages write (enrich's stdout,
 * every stage's bad rows…) on their way to the one stage that reads them, held until that stage
 * acknowledges them (`--acks`).
 *
 * Every line gets a sequence number as it arrives. The reading stage is sent the lines in order; when it
 * says `{"handled":N}`, the lines up to N of what it was sent are let go. When it dies, the lines it had
 * not acknowledged are sent again, in order, to the stage that replaces it: it may see a few lines twice
 * (those it finished but had not yet acknowledged), which the store's stable ids make harmless, and it
 * never misses one. What is held is bounded (`maxHeldBytes`): past it, the writers are not read (their
 * pipes fill, and upstream the collector's queue fills and trackers get 503).
 */
import { offsetOfLine, type LineChunk } from "./whole-lines";

/** The reading stage's stdin. */
export interface HopReader {
  /** Resolves once the pipe has taken the bytes (backpressure); rejects when the reader is gone. */
  write(bytes: Uint8Array): Promise<void>;
  /** No more lines will come (EOF for the reader). */
  end(): void;
}

/** One reading stage's view of the hop, from the line it started at. */
export interface Attachment {
  /** The reader says its input lines 1..`handled` are handled for good. */
  acknowledge(handled: number): void;
  /** The reader exited 0 after its input ended: everything it was sent is handled. */
  finished(): void;
}

interface HeldChunk {
  firstSeq: number;
  lastSeq: number;
  bytes: Uint8Array;
}

export interface HopCounts {
  /** Lines that arrived. */
  arrived: number;
  /** Lines the reader acknowledged. */
  acknowledged: number;
  /** Lines held (arrived, not acknowledged) and their bytes. */
  heldLines: number;
  heldBytes: number;
}

export class Hop {
  private held: HeldChunk[] = [];
  private heldBytes = 0;
  private arrived = 0;
  private acknowledged = 0;
  private reader: { pipe: HopReader; sent: number } | null = null;
  private forwarding = false;
  private noMoreLines = false;
  private endSent = false;
  private roomWaiters: (() => void)[] = [];
  private settledWaiters: { seq: number; resolve: () => void }[] = [];

  constructor(
    readonly name: string,
    private readonly maxHeldBytes: number,
  ) {}

  get counts(): HopCounts {
    return { arrived: this.arrived, acknowledged: this.acknowledged, heldLines: this.arrived - this.acknowledged, heldBytes: this.heldBytes };
  }

  /** True once the writers are all done and the reader has acknowledged every line. */
  get isSettled(): boolean {
    return this.noMoreLines && this.acknowledged === this.arrived;
  }

  /**
   * Takes whole lines from a writer. Returns a promise, resolved when there is room again, only when the
   * hop is full: the writer's reading waits for it.
   */
  add(chunk: LineChunk): Promise<void> | undefined {
    if (chunk.lines === 0) return undefined;
    this.held.push({ firstSeq: this.arrived + 1, lastSeq: this.arrived + chunk.lines, bytes: chunk.bytes });
    this.arrived += chunk.lines;
    this.heldBytes += chunk.bytes.length;
    void this.forward();
    return this.heldBytes >= this.maxHeldBytes ? this.room() : undefined;
  }

  private async room(): Promise<void> {
    while (this.heldBytes >= this.maxHeldBytes) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /** A new reading stage: it is sent every line not yet acknowledged, then what arrives. */
  attach(pipe: HopReader): Attachment {
    const base = this.acknowledged;
    const reader = { pipe, sent: base };
    this.reader = reader;
    this.endSent = false;
    void this.forward();
    return {
      acknowledge: (handled) => this.acknowledgeThrough(Math.min(base + handled, reader.sent)),
      finished: () => this.acknowledgeThrough(reader.sent),
    };
  }

  /** The reading stage is gone; lines wait for the next one. */
  detach(pipe: HopReader): void {
    if (this.reader?.pipe === pipe) this.reader = null;
  }

  /** No writer will add lines any more: the reader gets EOF once it has been sent everything. */
  end(): void {
    this.noMoreLines = true;
    void this.forward();
  }

  /** The lines not acknowledged, in order (to keep them across a stop). */
  unacknowledged(): Uint8Array[] {
    return this.held.map((chunk) =>
      chunk.firstSeq > this.acknowledged ? chunk.bytes : chunk.bytes.subarray(offsetOfLine(chunk.bytes, this.acknowledged - chunk.firstSeq + 1)),
    );
  }

  /** Resolves once the reader has acknowledged every line up to `seq` (for files fed in at the start). */
  settledThrough(seq: number): Promise<void> {
    if (this.acknowledged >= seq) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push({ seq, resolve }));
  }

  private acknowledgeThrough(seq: number): void {
    if (seq <= this.acknowledged) return;
    this.acknowledged = seq;
    let drop = 0;
    while (drop < this.held.length && this.held[drop]!.lastSeq <= seq) this.heldBytes -= this.held[drop++]!.bytes.length;
    if (drop > 0) this.held.splice(0, drop);
    if (this.heldBytes < this.maxHeldBytes) for (const resolve of this.roomWaiters.splice(0)) resolve();
    this.settledWaiters = this.settledWaiters.filter((waiter) => (waiter.seq <= seq ? (waiter.resolve(), false) : true));
  }

  /** Sends the reader what it has not been sent, one held chunk at a time, then EOF when the writers are done. */
  private async forward(): Promise<void> {
    if (this.forwarding) return;
    this.forwarding = true;
    try {
      for (let reader = this.reader; reader !== null; reader = this.reader) {
        if (reader.sent < this.arrived) {
          const { bytes, lastSeq } = this.after(reader.sent);
          try {
            await reader.pipe.write(bytes);
          } catch {
            this.detach(reader.pipe);
            continue;
          }
          reader.sent = lastSeq;
        } else {
          if (this.noMoreLines && !this.endSent) {
            this.endSent = true;
            reader.pipe.end();
          }
          break;
        }
      }
    } finally {
      this.forwarding = false;
    }
  }

  /** The rest of the held chunk holding line `seq + 1`, from that line on. */
  private after(seq: number): { bytes: Uint8Array; lastSeq: number } {
    let low = 0;
    let high = this.held.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.held[middle]!.lastSeq <= seq) low = middle + 1;
      else high = middle;
    }
    const chunk = this.held[low]!;
    const bytes = chunk.firstSeq > seq ? chunk.bytes : chunk.bytes.subarray(offsetOfLine(chunk.bytes, seq - chunk.firstSeq + 1));
    return { bytes, lastSeq: chunk.lastSeq };
  }
}
