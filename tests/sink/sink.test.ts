/** runSink against stores made for the test: batching, retries, refusals, backpressure. */
import { describe, expect, test } from "bun:test";
import { BadRowList } from "../../stages/shared/bad-rows";
import type { InputRecord } from "../../stages/shared/ndjson";
import { routeByKind, type SinkDocument } from "../../stages/sink/document";
import type { ItemOutcome, RequestOutcome } from "../../stages/sink/retry";
import { runSink, type SinkOptions, type Store } from "../../stages/sink/sink";
import { validateBadRow } from "../fixtures/bad-row-schema";

const processor = { artifact: "telemetry-test", version: "0.0.0" };
const fastRetries = { initialMs: 1, maxMs: 2 };

function events(count: number): InputRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const value = { event_id: `id-${i}`, collector_tstamp: "2025-11-27T10:00:00.000Z", n: i };
    return { value, line: i + 1, text: JSON.stringify(value) };
  });
}

async function* from<T>(items: T[], onPull?: (count: number) => void): AsyncGenerator<T> {
  let pulled = 0;
  for (const item of items) {
    onPull?.(++pulled);
    yield item;
  }
}

/** A store that keeps documents by id and answers each write with what `answer` says. */
class ScriptedStore implements Store {
  readonly description = "the test store";
  readonly stored = new Map<string, string>();
  writes: string[][] = [];
  constructor(private readonly answer: (documents: SinkDocument[], call: number) => RequestOutcome | null) {}

  async write(documents: SinkDocument[]): Promise<RequestOutcome> {
    this.writes.push(documents.map((document) => document.id));
    const scripted = this.answer(documents, this.writes.length);
    const outcome: RequestOutcome = scripted ?? { kind: "items", items: documents.map(() => ({ kind: "done" })) };
    if (outcome.kind === "items") {
      outcome.items.forEach((item, i) => {
        if (item.kind === "done") this.stored.set(documents[i]!.id, documents[i]!.source);
      });
    }
    return outcome;
  }

  async close(): Promise<void> {}
}

function options(overrides: Partial<SinkOptions> = {}): SinkOptions {
  return { routing: routeByKind(), batchDocuments: 10, batchBytes: 1e9, batchMs: 10_000, concurrency: 2, backoff: fastRetries, ...overrides };
}

