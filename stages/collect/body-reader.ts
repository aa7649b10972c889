/**
 * Reading request bodies with a deadline. Every read has the same timeout, so deadlines expire in the
 * order reads began: one queue and one timer (armed for the oldest read) serve all of them, instead of a
 * timer, a timeout promise and a race per request.
 */

export type BodyResult = { kind: "text"; text: string } | { kind: "too-large" } | { kind: "timeout" };

const TOO_LARGE: BodyResult = { kind: "too-large" };
const TIMEOUT: BodyResult = { kind: "timeout" };

interface PendingRead {
  deadline: number;
  /** Settles the read; null once it has been settled either way. */
  settle: ((result: BodyResult) => void) | null;
}

export class BodyReader {
  /** Reads in the order they began; settled ones are dropped from the front as soon as they get there. */
  private pending: PendingRead[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly limitBytes: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * The body as text, unless it exceeds the limit or does not arrive in time. Behind Bun.serve,
   * maxRequestBodySize (set to the same limit) already refuses a declared length and fails the read of a
   * chunked body once it passes the limit; the checks here keep the handler right on its own.
   */
  read(request: Request): Promise<BodyResult> {
    const limit = this.limitBytes;
    if (Number(request.headers.get("content-length")) > limit) return Promise.resolve(TOO_LARGE);
    return new Promise<BodyResult>((resolve) => {
      const read: PendingRead = { deadline: Date.now() + this.timeoutMs, settle: resolve };
      this.pending.push(read);
      if (this.timer === undefined) this.arm();
      const finish = (result: BodyResult) => {
        if (read.settle === null) return;
        read.settle = null;
        this.dropSettled();
        resolve(result);
      };
      request.text().then(
        (text) => finish(Buffer.byteLength(text) > limit ? TOO_LARGE : { kind: "text", text }),
        // Reading fails when the body passes maxRequestBodySize, or when the client left (no one hears the 413).
        () => finish(TOO_LARGE),
      );
    });
  }

  private dropSettled(): void {
    const pending = this.pending;
    while (this.head < pending.length && pending[this.head]!.settle === null) this.head++;
    if (this.head === pending.length) {
      this.pending = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > pending.length) {
      this.pending = pending.slice(this.head);
      this.head = 0;
    }
  }

  /** Times out every read whose deadline has passed, then waits for the next oldest. */
  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    const pending = this.pending;
    while (this.head < pending.length && pending[this.head]!.deadline <= now) {
      const read = pending[this.head++]!;
      const settle = read.settle;
      read.settle = null;
      settle?.(TIMEOUT);
    }
    this.dropSettled();
    if (this.head < this.pending.length) this.arm();
  }

  private arm(): void {
    const oldest = this.pending[this.head]!;
    this.timer = setTimeout(() => this.expire(), Math.max(0, oldest.deadline - Date.now()));
    // Left armed when reads finish (it re-arms or stops when it fires); it must not keep a process alive.
    this.timer.unref();
  }
}
