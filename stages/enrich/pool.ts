/**
 * Worker threads for enrich (`--workers N`): each holds its own resolver and enrichments and enriches the
 * batches it is given; this side hands batches out in turn and gives each caller its own batch's result.
 * Putting results back in input order is the caller's job (runEnrich writes them in the order it asked).
 */
import type { LineBatch } from "../shared/ndjson";
import type { EnrichedBatch } from "./batch";

export type WorkerRequest<Settings = unknown> =
  | { kind: "setup"; settings: Settings }
  | { kind: "batch"; id: number; batch: LineBatch };

export type WorkerReply =
  | { kind: "ready"; enrichmentCount: number }
  | { kind: "failed"; configError: boolean; message: string }
  | { kind: "result"; id: number; result: EnrichedBatch }
  | { kind: "error"; id: number; message: string };

/** A worker could not set itself up; `configError` when the reason is the user's configuration. */
export class WorkerSetupError extends Error {
  constructor(message: string, readonly configError: boolean) {
    super(message);
  }
}

interface Waiting {
  resolve: (result: EnrichedBatch) => void;
  reject: (error: Error) => void;
}

class PooledWorker {
  readonly waiting = new Map<number, Waiting>();
  private failure: Error | null = null;

  constructor(readonly worker: Worker) {
    worker.addEventListener("message", ({ data }: MessageEvent<WorkerReply>) => {
      if (data.kind !== "result" && data.kind !== "error") return;
      const waiting = this.waiting.get(data.id);
      this.waiting.delete(data.id);
      if (data.kind === "result") waiting?.resolve(data.result);
      else waiting?.reject(new Error(`enrich worker failed: ${data.message}`));
    });
    worker.addEventListener("error", (event) => this.fail(new Error(`enrich worker crashed: ${event.message}`)));
    worker.addEventListener("close", () => this.fail(new Error("enrich worker exited")));
  }

  send(id: number, batch: LineBatch): Promise<EnrichedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ kind: "batch", id, batch } satisfies WorkerRequest);
    });
  }

  /** Every batch this worker still owes fails with `error`, and so does every later one. */
  fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.waiting.values()) waiting.reject(this.failure);
    this.waiting.clear();
  }
}

export class EnrichWorkerPool {
  private next = 0;
  private nextId = 0;
  private closing = false;

  private constructor(private readonly workers: PooledWorker[], readonly enrichmentCount: number) {}

  /** Starts `count` workers from `entry` and waits until each has set itself up from `settings`. */
  static async start<Settings>(entry: URL | string, count: number, settings: Settings): Promise<EnrichWorkerPool> {
    const workers = Array.from({ length: count }, () => new Worker(entry));
    try {
      const counts = await Promise.all(workers.map((worker) => setUp(worker, settings)));
      return new EnrichWorkerPool(workers.map((worker) => new PooledWorker(worker)), counts[0] ?? 0);
    } catch (error) {
      for (const worker of workers) worker.terminate();
      throw error;
    }
  }

  /** Enriches one batch on the next worker in turn (batches are about one read's worth each). */
  readonly enrich = (batch: LineBatch): Promise<EnrichedBatch> => {
    const worker = this.workers[this.next]!;
    this.next = (this.next + 1) % this.workers.length;
    return worker.send(this.nextId++, batch);
  };

  close(): void {
    if (this.closing) return;
    this.closing = true;
    for (const pooled of this.workers) {
      pooled.fail(new Error("enrich workers were stopped"));
      pooled.worker.terminate();
    }
  }
}

function setUp<Settings>(worker: Worker, settings: Settings): Promise<number> {
  return new Promise((resolve, reject) => {
    const onMessage = ({ data }: MessageEvent<WorkerReply>) => {
      if (data.kind === "ready") resolve(data.enrichmentCount);
      else if (data.kind === "failed") reject(new WorkerSetupError(data.message, data.configError));
      else return;
      worker.removeEventListener("message", onMessage);
      worker.removeEventListener("error", onError);
    };
    const onError = (event: ErrorEvent) => reject(new WorkerSetupError(`enrich worker could not start: ${event.message}`, false));
    worker.addEventListener("message", onMessage);
    worker.addEventListener("error", onError);
    worker.postMessage({ kind: "setup", settings } satisfies WorkerRequest<Settings>);
  });
}
