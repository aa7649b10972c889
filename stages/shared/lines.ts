/**
 * Splits a byte stream into lines. Bun's own line iterators mishandle CRLF, a missing final newline and
 * large inputs (see the Bun pitfalls in DESIGN's references), so every stage reads through this one.
 *
 * A line is `\n`-terminated; a trailing `\r` is dropped; a last line without `\n` still counts; an empty
 * line is skipped (it carries no record). A line longer than `maxLineBytes` is not buffered whole: its
 * first bytes are kept for the report and the rest is skipped until the next `\n`, so memory stays bounded.
 *
 * `LineSplitter` does the work for sources that push chunks (one per network connection); line-input.ts
 * drives it for sources that are read as an async iterable (stdin, archive files).
 */
import { isAscii, isUtf8 } from "node:buffer";

export type LineEvent =
  | { kind: "line"; number: number; text: string }
  | { kind: "oversized"; number: number; bytes: number; head: string }
  | { kind: "invalid_utf8"; number: number; base64: string };

export interface SplitLinesOptions {
  /** Longest line accepted, in bytes, without its terminator. */
  maxLineBytes: number;
  /** How many leading bytes of an oversized line to keep for the bad row. */
  oversizedHeadBytes?: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const lenientUtf8 = new TextDecoder("utf-8");

export class LineSplitter {
  private readonly maxLineBytes: number;
  private readonly headBytes: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  // When the current line is already too long we only count its bytes until the next newline.
  private oversized: { bytes: number; head: Uint8Array } | null = null;
  private number = 0;
  private ends = 0;

  constructor(options: SplitLinesOptions) {
    this.maxLineBytes = options.maxLineBytes;
    this.headBytes = options.oversizedHeadBytes ?? 1024;
  }

  /** True while the unfinished line has already passed the limit (a caller may give up on the source). */
  get isInOversizedLine(): boolean {
    return this.oversized !== null;
  }

  /** Bytes held for the unfinished line (only its head once it is over the limit). */
  get bufferedBytes(): number {
    return this.pendingBytes + (this.oversized?.head.length ?? 0);
  }

  /** Newlines seen so far, blank lines' included: a source sending them is not stalled mid-line. */
  get lineEnds(): number {
    return this.ends;
  }

  /**
   * Drops the unfinished line without emitting it (its rest will never come): its number, its size so
   * far and its first bytes, for a report; null when no line was under way.
   */
  abandon(): { number: number; bytes: number; head: string } | null {
    if (this.pendingBytes === 0 && !this.oversized) return null;
    const bytes = this.oversized?.bytes ?? this.pendingBytes;
    const head = this.oversized?.head ?? concat(this.pending, this.pendingBytes).subarray(0, this.headBytes);
    this.oversized = null;
    this.pending = [];
    this.pendingBytes = 0;
    return { number: ++this.number, bytes, head: lenientUtf8.decode(head) };
  }

  /** Calls `emit` for every line this chunk completes. The chunk may be reused by the caller afterwards. */
  push(chunk: Uint8Array, emit: (event: LineEvent) => void): void {
    // Logs and NDJSON are nearly always ASCII. Then the chunk's whole lines are decoded in one go and each
    // line is a substring of that, instead of a view and a decode per line (a third of the per-line cost).
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    const head = lastNewline > 0 ? chunk.subarray(0, lastNewline) : undefined;
    // ASCII is a subset of Latin-1, whose decoder just widens bytes: cheaper than a UTF-8 decode.
    const ascii = head && isAscii(head) ? Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("latin1") : undefined;
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, start);
    while (newline !== -1) {
      this.ends++;
      if (this.pendingBytes === 0 && !this.oversized && newline - start <= this.maxLineBytes + 1) {
        // Fast path: the whole line sits inside this chunk and is not copied.
        this.number++;
        this.finishBytes(chunk, start, newline, ascii, emit);
      } else {
        this.take(chunk.subarray(start, newline));
        this.finishLine(emit);
      }
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    this.take(chunk.subarray(start));
  }

  /** The input has ended: a last line without its newline is emitted. */
  end(emit: (event: LineEvent) => void): void {
    if (this.pendingBytes > 0 || this.oversized) this.finishLine(emit);
  }

  private finishLine(emit: (event: LineEvent) => void): void {
    this.number++;
    const oversized = this.oversized;
    if (oversized) {
      this.oversized = null;
      this.pending = [];
      this.pendingBytes = 0;
      emit({ kind: "oversized", number: this.number, bytes: oversized.bytes, head: lenientUtf8.decode(oversized.head) });
      return;
    }
    const bytes = this.pending.length === 1 ? this.pending[0]! : concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.finishBytes(bytes, 0, bytes.length, undefined, emit);
  }

  /**
   * Emits one complete line (its number already counted): `bytes[from, to)` without the `\n`. `ascii`, when
   * given, is `bytes` decoded from offset 0 and known to be ASCII, so offsets in it are byte offsets.
   */
  private finishBytes(bytes: Uint8Array, from: number, to: number, ascii: string | undefined, emit: (event: LineEvent) => void): void {
    const end = to > from && bytes[to - 1] === CARRIAGE_RETURN ? to - 1 : to;
    const length = end - from;
    if (length > this.maxLineBytes) {
      const headEnd = Math.min(end, from + this.headBytes);
      const head = ascii !== undefined ? ascii.slice(from, headEnd) : lenientUtf8.decode(bytes.subarray(from, headEnd));
      emit({ kind: "oversized", number: this.number, bytes: length, head });
      return;
    }
    if (length === 0) {
      this.number--; // blank lines are not records and do not shift the numbering users see in errors
      return;
    }
    if (ascii !== undefined) {
      emit({ kind: "line", number: this.number, text: ascii.slice(from, end) });
      return;
    }
    const line = bytes.subarray(from, end);
    // isUtf8 then a lenient decode gives what a fatal decoder gives, at a fifth of its cost on non-ASCII text.
    if (!isUtf8(line)) {
      emit({ kind: "invalid_utf8", number: this.number, base64: Buffer.from(line).toString("base64") });
      return;
    }
    emit({ kind: "line", number: this.number, text: lenientUtf8.decode(line) });
  }

  private take(piece: Uint8Array): void {
    if (piece.length === 0) return;
    if (this.oversized) {
      this.oversized.bytes += piece.length;
      return;
    }
    // The +1 leaves room for a `\r` that will be stripped when the line ends.
    if (this.pendingBytes + piece.length > this.maxLineBytes + 1) {
      const all = concat([...this.pending, piece], this.pendingBytes + piece.length);
      this.oversized = { bytes: all.length, head: all.slice(0, this.headBytes) };
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Chunks may be reused by the producer, so we keep our own copy of partial lines.
    this.pending.push(piece.slice());
    this.pendingBytes += piece.length;
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
