/**
 * The sink: records in, documents into a store, in batches, never dropped, never doubled.
 *
 * Batches close on a document count, a byte size, or a quiet interval, whichever comes first. At most
 * `concurrency` batches are in flight; when all slots are taken the loop stops pulling records, so a
 * slow or absent store holds the pipe upstream instead of filling memory. A batch keeps its slot until
 * every document in it is stored or refused for good: retries (with capped back-off) are for as long as
 * it takes, until a stop is asked for: then they go on for at most `drainMs`, and what is still not
 * stored is handed to `spill` (or, without one, written as bad rows), so a stop never loses a record and
 * never waits for ever on a store that is down. Refused documents become `generic_error` bad rows naming
 * the store's reason, the type Snowplow's own Elasticsearch loader gives documents Elasticsearch refuses.
 *
 * `onProgress` is told how many input lines are handled for good (stored, refused or spilled) as that
 * prefix of the input grows, so a supervisor can tell what a sink that dies had not finished.
 */
import { makeBadRow, type BadRowSink, type Processor } from "../shared/bad-rows";
import type { InputRecord } from "../shared/ndjson";
import { toDocument, type Routing, type SinkDocument } from "./document";
import { backoffDelay, type BackoffOptions, type RequestOutcome } from "./retry";

/** A problem no amount of waiting fixes (wrong URL, bad credentials, unusable file): the user must act. */
export class StoreConfigError extends Error {}

/** Somewhere documents are kept: Elasticsearch, SQLite. `write` reports per document; it never throws for a refusal. */
export interface Store {
  /** How messages name it: "Elasticsearch at http://127.0.0.1:9200". */
  readonly description: string;
  write(documents: SinkDocument[]): Promise<RequestOutcome>;
  close(): Promise<void>;
}

export interface SinkOptions {
  routing: Routing;
  batchDocuments: number;
  batchBytes: number;
  /** A partial batch is sent after this long without filling up. */
  batchMs: number;
  concurrency: number;
  backoff?: BackoffOptions;
  /** How long, once `stop` aborts, records still unstored are tried before they are spilled (default: no limit). */
  drainMs?: number;
}

export interface SinkContext {
  bad: BadRowSink;
  processor: Processor;
  /** For people: outages and recoveries, one line each. */
  notify: (message: string) => void;
  onStored?: (count: number) => void;
  onBad?: (count: number) => void;
  /** Aborted when the sink is asked to stop; the input is expected to end soon after. */
  stop?: AbortSignal;
  /**
   * Takes the records not stored when the drain time ran out, as they came (e.g. into a file to feed back
   * later). Without it they become generic_error bad rows.
   */
  spill?: (lines: string[]) => Promise<void> | void;
  /** Input lines (by `InputRecord.line`) from the first up to this one are handled for good. */
  onProgress?: (line: number) => void;
}

export interface SinkTotals {
  stored: number;
  rejected: number;
  retried: number;
  /** Not stored before the drain time ran out: spilled, or written as bad rows. */
  unstored: number;
}

