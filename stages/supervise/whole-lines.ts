/**
 * A stage's output cut into whole lines. A stage that dies in the middle of a write leaves the start of a
 * line in its pipe; passed on, it would be glued to the first line of the stage that replaces it. Only
 * whole lines are passed on, and an unfinished last line is dropped when the writer is gone: the record it
 * belonged to is sent again from what the dead stage had not acknowledged (or from the archive).
 */
const NEWLINE = 0x0a;

export interface LineChunk {
  bytes: Uint8Array;
  lines: number;
}

export class WholeLines {
  private partial: Uint8Array | null = null;

  /** The whole lines this chunk completes, or null when it ends none. */
  push(chunk: Uint8Array): LineChunk | null {
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) {
      this.partial = this.partial === null ? chunk.slice() : concat(this.partial, chunk);
      return null;
    }
    const ending = chunk.subarray(0, last + 1);
    const bytes = this.partial === null ? ending : concat(this.partial, ending);
    this.partial = last + 1 < chunk.length ? chunk.slice(last + 1) : null;
    return { bytes, lines: countLines(bytes) };
  }

  /** The writer is gone: how many bytes of an unfinished line are dropped. */
  end(): number {
    const dropped = this.partial?.length ?? 0;
    this.partial = null;
    return dropped;
  }
}

export function countLines(bytes: Uint8Array): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count;
}

/** Where line `skip + 1` starts in `bytes` (whole lines, each ending in "\n"). */
export function offsetOfLine(bytes: Uint8Array, skip: number): number {
  let offset = 0;
  for (let i = 0; i < skip; i++) offset = bytes.indexOf(NEWLINE, offset) + 1;
  return offset;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}
