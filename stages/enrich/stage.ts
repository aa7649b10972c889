/**
 * The enrich stage: raw records in, enriched events out (Analytics-SDK JSON, or the canonical TSV), every
 * failure to the bad-row sink, events enrichments emit to the PII sink.
 */
import type { StageCounters } from "../shared/counters";
import type { LineBatch } from "../shared/ndjson";
import type { BatchEnricher, EnrichedBatch } from "./batch";

export interface LineSink {
  /** Takes `count` lines already joined, each ending in "\n"; a returned promise is waited for (backpressure). */
  writeLines(text: string, count: number): Promise<void> | void;
}

export interface RunEnrichOptions {
  /** Batches in flight before the oldest one's result must be written: 1 in-thread, more with workers. */
  concurrency: number;
  counters?: Pick<StageCounters, "out" | "bad">;
  /** Where emitted events (PII enrichment's pii_transformation) go; without it they are counted as unwritten. */
  pii?: LineSink;
  /** Told how many emitted events had nowhere to go, batch by batch. */
  onUnwrittenPii?: (count: number) => void;
  /** Told, batch by batch in input order, that every output of input lines up to this one has been written. */
  onWritten?: (line: number) => void;
}

/**
 * The enrich stage loop: each batch of input lines goes to `enrich` (in this thread or a worker's) as soon
 * as it is read, and results are written strictly in input order. At most `concurrency` batches are in
 * flight, and each write is awaited, so a slow reader downstream slows the reading of input.
 */
export async function runEnrich(
  batches: AsyncIterable<LineBatch>,
  enrich: BatchEnricher,
  output: LineSink,
  bad: LineSink,
  options: RunEnrichOptions,
): Promise<void> {
  const { counters } = options;
  const write = async (result: EnrichedBatch) => {
    if (result.badCount > 0) {
      await bad.writeLines(result.bad, result.badCount);
      if (counters) counters.bad += result.badCount;
    }
    if (result.piiCount > 0) {
      if (options.pii) await options.pii.writeLines(result.pii, result.piiCount);
      else options.onUnwrittenPii?.(result.piiCount);
    }
    if (result.goodCount > 0) {
      await output.writeLines(result.good, result.goodCount);
      if (counters) counters.out += result.goodCount;
    }
  };
  const pending: { result: Promise<EnrichedBatch>; lastLine: number }[] = [];
  const writeOldest = async () => {
    const oldest = pending.shift()!;
    await write(await oldest.result);
    options.onWritten?.(oldest.lastLine);
  };
  for await (const batch of batches) {
    const result = enrich(batch);
    // A failure is reported when its turn to be written comes; until then it must not count as unhandled.
    result.catch(() => {});
    pending.push({ result, lastLine: batch.numbers[batch.numbers.length - 1]! });
    if (pending.length >= options.concurrency) await writeOldest();
  }
  while (pending.length > 0) await writeOldest();
}