export async function runSink(
  input: AsyncIterable<InputRecord>,
  store: Store,
  options: SinkOptions,
  context: SinkContext,
): Promise<SinkTotals> {
  const totals: SinkTotals = { stored: 0, rejected: 0, retried: 0, unstored: 0 };
  const outage = new OutageReporter(store.description, context.notify);
  const drain = new DrainDeadline(options.drainMs === undefined ? undefined : context.stop, options.drainMs ?? 0);
  const progress = new InputProgress(context.onProgress);
  const inFlight = new Set<Promise<void>>();
  let batch: SinkDocument[] = [];
  let batchBytes = 0;
  let batchPart: BatchPart | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const writeBadRow = (reason: string, text: string) => {
    context.onBad?.(1);
    return context.bad.write(
      makeBadRow("generic_error", context.processor, { timestamp: new Date().toISOString(), errors: [reason] }, text),
    );
  };
  const refuse = (reason: string, record: Pick<InputRecord, "text">) => {
    totals.rejected++;
    return writeBadRow(reason, record.text);
  };

  const abandon = async (documents: SinkDocument[], reason: string): Promise<void> => {
    totals.unstored += documents.length;
    if (context.spill) {
      await context.spill(documents.map((document) => document.record.text));
      return;
    }
    const why = `not stored in ${store.description} within the drain time after the stop: ${reason}`;
    for (const document of documents) await writeBadRow(why, document.record.text);
  };

  const deliver = async (documents: SinkDocument[], part: BatchPart): Promise<void> => {
    let pending = documents;
    let attempt = 0;
    let lastReason = "the stop came before they were sent";
    while (pending.length > 0) {
      const outcome = drain.expired ? undefined : await drain.race(writeOrRetry(store, pending));
      if (outcome === undefined) {
        await abandon(pending, lastReason);
        part.handled(pending.length);
        return;
      }
      if (outcome.kind === "split") {
        if (pending.length === 1) {
          await refuse(`Failed to write to ${store.description}: ${outcome.reason}`, pending[0]!.record);
          part.handled(1);
          return;
        }
        const half = Math.ceil(pending.length / 2);
        await deliver(pending.slice(0, half), part);
        await deliver(pending.slice(half), part);
        return;
      }
      if (outcome.kind === "retry") {
        outage.down(outcome.reason, pending.length);
        lastReason = outcome.reason;
        totals.retried += pending.length;
        await drain.sleep(backoffDelay(attempt++, options.backoff));
        continue;
      }
      const again: SinkDocument[] = [];
      let stored = 0;
      for (let i = 0; i < outcome.items.length; i++) {
        const item = outcome.items[i]!;
        if (item.kind === "done") stored++;
        else if (item.kind === "reject") {
          await refuse(`Failed to write to ${store.description}: ${item.reason}`, pending[i]!.record);
        } else {
          again.push(pending[i]!);
          lastReason = item.reason;
        }
      }
      totals.stored += stored;
      context.onStored?.(stored);
      part.handled(pending.length - again.length);
      if (again.length === 0) {
        outage.up();
        return;
      }
      outage.down(lastReason, again.length);
      totals.retried += again.length;
      pending = again;
      await drain.sleep(backoffDelay(attempt++, options.backoff));
    }
  };

  const send = (documents: SinkDocument[], part: BatchPart) => {
    const delivery: Promise<void> = deliver(documents, part).finally(() => inFlight.delete(delivery));
    inFlight.add(delivery);
  };
  const takeBatch = (): [SinkDocument[], BatchPart] => {
    const taken: [SinkDocument[], BatchPart] = [batch, batchPart!];
    batchPart!.close();
    batch = [];
    batchBytes = 0;
    batchPart = null;
    if (timer) clearTimeout(timer);
    timer = null;
    return taken;
  };
  const waitForSlot = async () => {
    while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
  };
  // The quiet-interval flush only uses a free slot; if none is free the batch keeps growing until full,
  // when the reading loop itself waits. That keeps the number of pending batches bounded.
  const onQuietInterval = () => {
    timer = null;
    if (batch.length === 0) return;
    if (inFlight.size < options.concurrency) send(...takeBatch());
    else timer = setTimeout(onQuietInterval, options.batchMs);
  };

  for await (const record of input) {
    const document = toDocument(record, options.routing);
    if ("problem" in document) {
      await refuse(document.problem, record);
      if (batchPart) batchPart.extendTo(record.line);
      else progress.handledThrough(record.line);
      continue;
    }
    batchPart ??= progress.open();
    batchPart.add(record.line);
    batch.push(document);
    batchBytes += document.source.length + document.id.length + document.index.length + 32;
    if (batch.length >= options.batchDocuments || batchBytes >= options.batchBytes) {
      await waitForSlot();
      send(...takeBatch());
    } else if (timer === null) {
      timer = setTimeout(onQuietInterval, options.batchMs);
    }
  }
  if (batch.length > 0) {
    await waitForSlot();
    send(...takeBatch());
  }
  while (inFlight.size > 0) await Promise.race(inFlight);
  drain.dispose();
  return totals;
}

