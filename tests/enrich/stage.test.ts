/**
 * runEnrich, the enrich loop, with a fake batch enricher whose results the test hands back in any order:
 * output strictly in input order, at most `concurrency` batches in flight, each kind of line to its sink,
 * and a failed batch failing the loop (never an unhandled rejection).
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { BatchEnricher, EnrichedBatch } from "../../stages/enrich/batch";
import { runEnrich, type LineSink } from "../../stages/enrich/stage";
import type { LineBatch } from "../../stages/shared/ndjson";

interface Deferred {
  batch: LineBatch;
  resolve(result: EnrichedBatch): void;
  reject(error: Error): void;
}

/** A batch enricher that returns a promise per batch and lets the test settle each when it likes. */
function controllableEnricher(): { enrich: BatchEnricher; calls: Deferred[] } {
  const calls: Deferred[] = [];
  const enrich: BatchEnricher = (batch) =>
    new Promise<EnrichedBatch>((resolve, reject) => {
      calls.push({ batch, resolve, reject });
    });
  return { enrich, calls };
}

/** Batch `n` of `size` lines: texts "b<n>-<i>". */
function batchOf(n: number, size: number): LineBatch {
  const texts = Array.from({ length: size }, (_, index) => `b${n}-${index}`);
  return { texts, numbers: texts.map((_, index) => n * 100 + index + 1) };
}

/** The input batches as a source that records whether it was closed before its end. */
function source(batches: LineBatch[]): { batches: AsyncIterable<LineBatch>; closedEarly: () => boolean } {
  let finished = false;
  let closedEarly = false;
  async function* generate() {
    try {
      for (const batch of batches) yield batch;
      finished = true;
    } finally {
      if (!finished) closedEarly = true;
    }
  }
  return { batches: generate(), closedEarly: () => closedEarly };
}

/** What a real enricher would make of a batch: per line one good event, every third line also a bad row and a PII event. */
function resultFor(batch: LineBatch): EnrichedBatch {
  const good = batch.texts.map((text) => `good:${text}\n`);
  const flagged = batch.texts.filter((_, index) => index % 3 === 0);
  return {
    good: good.join(""),
    goodCount: good.length,
    bad: flagged.map((text) => `bad:${text}\n`).join(""),
    badCount: flagged.length,
    pii: flagged.map((text) => `pii:${text}\n`).join(""),
    piiCount: flagged.length,
  };
}

/** A sink that records what it was given; its writes complete a turn later, as an awaited stream write would. */
function recordingSink(): LineSink & { texts: string[]; counts: number[] } {
  const texts: string[] = [];
  const counts: number[] = [];
  return {
    texts,
    counts,
    async writeLines(text, count) {
      await Promise.resolve();
      texts.push(text);
      counts.push(count);
    },
  };
}

