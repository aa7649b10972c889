/**
 * The bad rows enrich writes, with the payload each type carries (snowplow-pipeline.md §4):
 * - collector_payload_format_violation: the input line itself (base64 when not UTF-8), as a plain string:
 *   Snowplow's RawPayload;
 * - adapter_failures / tracker_protocol_violations: the request as collector-payload JSON;
 * - schema_violations / enrichment_failures: the partially enriched event and the raw event it came from;
 * - size_violation: the head of an enriched event too big to pass on, a plain string as well.
 */
import { makeBadRow, type BadRow, type Processor } from "../shared/bad-rows";
import { lineProblemBadRow, type LineProblem } from "../shared/ndjson";
import type { Api } from "./adapters";
import type { AdapterMessage } from "./adapters/types";
import type { EnrichedEvent } from "./event";
import type { FieldFailure } from "./field-mapping";
import { toPartiallyEnriched } from "./output";
import { toNameValues, type NameValue, type Parameters } from "./querystring";
import type { RawRecord } from "../shared/raw-record";
import type { SchemaViolationMessage } from "./self-describing";

/** The schema atomic-field problems are reported against. */
export const ATOMIC_SCHEMA = "iglu:com.snowplowanalytics.snowplow/atomic/jsonschema/1-0-0";
/** Our loader name in bad rows: raw records arrive as NDJSON, not Thrift. */
export const LOADER = "ndjson";

export type FormatMessage = { payloadField: string; value: string | null; expectation: string } | { error: string };

export function collectorPayloadFormatViolation(processor: Processor, message: FormatMessage, line: string, now: Date): BadRow {
  return makeBadRow(
    "collector_payload_format_violation",
    processor,
    { timestamp: now.toISOString(), loader: LOADER, message },
    line,
  );
}

/** A request that no adapter could turn into events (or that broke the tracker protocol). */
export function requestFailure(
  type: "adapter_failures" | "tracker_protocol_violations",
  processor: Processor,
  api: Api,
  messages: AdapterMessage[],
  raw: RawRecord,
  querystring: NameValue[],
  now: Date,
): BadRow {
  return makeBadRow(
    type,
    processor,
    { timestamp: now.toISOString(), vendor: api.vendor, version: api.version, messages },
    {
      vendor: api.vendor,
      version: api.version,
      querystring,
      contentType: raw.contentType ?? null,
      body: raw.body ?? null,
      collector: raw.collector,
      ...requestFields(raw),
      networkUserId: raw.networkUserId ?? null,
    },
  );
}

/** The request fields both payload shapes carry, in the order the bad-row schemas list them. */
function requestFields(raw: RawRecord) {
  return {
    encoding: raw.encoding,
    hostname: raw.hostname ?? null,
    timestamp: new Date(raw.timestamp).toISOString(),
    ipAddress: raw.ipAddress,
    useragent: raw.userAgent ?? null,
    refererUri: raw.refererUri ?? null,
    headers: raw.headers,
  };
}

/** The event as the adapter produced it, for per-event bad rows. */
function rawEventPayload(api: Api, parameters: Parameters, raw: RawRecord) {
  return {
    vendor: api.vendor,
    version: api.version,
    parameters: toNameValues(parameters),
    contentType: raw.contentType ?? null,
    loaderName: LOADER,
    ...requestFields(raw),
    userId: raw.networkUserId ?? null,
  };
}

/** The parameters that could not be read into atomic columns, as one Iglu validation error on `atomic`. */
export function atomicFieldMessage(failures: readonly FieldFailure[]): SchemaViolationMessage {
  return {
    schemaKey: ATOMIC_SCHEMA,
    error: {
      error: "ValidationError",
      dataReports: failures.map(({ field, parameter, value, expectation }) => ({
        message: `${parameter} "${value}" cannot be read into ${field}: expected ${expectation}`,
        path: field,
        keyword: parameter,
        targets: [value],
      })),
    },
  };
}

/** Columns longer than their limit (Enrich's atomicFieldsLimits), as one Iglu validation error on `atomic`. */
export function fieldLengthMessage(fields: readonly { field: string; limit: number; value: string }[]): SchemaViolationMessage {
  return {
    schemaKey: ATOMIC_SCHEMA,
    error: {
      error: "ValidationError",
      dataReports: fields.map(({ field, limit, value }) => ({
        message: `Field ${field} is longer than maximum allowed size ${limit} (${value.length} characters)`,
        path: field,
        keyword: "maxLength",
        targets: [String(limit)],
      })),
    },
  };
}

export interface EventSource {
  api: Api;
  parameters: Parameters;
  raw: RawRecord;
}

export function schemaViolations(
  processor: Processor,
  messages: SchemaViolationMessage[],
  event: EnrichedEvent,
  source: EventSource,
  now: Date,
): BadRow {
  return makeBadRow(
    "schema_violations",
    processor,
    { timestamp: now.toISOString(), messages },
    { enriched: toPartiallyEnriched(event), raw: rawEventPayload(source.api, source.parameters, source.raw) },
  );
}

/** An enrichment failure message: which enrichment (null for Enrich's own steps) and what went wrong. */
export interface EnrichmentFailureMessage {
  enrichment: { schemaKey: string; identifier: string } | null;
  message: { error: string } | { field: string; value: string | null; expectation: string } | { schemaKey: string; error: string };
}

export function enrichmentFailures(
  processor: Processor,
  messages: EnrichmentFailureMessage[],
  event: EnrichedEvent,
  source: EventSource,
  now: Date,
): BadRow {
  return makeBadRow(
    "enrichment_failures",
    processor,
    { timestamp: now.toISOString(), messages },
    { enriched: toPartiallyEnriched(event), raw: rawEventPayload(source.api, source.parameters, source.raw) },
  );
}

/** An enriched event too big for the next stage: its head is kept so a person can tell which it was. */
export function enrichedSizeViolation(processor: Processor, line: string, bytes: number, limit: number, now: Date): BadRow {
  return makeBadRow(
    "size_violation",
    processor,
    {
      timestamp: now.toISOString(),
      maximumAllowedSizeBytes: limit,
      actualSizeBytes: bytes,
      expectation: `enriched event of ${bytes} bytes is larger than the ${limit}-byte limit`,
    },
    line.slice(0, Math.floor(limit / 10)),
  );
}

/**
 * A line enrich took in but could not turn into output for a reason no other bad row names (an event no
 * date can format, a fault of ours): generic_error carrying the input line, so it can be replayed.
 */
export function unprocessedLine(processor: Processor, what: string, error: unknown, line: string, now: Date): BadRow {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return makeBadRow("generic_error", processor, { timestamp: now.toISOString(), errors: [`${what}: ${reason}`] }, line);
}

/**
 * For enrich an input line that is not JSON (or not UTF-8) is a collector payload it cannot read:
 * collector_payload_format_violation, as Enrich reports an undecodable Thrift record. Over-long lines
 * stay size_violations, and a line still arriving when enrich stopped is no payload at all but the
 * shared generic_error that says so.
 */
export function enrichLineProblemBadRow(problem: LineProblem, processor: Processor, maxLineBytes: number): BadRow {
  if (problem.kind === "oversized" || problem.kind === "unfinished") return lineProblemBadRow(problem, processor, maxLineBytes);
  const now = new Date();
  if (problem.kind === "invalid_utf8") {
    return collectorPayloadFormatViolation(processor, { error: `line ${problem.number} is not valid UTF-8` }, problem.base64, now);
  }
  return collectorPayloadFormatViolation(processor, { error: `line ${problem.number} is not JSON: ${problem.error}` }, problem.text, now);
}
