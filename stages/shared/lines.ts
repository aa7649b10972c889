/**
 * Splits a byte stream into lines. Bun's own line iterators mishandle CRLF, a missing final newline and
 * large inputs (see the Bun pitfalls in DESIGN's references), so every stage reads through this one.
 *
 * A line is `\n`-terminated; a trailing `\r` is dropped; a last line without `\n` still counts; an empty
 * line is skipped (it carries no record). A line longer than `maxLineBytes` is not buffered whole: its
 * first bytes are kept for the report and the rest is skipped until the next `\n`, so memory stays bounded.
 */

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
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder("utf-8");

export async function* splitLines(
  chunks: AsyncIterable<Uint8Array>,
  options: SplitLinesOptions,
): AsyncGenerator<LineEvent> {
  const { maxLineBytes } = options;
  const headBytes = options.oversizedHeadBytes ?? 1024;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  // When the current line is already too long we only count its bytes until the next newline.
  let oversized: { bytes: number; head: Uint8Array } | null = null;
  let number = 0;

  function* finishLine(): Generator<LineEvent> {
    number++;
    if (oversized) {
      const event: LineEvent = {
        kind: "oversized",
        number,
        bytes: oversized.bytes,
        head: lenientUtf8.decode(oversized.head),
      };
      oversized = null;
      pending = [];
      pendingBytes = 0;
      yield event;
      return;
    }
    let bytes = pending.length === 1 ? pending[0]! : concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.length > maxLineBytes) {
      yield { kind: "oversized", number, bytes: bytes.length, head: lenientUtf8.decode(bytes.subarray(0, headBytes)) };
      return;
    }
    if (bytes.length === 0) {
      number--; // blank lines are not records and do not shift the numbering users see in errors
      return;
    }
    let text: string;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      yield { kind: "invalid_utf8", number, base64: Buffer.from(bytes).toString("base64") };
      return;
    }
    yield { kind: "line", number, text };
  }

  function take(piece: Uint8Array): void {
    if (piece.length === 0) return;
    if (oversized) {
      oversized.bytes += piece.length;
      return;
    }
    // The +1 leaves room for a `\r` that will be stripped when the line ends.
    if (pendingBytes + piece.length > maxLineBytes + 1) {
      const all = concat([...pending, piece], pendingBytes + piece.length);
      oversized = { bytes: all.length, head: all.slice(0, headBytes) };
      pending = [];
      pendingBytes = 0;
      return;
    }
    // Chunks from a stream may be reused by the producer, so we keep our own copy of partial lines.
    pending.push(piece.slice());
    pendingBytes += piece.length;
  }

  for await (const chunk of chunks) {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, start);
    while (newline !== -1) {
      if (pendingBytes === 0 && !oversized) {
        // Fast path: the whole line sits inside this chunk.
        const line = chunk.subarray(start, newline);
        if (line.length <= maxLineBytes + 1) {
          pending = [line];
          pendingBytes = line.length;
        } else take(line);
      } else {
        take(chunk.subarray(start, newline));
      }
      yield* finishLine();
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    take(chunk.subarray(start));
  }
  if (pendingBytes > 0 || oversized) yield* finishLine();
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
