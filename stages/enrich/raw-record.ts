/**
 * The raw record `collect` writes and `enrich` reads: the Snowplow CollectorPayload fields as JSON
 * (briefs/contracts.md; schema `schemas/dev.telemetry/raw_record/jsonschema/1-0-0`).
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
