/**
 * One batch of input lines → its enriched lines and bad-row lines, as text ready to write. This is the
 * unit of work enrich hands to a worker thread (or runs in its own thread with --workers 0): plain data in,
 * plain strings out, so it crosses a thread boundary with one copy and no objects to rebuild.
 */
import type { BadRow, Processor } from "../shared/bad-rows";
import type { LineBatch } from "../shared/ndjson";
import type { Enricher, EnrichOutcome } from "./enricher";
import { enrichedSizeViolation, enrichLineProblemBadRow, unprocessedLine } from "./failures";
import { serialise, type OutputFormat } from "./output";

export interface EnrichedBatch {
  /** Enriched events, one per line, each ending in "\n". */
  good: string;
  goodCount: number;
  /** Bad rows as JSON lines, each ending in "\n". */
  bad: string;
  badCount: number;
  /** Events the PII enrichment emits (pii_transformation), enriched-event lines ending in "\n". */
  pii: string;
  piiCount: number;
}

export interface BatchEnricherOptions {
  enricher: Enricher;
  format: OutputFormat;
  processor: Processor;
  /** An enriched line longer than this becomes a size_violation instead of going downstream. */
  maxOutputBytes: number;
  /** The input's line limit, named in the bad row of a line that is not JSON. */
  maxLineBytes: number;
}

export type BatchEnricher = (batch: LineBatch) => Promise<EnrichedBatch>;

/** UTF-8 length without encoding when the answer is clear from the UTF-16 length (at most 3 bytes per unit). */
function exceeds(line: string, limit: number): number | null {
  if (line.length * 3 <= limit) return null;
  const bytes = Buffer.byteLength(line);
  return bytes > limit ? bytes : null;
}

export function createBatchEnricher(options: BatchEnricherOptions): BatchEnricher {
  const { enricher, processor, maxOutputBytes, maxLineBytes } = options;
  const write = serialise(options.format);
  return async ({ texts, numbers }) => {
    // Lines are gathered in arrays and joined once: appending to one string builds a deep rope that
    // costs more to flatten, when it is written or handed to another thread, than the join does.
    const good: string[] = [];
    const bad: string[] = [];
    const pii: string[] = [];
    const addBad = (row: BadRow) => void bad.push(JSON.stringify(row), "\n");
    for (let index = 0; index < texts.length; index++) {
      const text = texts[index]!;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        const problem = { kind: "invalid_json", number: numbers[index]!, text, error: (error as Error).message } as const;
        addBad(enrichLineProblemBadRow(problem, processor, maxLineBytes));
        continue;
      }
      // Whatever one line or one event brings, it ends as output or a bad row: nothing it throws may
      // fail the batch, whose other lines were read and must not be lost.
      let outcomes: EnrichOutcome[];
      try {
        outcomes = await enricher.enrichRecord(value, text);
      } catch (error) {
        addBad(unprocessedLine(processor, `line ${numbers[index]} could not be enriched`, error, text, new Date()));
        continue;
      }
      for (const outcome of outcomes) {
        if ("bad" in outcome) {
          addBad(outcome.bad);
          continue;
        }
        let line: string;
        let emitted: string[];
        try {
          line = write(outcome.good);
          emitted = outcome.emitted?.map(write) ?? [];
        } catch (error) {
          const what = `event ${outcome.good.event_id} of line ${numbers[index]} could not be written`;
          addBad(unprocessedLine(processor, what, error, text, new Date()));
          continue;
        }
        const bytes = exceeds(line, maxOutputBytes);
        if (bytes !== null) {
          addBad(enrichedSizeViolation(processor, line, bytes, maxOutputBytes, new Date()));
          continue;
        }
        good.push(line, "\n");
        for (const event of emitted) pii.push(event, "\n");
      }
    }
    return {
      good: good.join(""),
      goodCount: good.length / 2,
      bad: bad.join(""),
      badCount: bad.length / 2,
      pii: pii.join(""),
      piiCount: pii.length / 2,
    };
  };
}
