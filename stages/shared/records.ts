/**
 * What kind of record a JSON line is (enriched event, raw record, bad row, log) and when it happened,
 * per the record contracts. The sink dates its indices with this time; replay filters on it.
 */
import { badRowType } from "./bad-rows";
import { RAW_RECORD_SCHEMA } from "./raw-record";

export type RecordKind = "enriched" | "raw" | "bad" | "log" | "other";

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function recordKind(record: JsonObject): RecordKind {
  if (typeof record.event_id === "string" && "collector_tstamp" in record) return "enriched";
  if (record.schema === RAW_RECORD_SCHEMA && typeof record.id === "string") return "raw";
  if (badRowType(record) !== undefined || isBadRowShaped(record)) return "bad";
  if ("@timestamp" in record) return "log";
  return "other";
}

/** A self-describing bad row of a type this build does not list (newer Snowplow versions add types). */
function isBadRowShaped(record: JsonObject): boolean {
  return typeof record.schema === "string" && record.schema.startsWith("iglu:com.snowplowanalytics.snowplow.badrows/");
}

/** The record time: what `--since/--until` and date patterns in index names use. */
export function recordTime(record: JsonObject, kind: RecordKind = recordKind(record)): Date | null {
  let value: unknown;
  switch (kind) {
    case "enriched":
      value = record.collector_tstamp;
      break;
    case "raw":
      value = record.timestamp;
      break;
    case "bad": {
      const data = record.data;
      const failure = isJsonObject(data) ? data.failure : undefined;
      value = isJsonObject(failure) ? failure.timestamp : undefined;
      break;
    }
    default:
      value = record["@timestamp"];
  }
  if (typeof value !== "string" && typeof value !== "number") return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? null : time;
}