/** Lets every pending promise reaction and timer of this turn run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

async function until(condition: () => boolean): Promise<void> {
  for (let tries = 0; !condition(); tries++) {
    if (tries > 1000) throw new Error("condition never became true");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on("unhandledRejection", onUnhandled);
});
afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
});

describe("runEnrich", () => {
  test("batches settled out of order are written in input order, at most `concurrency` in flight, each line to its sink", async () => {
    const sizes = [4, 2, 5, 3, 1, 6];
    const input = sizes.map((size, n) => batchOf(n, size));
    const { enrich, calls } = controllableEnricher();
    const output = recordingSink();
    const bad = recordingSink();
    const pii = recordingSink();
    const counters = { out: 0, bad: 0 };
    const unwritten: number[] = [];
    const inFlightAtCall: number[] = [];
    const counting: BatchEnricher = (batch) => {
      inFlightAtCall.push(calls.length - output.texts.length + 1);
      return enrich(batch);
    };

    const running = runEnrich(source(input).batches, counting, output, bad, {
      concurrency: 3,
      counters,
      pii,
      onUnwrittenPii: (count) => unwritten.push(count),
    });

    // Three batches are handed out; nothing more is read until the oldest is written.
    await until(() => calls.length === 3);
    await settle();
    expect(calls).toHaveLength(3);
    // The newer two finish first: nothing may be written while batch 0 is still out.
    calls[2]!.resolve(resultFor(calls[2]!.batch));
    calls[1]!.resolve(resultFor(calls[1]!.batch));
    await settle();
    expect(output.texts).toEqual([]);
    calls[0]!.resolve(resultFor(calls[0]!.batch));
    await until(() => calls.length === 6);
    // The last three again out of order.
    calls[5]!.resolve(resultFor(calls[5]!.batch));
    calls[3]!.resolve(resultFor(calls[3]!.batch));
    await settle();
    calls[4]!.resolve(resultFor(calls[4]!.batch));
    await running;

    expect(calls.map((call) => call.batch)).toEqual(input);
    expect(Math.max(...inFlightAtCall)).toBeLessThanOrEqual(3);
    const results = input.map(resultFor);
    expect(output.texts).toEqual(results.map((result) => result.good));
    expect(output.counts).toEqual(sizes);
    expect(bad.texts).toEqual(results.map((result) => result.bad));
    expect(pii.texts).toEqual(results.map((result) => result.pii));
    const total = sizes.reduce((sum, size) => sum + size, 0);
    const flagged = results.reduce((sum, result) => sum + result.badCount, 0);
    expect(counters).toEqual({ out: total, bad: flagged });
    expect(pii.counts.reduce((sum, count) => sum + count, 0)).toBe(flagged);
    expect(unwritten).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  test("without a PII sink, onUnwrittenPii is told each batch's count and nothing else changes", async () => {
    const input = [batchOf(0, 4), batchOf(1, 1), batchOf(2, 7)];
    const output = recordingSink();
    const bad = recordingSink();
    const counters = { out: 0, bad: 0 };
    const unwritten: number[] = [];
    await runEnrich(source(input).batches, async (batch) => resultFor(batch), output, bad, {
      concurrency: 1,
      counters,
      onUnwrittenPii: (count) => unwritten.push(count),
    });
    const results = input.map(resultFor);
    expect(unwritten).toEqual(results.map((result) => result.piiCount));
    expect(output.texts).toEqual(results.map((result) => result.good));
    expect(bad.texts).toEqual(results.map((result) => result.bad));
    expect(counters).toEqual({ out: 12, bad: results.reduce((sum, result) => sum + result.badCount, 0) });
  });

  test("an empty part of a result is not written, and its count is not added", async () => {
    const output = recordingSink();
    const bad = recordingSink();
    const counters = { out: 0, bad: 0 };
    const unwritten: number[] = [];
    const onlyGood: EnrichedBatch = { good: "good:a\n", goodCount: 1, bad: "", badCount: 0, pii: "", piiCount: 0 };
    await runEnrich(source([batchOf(0, 1)]).batches, async () => onlyGood, output, bad, {
      concurrency: 2,
      counters,
      onUnwrittenPii: (count) => unwritten.push(count),
    });
    expect(output.texts).toEqual(["good:a\n"]);
    expect(bad.texts).toEqual([]);
    expect(unwritten).toEqual([]);
    expect(counters).toEqual({ out: 1, bad: 0 });
  });

  test("a batch that fails while an older one is still out makes runEnrich reject, with no unhandled rejection", async () => {
    const input = Array.from({ length: 6 }, (_, n) => batchOf(n, 2));
    const { enrich, calls } = controllableEnricher();
    const output = recordingSink();
    const bad = recordingSink();
    const { batches, closedEarly } = source(input);
    const running = runEnrich(batches, enrich, output, bad, { concurrency: 3 });
    const outcome = running.then(
      () => "resolved",
      (error: Error) => error.message,
    );

    await until(() => calls.length === 3);
    calls[1]!.reject(new Error("worker lost batch 1"));
    calls[2]!.resolve(resultFor(calls[2]!.batch));
    // Time for an unhandled rejection to be noticed before the oldest batch comes back.
    await settle();
    await settle();
    calls[0]!.resolve(resultFor(calls[0]!.batch));

    expect(await outcome).toBe("worker lost batch 1");
    // Batch 0 came before the failure and was written; nothing after it was.
    expect(output.texts).toEqual([resultFor(input[0]!).good]);
    // The loop stopped reading: the last batches were never asked for, and the input was closed.
    expect(calls.length).toBeLessThan(input.length);
    expect(closedEarly()).toBe(true);
    await settle();
    expect(unhandled).toEqual([]);
  });
});