/** A store write whose throw (a bug, a lost connection the store did not classify) means "try again". */
async function writeOrRetry(store: Store, documents: SinkDocument[]): Promise<RequestOutcome> {
  try {
    return await store.write(documents);
  } catch (error) {
    return { kind: "retry", reason: (error as Error).message ?? String(error) };
  }
}

/**
 * The time left to store what was read once a stop is asked for; before the stop, no limit. Waits (store
 * writes, back-off sleeps) are registered only while they last, so a sink running for weeks keeps none.
 */
class DrainDeadline {
  expired = false;
  private readonly waiting = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onStop = () => {
    this.timer = setTimeout(() => {
      this.expired = true;
      for (const wake of this.waiting) wake();
      this.waiting.clear();
    }, this.drainMs);
  };

  constructor(private readonly stop: AbortSignal | undefined, private readonly drainMs: number) {
    if (stop?.aborted) this.onStop();
    else stop?.addEventListener("abort", this.onStop, { once: true });
  }

  /** The promise's value, or undefined when the drain time runs out first (the promise is left to itself). */
  race<T>(promise: Promise<T>): Promise<T | undefined> {
    if (this.expired) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const wake = () => resolve(undefined);
      this.waiting.add(wake);
      promise.then(
        (value) => {
          this.waiting.delete(wake);
          resolve(value);
        },
        (error) => {
          this.waiting.delete(wake);
          reject(error);
        },
      );
    });
  }

  async sleep(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await this.race(new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))));
    clearTimeout(timer);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.stop?.removeEventListener("abort", this.onStop);
  }
}

/**
 * Which prefix of the input is handled for good. Batches are runs of consecutive input lines (a line
 * that is not a document, handled at once, belongs to the batch being filled around it), delivered
 * concurrently and finishing in any order; the prefix grows only as the oldest unfinished batch finishes.
 */
class InputProgress {
  private readonly parts: BatchPart[] = [];
  private through = 0;

  constructor(private readonly report: ((line: number) => void) | undefined) {}

  open(): BatchPart {
    const part = new BatchPart(() => this.advance());
    this.parts.push(part);
    return part;
  }

  /** A line handled at once while no batch is open. */
  handledThrough(line: number): void {
    if (this.parts.length === 0) this.moveTo(line);
    else this.parts[this.parts.length - 1]!.extendTo(line);
  }

  private advance(): void {
    while (this.parts.length > 0 && this.parts[0]!.isFinished) this.moveTo(this.parts.shift()!.lastLine);
  }

  private moveTo(line: number): void {
    if (line <= this.through) return;
    this.through = line;
    this.report?.(line);
  }
}

class BatchPart {
  lastLine = 0;
  private unfinished = 0;
  private closed = false;

  constructor(private readonly onChange: () => void) {}

  add(line: number): void {
    this.unfinished++;
    this.lastLine = line;
  }

  extendTo(line: number): void {
    this.lastLine = line;
    this.onChange();
  }

  /** No more lines join it: it is being delivered. */
  close(): void {
    this.closed = true;
  }

  handled(count: number): void {
    this.unfinished -= count;
    this.onChange();
  }

  get isFinished(): boolean {
    return this.closed && this.unfinished === 0;
  }
}

/** Says once when the store stops taking documents and once when it takes them again. */
class OutageReporter {
  private since: number | null = null;

  constructor(private readonly store: string, private readonly notify: (message: string) => void) {}

  down(reason: string, waiting: number): void {
    if (this.since !== null) return;
    this.since = Date.now();
    this.notify(`${this.store} is not taking documents (${reason}); retrying ${waiting} of them, input paused meanwhile`);
  }

  up(): void {
    if (this.since === null) return;
    this.notify(`${this.store} is taking documents again after ${((Date.now() - this.since) / 1000).toFixed(1)}s`);
    this.since = null;
  }
}
