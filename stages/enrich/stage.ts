/**
 * The enrich stage: raw records in, enriched events out (Analytics-SDK JSON, or the canonical TSV), every
 * failure to the bad-row sink. Output writes are awaited, so a slow reader slows the reading of input.
 */
import type { BadRow, BadRowSink, Processor } from "../shared/bad-rows";
import type { StageCounters } from "../shared/counters";
import { lineProblemBadRow, type InputRecord, type LineProblem } from "../shared/ndjson";
import type { Enricher } from "./enricher";
import type { EnrichedEvent } from "./event";
import { collectorPayloadFormatViolation, enrichedSizeViolation } from "./failures";
import { toAnalyticsJsonLine, toTsv } from "./output";

export type OutputFormat = "json" | "tsv";

export interface EnrichStageOptions {
  enricher: Enricher;
  format: OutputFormat;
  processor: Processor;
  /** An enriched line longer than this becomes a size_violation instead of going downstream. */
  maxOutputBytes: number;
  counters?: Pick<StageCounters, "out" | "bad">;
}

export interface LineSink {
  writeLine(line: string): Promise<void>;
}

export function serialise(format: OutputFormat): (event: EnrichedEvent) => string {
  return format === "tsv" ? toTsv : toAnalyticsJsonLine;
}

/** UTF-8 length without encoding when the answer is clear from the UTF-16 length (at most 3 bytes per unit). */
function exceeds(line: string, limit: number): number | null {
  if (line.length * 3 <= limit) return null;
  const bytes = Buffer.byteLength(line);
  return bytes > limit ? bytes : null;
}

export async function runEnrich(
  input: AsyncIterable<InputRecord>,
  output: LineSink,
  bad: BadRowSink,
  options: EnrichStageOptions,
): Promise<void> {
  const { enricher, processor, maxOutputBytes, counters } = options;
  const write = serialise(options.format);
  const writeBad = async (row: BadRow) => {
    if (counters) counters.bad++;
    await bad.write(row);
  };
  for await (const record of input) {
    for (const outcome of await enricher.enrichRecord(record.value, record.text)) {
      if ("bad" in outcome) {
        await writeBad(outcome.bad);
        continue;
      }
      const line = write(outcome.good);
      const bytes = exceeds(line, maxOutputBytes);
      if (bytes !== null) {
        await writeBad(enrichedSizeViolation(processor, line, bytes, maxOutputBytes, new Date()));
        continue;
      }
      await output.writeLine(line);
      if (counters) counters.out++;
    }
  }
}

/**
 * For enrich an input line that is not JSON (or not UTF-8) is a collector payload it cannot read:
 * collector_payload_format_violation, as Enrich reports an undecodable Thrift record. Over-long lines
 * stay size_violations.
 */
export function enrichLineProblemBadRow(problem: LineProblem, processor: Processor, maxLineBytes: number): BadRow {
  if (problem.kind === "oversized") return lineProblemBadRow(problem, processor, maxLineBytes);
  const now = new Date();
  if (problem.kind === "invalid_utf8") {
    return collectorPayloadFormatViolation(processor, { error: `line ${problem.number} is not valid UTF-8` }, problem.base64, now);
  }
  return collectorPayloadFormatViolation(processor, { error: `line ${problem.number} is not JSON: ${problem.error}` }, problem.text, now);
}
