/**
 * `collect --archive DIR`: a durable copy of every raw record, in rotating segments (briefs/contracts.md):
 * `raw-<UTC yyyymmddTHHMMSSZ>-<6-digit seq>.ndjson`, written as `….ndjson.open` and renamed when rotated,
 * so a finished segment never changes and `replay` can read it at any time.
 *
 * A record is on disk (fdatasync) before `append` resolves, so a 200 means the record survives a crash.
 * Records arriving while one sync runs are committed together by the next one (group commit): one
 * fdatasync serves many concurrent requests.
 *
 * Bounded by `maxBytes` and `maxAgeSeconds`: each time a segment is finished (and at open), the oldest
 * finished segments are removed while the archive is larger, and any finished longer ago.
 */
import { mkdir, open, readdir, rename, rm, stat, truncate, unlink, type FileHandle } from "node:fs/promises";
import { writeSync } from "node:fs";
import { join } from "node:path";

export interface ArchiveOptions {
  /** A segment is rotated once it holds this many bytes. */
  segmentBytes: number;
  /** A non-empty segment is rotated once it is this old, even when no record arrives. */
  segmentSeconds: number;
  /** The archive's size above which the oldest finished segments are removed (default: no limit). */
  maxBytes?: number;
  /** Finished segments older than this (by when they were last written) are removed (default: kept). */
  maxAgeSeconds?: number;
  /** For tests. */
  now?: () => Date;
}

