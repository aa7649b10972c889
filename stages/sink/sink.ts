/**
 * The sink: records in, documents into a store, in batches, never dropped, never doubled.
 *
 * Batches close on a document count, a byte size, or a quiet interval, whichever comes first. At most
 * `concurrency` batches are in flight; when all slots are taken the loop stops pulling records, so a
 * slow or absent store holds the pipe upstream instead of filling memory. A batch keeps its slot until
 * every document in it is stored or refused for good: retries (with capped back-off) are for as long as
 * it takes. Refused documents become `generic_error` bad rows naming the store's reason, the type
 * Snowplow's own Elasticsearch loader gives documents Elasticsearch refuses.
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
}

export interface SinkContext {
  bad: BadRowSink;
  processor: Processor;
  /** For people: outages and recoveries, one line each. */
  notify: (message: string) => void;
  onStored?: (count: number) => void;
  onBad?: (count: number) => void;
}

export interface SinkTotals {
  stored: number;
  rejected: number;
  retried: number;
}

export async function runSink(
  input: AsyncIterable<InputRecord>,
  store: Store,
  options: SinkOptions,
  context: SinkContext,
): Promise<SinkTotals> {
  const totals: SinkTotals = { stored: 0, rejected: 0, retried: 0 };
  const outage = new OutageReporter(store.description, context.notify);
  const inFlight = new Set<Promise<void>>();
  let batch: SinkDocument[] = [];
  let batchBytes = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const writeBad = (reason: string, record: Pick<InputRecord, "text">) => {
    const row = makeBadRow(
      "generic_error",
      context.processor,
      { timestamp: new Date().toISOString(), errors: [reason] },
      record.text,
    );
    totals.rejected++;
    context.onBad?.(1);
    return context.bad.write(row);
  };

  const deliver = async (documents: SinkDocument[]): Promise<void> => {
    let pending = documents;
    let attempt = 0;
    while (pending.length > 0) {
      let outcome: RequestOutcome;
      try {
        outcome = await store.write(pending);
      } catch (error) {
        outcome = { kind: "retry", reason: (error as Error).message ?? String(error) };
      }
      if (outcome.kind === "split") {
        if (pending.length === 1) {
          await writeBad(`Failed to write to ${store.description}: ${outcome.reason}`, pending[0]!.record);
          return;
        }
        const half = Math.ceil(pending.length / 2);
        await deliver(pending.slice(0, half));
        await deliver(pending.slice(half));
        return;
      }
      if (outcome.kind === "retry") {
        outage.down(outcome.reason, pending.length);
        totals.retried += pending.length;
        await sleep(backoffDelay(attempt++, options.backoff));
        continue;
      }
      const again: SinkDocument[] = [];
      let stored = 0;
      let lastReason = "";
      for (let i = 0; i < outcome.items.length; i++) {
        const item = outcome.items[i]!;
        if (item.kind === "done") stored++;
        else if (item.kind === "reject") {
          await writeBad(`Failed to write to ${store.description}: ${item.reason}`, pending[i]!.record);
        } else {
          again.push(pending[i]!);
          lastReason = item.reason;
        }
      }
      totals.stored += stored;
      context.onStored?.(stored);
      if (again.length === 0) {
        outage.up();
        return;
      }
      outage.down(lastReason, again.length);
      totals.retried += again.length;
      pending = again;
      await sleep(backoffDelay(attempt++, options.backoff));
    }
  };

  const send = (documents: SinkDocument[]) => {
    const delivery: Promise<void> = deliver(documents).finally(() => inFlight.delete(delivery));
    inFlight.add(delivery);
  };
  const takeBatch = (): SinkDocument[] => {
    const taken = batch;
    batch = [];
    batchBytes = 0;
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
    if (inFlight.size < options.concurrency) send(takeBatch());
    else timer = setTimeout(onQuietInterval, options.batchMs);
  };

  for await (const record of input) {
    const document = toDocument(record, options.routing);
    if ("problem" in document) {
      await writeBad(document.problem, record);
      continue;
    }
    batch.push(document);
    batchBytes += document.source.length + document.id.length + document.index.length + 32;
    if (batch.length >= options.batchDocuments || batchBytes >= options.batchBytes) {
      await waitForSlot();
      send(takeBatch());
    } else if (timer === null) {
      timer = setTimeout(onQuietInterval, options.batchMs);
    }
  }
  if (batch.length > 0) {
    await waitForSlot();
    send(takeBatch());
  }
  while (inFlight.size > 0) await Promise.race(inFlight);
  return totals;
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
