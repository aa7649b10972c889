/**
 * Reading lines from a source a stage may be told to stop reading (SIGTERM): what every stdin stage's
 * line reader does at a stop, so that no line is ever cut in two.
 *
 * At a stop, reading goes on only as far as a whole line: a read already under way is given a moment
 * (its bytes have left the pipe; dropping them would lose lines the writer upstream thinks delivered),
 * and a line begun is read on until its newline, for a bounded time. A line whose rest does not come in
 * that time is not a line: it is reported as unfinished (its number, size and head), never handed on.
 */
import { LineSplitter, type LineEvent } from "./lines";

/** A line that was still arriving when reading stopped; its rest, if any, is left in the input. */
export interface UnfinishedLine {
  kind: "unfinished";
  number: number;
  bytes: number;
  head: string;
}

export interface LineInputOptions {
  maxLineBytes: number;
  /** Aborted when the stage is to stop taking input; without it the source is read to its end. */
  stop?: AbortSignal;
  /** How long a stop waits for the rest of a line begun (default UNFINISHED_LINE_GRACE_MS). */
  unfinishedLineGraceMs?: number;
}

/** How long a stop waits for a read that was under way when nothing was half read. */
export const IN_FLIGHT_READ_GRACE_MS = 100;
/** How long a stop waits for the rest of a line begun: a writer upstream is normally mid-write. */
export const UNFINISHED_LINE_GRACE_MS = 1000;

type Read = IteratorResult<Uint8Array>;

/**
 * The line events of each chunk read, one array per chunk (an array is never empty), and at a stop that
 * came mid-line an UnfinishedLine last.
 */
export async function* lineEventChunks(
  chunks: AsyncIterable<Uint8Array>,
  options: LineInputOptions,
): AsyncGenerator<(LineEvent | UnfinishedLine)[]> {
  const splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes });
  const source = chunks[Symbol.asyncIterator]();
  const { stop } = options;
  const lineGraceMs = options.unfinishedLineGraceMs ?? UNFINISHED_LINE_GRACE_MS;
  let events: LineEvent[] = [];
  const collect = (event: LineEvent) => void events.push(event);
  let reading: Promise<Read> | undefined;
  let stoppedAt: number | undefined;
  let ended = false;
  try {
    for (;;) {
      if (stoppedAt === undefined && stop?.aborted) stoppedAt = Date.now();
      const midLine = splitter.bufferedBytes > 0;
      // Stopped between two lines, with no read under way: done.
      if (stoppedAt !== undefined && !midLine && reading === undefined) break;
      reading ??= source.next();
      const deadline = stoppedAt === undefined ? undefined : stoppedAt + (midLine ? lineGraceMs : IN_FLIGHT_READ_GRACE_MS);
      const read = await settle(reading, stop, deadline);
      if (read === "stopped") continue;
      if (read === "late") break;
      reading = undefined;
      if (read.done) {
        ended = true;
        splitter.end(collect);
        if (events.length > 0) yield events;
        return;
      }
      splitter.push(read.value, collect);
      if (events.length > 0) {
        const taken = events;
        events = [];
        yield taken;
      }
    }
    ended = true;
    const unfinished = splitter.abandon();
    if (unfinished) yield [{ kind: "unfinished", ...unfinished }];
  } finally {
    // Like for-await: a consumer that stops early closes the source. A stop leaves it open: what is
    // still in it belongs to whoever reads it next.
    if (!ended) await source.return?.();
  }
}

/**
 * The read, or "stopped" when the stop comes first (no deadline yet), or "late" when the deadline passes
 * first. A fresh listener per call: one long-lived promise raced against every read would keep each
 * read's chunk reachable until the process ends.
 */
async function settle(reading: Promise<Read>, stop: AbortSignal | undefined, deadline: number | undefined): Promise<Read | "stopped" | "late"> {
  if (deadline !== undefined) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), "late")));
    try {
      return await Promise.race([reading, late]);
    } finally {
      clearTimeout(timer);
    }
  }
  if (stop === undefined) return reading;
  let onStop!: () => void;
  const stopped = new Promise<"stopped">((resolve) => {
    onStop = () => resolve("stopped");
    stop.addEventListener("abort", onStop, { once: true });
  });
  try {
    return await Promise.race([reading, stopped]);
  } finally {
    stop.removeEventListener("abort", onStop);
  }
}