const SEGMENT_NAME = /^raw-\d{8}T\d{6}Z-(\d{6})\.ndjson(\.open)?$/;
const MAX_SEQUENCE = 1_000_000;

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class RawArchive {
  private segment: { handle: FileHandle; path: string; bytes: number; openedAt: number } | null = null;
  private pending: string[] = [];
  private pendingWaiters: Waiter[] = [];
  private committing: Promise<void> | null = null;
  private readonly ageTimer: ReturnType<typeof setInterval>;
  private closed = false;
  /** Segments finished (renamed) by this archive. */
  readonly finished: string[] = [];
  /** Segments removed to keep within maxBytes / maxAgeSeconds. */
  readonly removed: string[] = [];

  private constructor(
    readonly dir: string,
    private sequence: number,
    private readonly options: ArchiveOptions,
  ) {
    const checkEvery = Math.max(1, Math.min(options.segmentSeconds, 60)) * 1000;
    this.ageTimer = setInterval(() => void this.rotateIfOld(), checkEvery);
    this.ageTimer.unref();
  }

  /** Creates DIR if needed and finishes segments a crashed run left open. */
  static async open(dir: string, options: ArchiveOptions): Promise<RawArchive> {
    await mkdir(dir, { recursive: true });
    let highest = -1;
    for (const name of (await readdir(dir)).sort()) {
      const match = SEGMENT_NAME.exec(name);
      if (!match) continue;
      highest = Math.max(highest, Number(match[1]));
      if (match[2]) await finishAbandonedSegment(join(dir, name));
    }
    const archive = new RawArchive(dir, (highest + 1) % MAX_SEQUENCE, options);
    await archive.prune();
    return archive;
  }

  /** Resolves when all of `lines` are durably on disk; rejects when none of them is in the archive. */
  append(lines: readonly string[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the archive is closed"));
    return new Promise((resolve, reject) => {
      this.pending.push(...lines);
      this.pendingWaiters.push({ resolve, reject });
      if (this.committing === null) this.committing = this.commitLoop();
    });
  }

  /** Waits for pending records, then finishes the current segment. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ageTimer);
    while (this.committing !== null) await this.committing;
    await this.finishSegment();
  }

  private async commitLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const lines = this.pending;
      const waiters = this.pendingWaiters;
      this.pending = [];
      this.pendingWaiters = [];
      try {
        await this.write(lines.join("\n") + "\n");
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.committing = null;
  }

  private async write(text: string): Promise<void> {
    const now = this.now();
    const current = this.segment;
    if (current !== null && (current.bytes >= this.options.segmentBytes || this.isOld(current.openedAt, now))) {
      await this.finishSegment();
    }
    const segment = this.segment ?? (await this.startSegment(now));
    const bytes = Buffer.from(text);
    try {
      // A write to a regular file only copies into the page cache: done at once rather than through the
      // thread pool and a promise per commit (about a third of the archive's CPU per request). The sync,
      // which waits for the disk, stays off the event loop.
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(segment.handle.fd, bytes, offset);
      await segment.handle.datasync();
    } catch (error) {
      await this.cutBack(segment);
      throw error;
    }
    segment.bytes += bytes.length;
  }

  /**
   * A failed write (a full disk) may have left part of its lines in the segment; they were refused, so they
   * are cut off, and the next record starts on a clean line. Should even that fail, the segment is set
   * aside as it is, still `.open` (the next start finishes it without its partial line), and a new one begun.
   */
  private async cutBack(segment: NonNullable<RawArchive["segment"]>): Promise<void> {
    try {
      await segment.handle.truncate(segment.bytes);
      await segment.handle.datasync();
    } catch {
      this.segment = null;
      await segment.handle.close().catch(() => {});
    }
  }

  private async startSegment(now: Date) {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    const name = `raw-${stamp}-${String(this.sequence).padStart(6, "0")}.ndjson.open`;
    this.sequence = (this.sequence + 1) % MAX_SEQUENCE;
    const path = join(this.dir, name);
    const handle = await open(path, "a");
    this.segment = { handle, path, bytes: 0, openedAt: now.getTime() };
    return this.segment;
  }

  private async finishSegment(): Promise<void> {
    const segment = this.segment;
    if (segment === null) return;
    this.segment = null;
    await segment.handle.close();
    const finishedPath = segment.path.replace(/\.open$/, "");
    await rename(segment.path, finishedPath);
    this.finished.push(finishedPath);
    await this.prune();
  }

  /** Removes the oldest finished segments while the archive is over maxBytes, and those past maxAgeSeconds. */
  private async prune(): Promise<void> {
    const { maxBytes, maxAgeSeconds } = this.options;
    if (maxBytes === undefined && maxAgeSeconds === undefined) return;
    const finished: { name: string; sequence: number; size: number; modified: number }[] = [];
    for (const name of await readdir(this.dir)) {
      const match = SEGMENT_NAME.exec(name);
      if (!match || match[2]) continue;
      const { size, mtimeMs } = await stat(join(this.dir, name));
      finished.push({ name, sequence: Number(match[1]), size, modified: mtimeMs });
    }
    finished.sort((a, b) => a.sequence - b.sequence);
    let total = finished.reduce((sum, segment) => sum + segment.size, this.segment?.bytes ?? 0);
    const oldestKept = maxAgeSeconds === undefined ? -Infinity : this.now().getTime() - maxAgeSeconds * 1000;
    for (const segment of finished) {
      if (!(maxBytes !== undefined && total > maxBytes) && segment.modified >= oldestKept) continue;
      await rm(join(this.dir, segment.name), { force: true });
      this.removed.push(segment.name);
      total -= segment.size;
    }
  }

  private async rotateIfOld(): Promise<void> {
    const segment = this.segment;
    if (segment === null || this.committing !== null || !this.isOld(segment.openedAt, this.now())) return;
    // Rotation runs as a commit so it never races a write to the same segment.
    this.committing = this.finishSegment().finally(() => {
      this.committing = null;
      if (this.pending.length > 0) this.committing = this.commitLoop();
    });
  }

  private isOld(openedAt: number, now: Date): boolean {
    return now.getTime() - openedAt >= this.options.segmentSeconds * 1000;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}

/**
 * A segment left `.open` by a crash holds every record that was acknowledged; only a last line without
 * its newline can be partial (it was never acknowledged), so it is cut off before the segment is finished.
 */
async function finishAbandonedSegment(path: string): Promise<void> {
  const { size } = await stat(path);
  const handle = await open(path, "r");
  let keep = 0;
  try {
    const chunk = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0 && keep === 0; end -= chunk.length) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await handle.read(chunk, 0, end - start, start);
      const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (newline !== -1) keep = start + newline + 1;
    }
  } finally {
    await handle.close();
  }
  if (keep === 0) return unlink(path);
  if (keep < size) await truncate(path, keep);
  await rename(path, path.replace(/\.open$/, ""));
}