describe("runSink", () => {
  test("every record is stored once, in batches of at most batchDocuments", async () => {
    const store = new ScriptedStore(() => null);
    const totals = await runSink(from(events(95)), store, options(), { bad: new BadRowList(), processor, notify: () => {} });
    expect(totals).toEqual({ stored: 95, rejected: 0, retried: 0, unstored: 0 });
    expect(store.stored.size).toBe(95);
    expect(Math.max(...store.writes.map((ids) => ids.length))).toBe(10);
    expect(store.writes.flat().length).toBe(95);
  });

  test("a byte limit closes batches before the count does", async () => {
    const store = new ScriptedStore(() => null);
    const oneDocument = JSON.stringify(events(1)[0]!.value).length;
    await runSink(from(events(20)), store, options({ batchBytes: oneDocument * 3 }), {
      bad: new BadRowList(),
      processor,
      notify: () => {},
    });
    expect(Math.max(...store.writes.map((ids) => ids.length))).toBeLessThan(10);
    expect(store.stored.size).toBe(20);
  });

  test("whole-request failures are retried until the store takes the batch, and people are told once", async () => {
    const store = new ScriptedStore((_, call) => (call <= 3 ? { kind: "retry", reason: "connect ECONNREFUSED" } : null));
    const notes: string[] = [];
    const totals = await runSink(from(events(5)), store, options({ concurrency: 1 }), {
      bad: new BadRowList(),
      processor,
      notify: (message) => notes.push(message),
    });
    expect(totals.stored).toBe(5);
    expect(store.writes).toHaveLength(4);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toContain("ECONNREFUSED");
    expect(notes[1]).toContain("taking documents again");
  });

  test("only the items that asked for a retry are sent again; refused ones become generic_error bad rows", async () => {
    const store = new ScriptedStore((documents, call) => {
      if (call > 1) return null;
      const items: ItemOutcome[] = documents.map((_, i) =>
        i === 1 ? { kind: "reject", reason: "document_parsing_exception: bad" } : i === 2 ? { kind: "retry", reason: "429" } : { kind: "done" },
      );
      return { kind: "items", items };
    });
    const bad = new BadRowList();
    const totals = await runSink(from(events(4)), store, options(), { bad, processor, notify: () => {} });
    expect(store.writes).toEqual([["id-0", "id-1", "id-2", "id-3"], ["id-2"]]);
    expect(totals).toEqual({ stored: 3, rejected: 1, retried: 1, unstored: 0 });
    expect(bad.rows).toHaveLength(1);
    const row = bad.rows[0]!;
    expect(row.schema).toBe("iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/1-0-0");
    expect(row.data.failure.errors).toEqual(["Failed to write to the test store: document_parsing_exception: bad"]);
    expect(row.data.payload).toBe(events(4)[1]!.text);
    expect(await validateBadRow(row)).toMatchObject({ ok: true });
  });

  test("a request too large is halved until the one document that is too large stands alone", async () => {
    const store = new ScriptedStore((documents) =>
      documents.some((document) => document.id === "id-5") ? { kind: "split", reason: "413" } : null,
    );
    const bad = new BadRowList();
    const totals = await runSink(from(events(8)), store, options(), { bad, processor, notify: () => {} });
    expect(totals.stored).toBe(7);
    expect(bad.rows.map((row) => row.data.payload)).toEqual([events(8)[5]!.text]);
    expect(store.stored.has("id-5")).toBe(false);
  });

  test("while every slot waits on the store, no more input is pulled", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let pulled = 0;
    const store = new ScriptedStore(() => null);
    const slowStore: Store = {
      description: "a slow store",
      write: async (documents) => {
        await gate;
        return store.write(documents);
      },
      close: async () => {},
    };
    const done = runSink(from(events(1000), (count) => (pulled = count)), slowStore, options({ concurrency: 2 }), {
      bad: new BadRowList(),
      processor,
      notify: () => {},
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Two batches in flight, a third one full and waiting for a slot, and the record that filled it.
    expect(pulled).toBeLessThanOrEqual(2 * 10 + 10 + 1);
    release();
    await done;
    expect(store.stored.size).toBe(1000);
  });

  test("a quiet input still gets its partial batch sent after batchMs", async () => {
    const store = new ScriptedStore(() => null);
    let finishInput!: () => void;
    const inputEnds = new Promise<void>((resolve) => (finishInput = resolve));
    async function* slowInput() {
      yield* events(3);
      await inputEnds;
    }
    const done = runSink(slowInput(), store, options({ batchMs: 5 }), { bad: new BadRowList(), processor, notify: () => {} });
    while (store.stored.size < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(store.writes).toEqual([["id-0", "id-1", "id-2"]]);
    finishInput();
    await done;
  });

  test("stopped while the store is down: retried for drainMs, then the unstored records are spilled as they came", async () => {
    const store = new ScriptedStore(() => ({ kind: "retry", reason: "503 Service Unavailable" }));
    const stop = new AbortController();
    const spilled: string[] = [];
    const handled: number[] = [];
    const bad = new BadRowList();
    const input = events(25);
    const done = runSink(from(input), store, options({ batchDocuments: 10, drainMs: 50 }), {
      bad,
      processor,
      notify: () => {},
      stop: stop.signal,
      spill: (lines) => void spilled.push(...lines),
      onProgress: (line) => handled.push(line),
    });
    while (store.writes.length < 3) await Bun.sleep(1);
    expect(handled).toEqual([]);
    stop.abort();
    const totals = await done;
    expect(totals.unstored).toBe(25);
    expect(totals.stored).toBe(0);
    expect(spilled.sort()).toEqual(input.map((record) => record.text).sort());
    expect(bad.rows).toEqual([]);
    expect(handled.at(-1)).toBe(25);
  });

  test("without a spill, what the drain time left unstored becomes generic_error bad rows holding each line", async () => {
    const store = new ScriptedStore(() => ({ kind: "retry", reason: "index_closed_exception: closed" }));
    const stop = new AbortController();
    stop.abort();
    const bad = new BadRowList();
    const totals = await runSink(from(events(3)), store, options({ drainMs: 20 }), { bad, processor, notify: () => {}, stop: stop.signal });
    expect(totals).toEqual({ stored: 0, rejected: 0, retried: totals.retried, unstored: 3 });
    expect(bad.rows.map((row) => row.data.payload)).toEqual(events(3).map((record) => record.text));
    expect(String(bad.rows[0]!.data.failure.errors)).toContain("index_closed_exception: closed");
    for (const row of bad.rows) expect(await validateBadRow(row)).toMatchObject({ ok: true });
  });

  test("without drainMs a stop does not cut the retries short", async () => {
    const store = new ScriptedStore((_, call) => (call <= 5 ? { kind: "retry", reason: "down" } : null));
    const stop = new AbortController();
    stop.abort();
    const totals = await runSink(from(events(4)), store, options(), { bad: new BadRowList(), processor, notify: () => {}, stop: stop.signal });
    expect(totals.stored).toBe(4);
    expect(totals.unstored).toBe(0);
  });

  test("progress grows only over the input prefix whose batches are all finished, lines that are not documents included", async () => {
    const gates = new Map<string, () => void>();
    const store = new ScriptedStore(() => null);
    const gatedStore: Store = {
      description: "a gated store",
      write: async (documents) => {
        await new Promise<void>((resolve) => gates.set(documents[0]!.id, resolve));
        return store.write(documents);
      },
      close: async () => {},
    };
    // Lines 1-3 and 5-7 are two batches; line 4 is not an object, so it is handled (a bad row) at once.
    const input: InputRecord[] = events(6).map((record, i) => ({ ...record, line: i < 3 ? i + 1 : i + 2 }));
    input.splice(3, 0, { value: 42, line: 4, text: "42" });
    const handled: number[] = [];
    let stored = 0;
    const done = runSink(from(input), gatedStore, options({ batchDocuments: 3 }), {
      bad: new BadRowList(),
      processor,
      notify: () => {},
      onStored: (count) => (stored += count),
      onProgress: (line) => handled.push(line),
    });
    while (gates.size < 2) await Bun.sleep(1);
    gates.get("id-3")!();
    while (stored < 3) await Bun.sleep(1);
    expect(handled).toEqual([]);
    gates.get("id-0")!();
    await done;
    expect(handled).toEqual([4, 7]);
  });
});
