/**
 * A side channel of NDJSON lines appended to a file or FIFO: bad rows (`--bad`), enrich's emitted events
 * (`--pii`).
 *
 * A line must reach its destination whole even when several processes share it (`make up` points every
 * stage at one bad-row FIFO) and it is longer than PIPE_BUF, where the kernel no longer keeps a single
 * write atomic. Every write is therefore made under an exclusive flock(2) on the destination itself.
 */
import { dlopen, FFIType } from "bun:ffi";
import { accessSync, closeSync, constants, openSync, statSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";

const LOCK_EX = 2;
const LOCK_UN = 8;
let flock: ((fd: number, operation: number) => number) | undefined;
function lockFunction(): (fd: number, operation: number) => number {
  flock ??= dlopen("libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  }).symbols.flock as (fd: number, operation: number) => number;
  return flock;
}

/**
 * Why `path` could not be opened for appending (a code such as ENOENT, EACCES, EISDIR), or null when it
 * could. It is checked without opening it: opening a FIFO would wait for its reader.
 */
export function appendProblem(path: string): string | null {
  try {
    if (statSync(path).isDirectory()) return "EISDIR";
    accessSync(path, constants.W_OK);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (code !== "ENOENT") return code;
  }
  try {
    accessSync(dirname(resolve(path)), constants.W_OK);
    return null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

export interface AppendFileOptions {
  /** Called once, before the first line, when the path was not chosen by the user. */
  announceDefault?: (path: string) => void;
  isDefaultPath?: boolean;
}

/**
 * The destination is opened on the first line, so a stage with nothing to say leaves no empty file behind
 * and does not wait for a FIFO reader it does not need.
 */
export class AppendFile {
  private fd: number | null = null;
  linesWritten = 0;

  constructor(readonly path: string, private readonly options: AppendFileOptions = {}) {}

  /**
   * Appends `count` lines already joined, each ending in "\n", under one lock: a stage that gathers a
   * batch's lines pays the lock once, not once per line.
   */
  writeLines(text: string, count: number): void {
    if (text === "") return;
    if (this.fd === null) {
      if (this.options.isDefaultPath) this.options.announceDefault?.(resolve(this.path));
      // Blocking append: on a FIFO this waits for a reader, which is the backpressure we want.
      this.fd = openSync(this.path, "a");
    }
    const bytes = Buffer.from(text);
    const lock = lockFunction();
    lock(this.fd, LOCK_EX);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset);
    } finally {
      lock(this.fd, LOCK_UN);
    }
    this.linesWritten += count;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
