/**
 * The one way stages write NDJSON. Lines are gathered into batches (fewer syscalls) and every batch write
 * is awaited, so a stage whose reader is slow stops producing instead of queueing without bound.
 *
 * Closing of the reading end (EPIPE) is not an error for a Unix stage: `closed` resolves and further
 * writes are ignored, and the caller exits 0 quietly.
 */
import type { Writable } from "node:stream";

export interface LineWriterOptions {
  /** Bytes gathered before a batch is handed to the stream. */
  batchBytes?: number;
}

export class LineWriter {
  private batch: string[] = [];
  private batchLength = 0;
  private batchLines = 0;
  private readonly batchBytes: number;
  private flushScheduled = false;
  private draining: Promise<void> | null = null;
  private isClosed = false;
  private resolveClosed!: () => void;
  /** Resolves when the downstream reader has gone away. */
  readonly closed: Promise<void> = new Promise((resolve) => (this.resolveClosed = resolve));
  /** Lines handed to the stream so far. */
  linesWritten = 0;

  constructor(private readonly stream: Writable, options: LineWriterOptions = {}) {
    this.batchBytes = options.batchBytes ?? 64 * 1024;
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") this.markClosed();
      else throw error;
    });
    stream.on("close", () => this.markClosed());
  }

  get isDownstreamClosed(): boolean {
    return this.isClosed;
  }

  /** True while a previous batch has not been taken by the stream yet: the caller should hold back. */
  get isBlocked(): boolean {
    return this.draining !== null;
  }

  /** Queues one line (without its newline). Resolves once the line may be considered handed over. */
  async writeLine(line: string): Promise<void> {
    if (this.isClosed) return;
    this.batch.push(line, "\n");
    this.batchLength += line.length + 1;
    this.batchLines++;
    await this.afterQueueing();
  }

  /**
   * Queues `count` whole lines already joined, each ending in "\n": for a caller that gathers the lines
   * of one network read and would otherwise pay a promise per line.
   */
  async writeLines(text: string, count: number): Promise<void> {
    if (this.isClosed || text === "") return;
    this.batch.push(text);
    this.batchLength += text.length;
    this.batchLines += count;
    await this.afterQueueing();
  }

  /** A full batch is handed over now; a smaller one at the next turn of the event loop. */
  private afterQueueing(): Promise<void> | void {
    if (this.batchLength >= this.batchBytes) return this.flush();
    this.scheduleFlush();
  }

  writeRecord(record: unknown): Promise<void> {
    return this.writeLine(JSON.stringify(record));
  }

  /** Hands every queued line to the stream and waits until the stream has room again. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.isClosed || this.batch.length === 0) return;
    const text = this.batch.join("");
    this.linesWritten += this.batchLines;
    this.batch = [];
    this.batchLength = 0;
    this.batchLines = 0;
    if (!this.stream.write(text)) {
      this.draining = new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off("drain", done);
          this.stream.off("close", done);
          this.draining = null;
          resolve();
        };
        this.stream.on("drain", done);
        this.stream.on("close", done);
      });
      await this.draining;
    }
  }

  /** Flushes and waits until the stream has written everything out (not just buffered it). */
  end(): Promise<void> {
    return this.written();
  }

  /** Resolves once every line given so far has been written out by the stream, not just buffered. */
  async written(): Promise<void> {
    await this.flush();
    if (this.isClosed) return;
    await new Promise<void>((resolve) => {
      if (this.stream.writableLength === 0) return resolve();
      this.stream.write("", () => resolve());
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush().catch(() => this.markClosed());
    });
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.batch = [];
    this.batchLength = 0;
    this.batchLines = 0;
    this.resolveClosed();
  }
}
