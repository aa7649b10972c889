/**
 * The raw record `collect` writes and `enrich` reads: the Snowplow CollectorPayload fields as JSON (schema
 * `schemas/dev.telemetry/raw_record/jsonschema/1-0-0`). It is the contract between the two stages, so it
 * lives in neither.
 */
export const RAW_RECORD_SCHEMA = "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0";

export interface RawRecord {
  schema: string;
  /** Stable id of the request, made at receipt; seeds the ids of events that carry none. */
  id: string;
  /** Milliseconds since the epoch at receipt; becomes collector_tstamp. */
  timestamp: number;
  ipAddress: string;
  encoding: string;
  collector: string;
  userAgent?: string;
  refererUri?: string;
  path: string;
  querystring: string;
  body?: string;
  headers: string[];
  contentType?: string;
  hostname?: string;
  networkUserId?: string;
}

/** Why a line is not a raw record, in the shape of a collector_payload_format_violation message. */
export interface RawRecordProblem {
  payloadField: string;
  value: string | null;
  expectation: string;
}

const OPTIONAL_STRINGS = ["userAgent", "refererUri", "body", "contentType", "hostname", "networkUserId"] as const;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function problem(payloadField: string, value: unknown, expectation: string): RawRecordProblem {
  const shown = value === undefined ? null : typeof value === "string" ? value : JSON.stringify(value);
  return { payloadField, value: shown, expectation };
}

/**
 * The value as a RawRecord, or the first field that makes it not one. Lenient where the collector
 * may leave a field out (querystring, headers); strict where Enrich is (schema key, nuid a UUID).
 */
export function readRawRecord(value: unknown): RawRecord | RawRecordProblem {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return problem("record", value, "a JSON object with the collector payload fields");
  }
  const record = value as Record<string, unknown>;
  if (record.schema !== RAW_RECORD_SCHEMA) return problem("schema", record.schema, `the schema key ${RAW_RECORD_SCHEMA}`);
  if (record.id !== undefined && typeof record.id !== "string") return problem("id", record.id, "a string");
  if (typeof record.timestamp !== "number" || !Number.isFinite(record.timestamp)) {
    return problem("timestamp", record.timestamp, "milliseconds since the epoch");
  }
  for (const field of ["ipAddress", "encoding", "collector", "path"] as const) {
    if (typeof record[field] !== "string") return problem(field, record[field], "a string");
  }
  if (!/^utf-?8$/i.test(record.encoding as string)) return problem("encoding", record.encoding, "UTF-8");
  if (record.querystring === undefined || record.querystring === null) record.querystring = "";
  else if (typeof record.querystring !== "string") return problem("querystring", record.querystring, "a string");
  if (record.headers === undefined || record.headers === null) record.headers = [];
  else if (!Array.isArray(record.headers) || !record.headers.every((header) => typeof header === "string")) {
    return problem("headers", record.headers, "an array of strings");
  }
  for (const field of OPTIONAL_STRINGS) {
    if (record[field] === null) delete record[field];
    else if (record[field] !== undefined && typeof record[field] !== "string") return problem(field, record[field], "a string");
  }
  if (record.networkUserId !== undefined && !UUID.test(record.networkUserId as string)) {
    return problem("networkUserId", record.networkUserId, "a UUID");
  }
  return record as unknown as RawRecord;
}

export function isRawRecordProblem(value: RawRecord | RawRecordProblem): value is RawRecordProblem {
  return (value as RawRecordProblem).payloadField !== undefined;
}
