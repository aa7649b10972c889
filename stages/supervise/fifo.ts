/**
 * Named pipes between the supervisor and one stage instance. Each instance gets fresh ones, so what a dead
 * instance left in a pipe never runs into what its replacement writes. The supervisor opens its own end
 * without blocking (O_NONBLOCK, read and written through Bun's event loop) and hands the stage a plain
 * blocking end as one of its file descriptors; once the stage has it, the supervisor closes its copy, so
 * the stage's death is the end of the pipe (EOF for a pipe it wrote, EPIPE for one it read).
 */
import { spawnSync } from "node:child_process";
import { closeSync, constants, openSync, rmSync } from "node:fs";
import type { FileSink } from "bun";

function makeFifo(path: string): void {
  rmSync(path, { force: true });
  const made = spawnSync("mkfifo", ["-m", "600", path], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`cannot make the FIFO ${path}: ${made.stderr.trim() || made.error?.message}`);
}

/** A pipe the stage writes (its stdout, --bad, --pii, --acks) and the supervisor reads. */
export interface StageOutput {
  /** The stage's end, for its stdio list. */
  stageFd: number;
  /** What the stage writes; ends once the stage (and anything it left in the pipe) is gone. */
  stream: ReadableStream<Uint8Array>;
  /** Closes the supervisor's copy of the stage's end (after the spawn) and removes the name. */
  handedOver(): void;
  /** Closes the supervisor's end, once the stream has ended (Bun does not close a descriptor it was given). */
  close(): void;
}

export function stageOutput(path: string): StageOutput {
  makeFifo(path);
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  // Does not block: the reading end above is open.
  const stageFd = openSync(path, constants.O_WRONLY);
  return {
    stageFd,
    stream: Bun.file(readFd).stream(),
    handedOver() {
      closeSync(stageFd);
      rmSync(path, { force: true });
    },
    close: () => closeQuietly(readFd),
  };
}

/** A pipe the supervisor writes and the stage reads (its stdin). */
export interface StageInput {
  stageFd: number;
  /** Resolves once the pipe has taken the bytes; rejects (EPIPE) once the stage is gone. */
  write(bytes: Uint8Array): Promise<void>;
  /** EOF for the stage, once what was written has gone into the pipe; also what frees the pipe after the stage is gone. */
  end(): void;
  handedOver(): void;
}

export function stageInput(path: string): StageInput {
  makeFifo(path);
  // Opening for reading and writing never blocks on Linux; it makes the two opens below return at once.
  const holder = openSync(path, constants.O_RDWR);
  const stageFd = openSync(path, constants.O_RDONLY);
  const writeFd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  closeSync(holder);
  const sink: FileSink = Bun.file(writeFd).writer({ highWaterMark: 1 << 20 });
  let ended = false;
  return {
    stageFd,
    async write(bytes) {
      // Either may return a promise that rejects (EPIPE once the stage is gone): both are awaited.
      await sink.write(bytes);
      await sink.flush();
    },
    end() {
      if (ended) return;
      ended = true;
      // Bun does not close a descriptor it was given: the stage sees EOF only once it is closed here.
      void Promise.resolve()
        .then(() => sink.end())
        .catch(() => {})
        .finally(() => closeQuietly(writeFd));
    },
    handedOver() {
      closeSync(stageFd);
      rmSync(path, { force: true });
    },
  };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
