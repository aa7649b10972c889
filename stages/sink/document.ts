/**
 * What a record becomes in a store: its kind, its stable id, its time, the index it belongs in.
 *
 * Ids follow the record contracts so that retries and replays overwrite instead of adding:
 * enriched event → `event_id`, raw record → `id`, anything else → a hash of its content. A bad row's
 * hash leaves out `data.failure.timestamp`, which is the moment of failing, not part of what failed:
 * the same payload failing the same way on a replay is the same bad row. A log record's content includes
 * logs-listen's receipt stamp (`event.created`, `event.sequence`), so identical lines stay apart.
 */
import { createHash } from "node:crypto";
import type { InputRecord } from "../shared/ndjson";
import { isJsonObject, recordKind, recordTime, type JsonObject, type RecordKind } from "../shared/records";

export function documentId(record: JsonObject, kind: RecordKind = recordKind(record)): string {
  if (kind === "enriched") return record.event_id as string;
  if (kind === "raw") return record.id as string;
  return contentHash(kind === "bad" ? withoutFailureTimestamp(record) : record);
}

function withoutFailureTimestamp(row: JsonObject): JsonObject {
  const data = row.data;
  if (!isJsonObject(data) || !isJsonObject(data.failure) || !("timestamp" in data.failure)) return row;
  const { timestamp: _timestamp, ...failure } = data.failure;
  return { ...row, data: { ...data, failure } };
}

/** SHA-256 of the record as compact JSON, so whitespace added by `jq` or a pretty-printer does not matter. */
function contentHash(record: JsonObject): string {
  return createHash("sha256").update(JSON.stringify(record)).digest("base64url");
}

/**
 * An index name, possibly with a date pattern filled from the record time (UTC): `%Y`, `%m`, `%d`, `%H`,
 * and `%%` for a percent sign. `logs-%Y.%m.%d` → `logs-2025.11.27`.
 */
export class IndexPattern {
  readonly hasDate: boolean;

  constructor(readonly pattern: string) {
    const unknown = /%[^YmdH%]/.exec(pattern);
    if (unknown) throw new Error(`index pattern "${pattern}" has ${unknown[0]}; only %Y %m %d %H and %% are filled in`);
    this.hasDate = /%[YmdH]/.test(pattern);
  }

  /** The concrete name for a record made at `time` (now when the record has none). */
  nameFor(time: Date | null): string {
    if (!this.hasDate) return this.pattern;
    const at = time ?? new Date();
    const two = (n: number) => String(n).padStart(2, "0");
    return this.pattern.replace(/%([YmdH%])/g, (_, code: string) => {
      switch (code) {
        case "Y":
          return String(at.getUTCFullYear());
        case "m":
          return two(at.getUTCMonth() + 1);
        case "d":
          return two(at.getUTCDate());
        case "H":
          return two(at.getUTCHours());
        default:
          return "%";
      }
    });
  }

  /** The wildcard an index template matches every filled-in name with: `logs-%Y.%m.%d` → `logs-*`. */
  get wildcard(): string {
    return this.pattern.replace(/%[YmdH]([^%]*%[YmdH])*/g, "*").replace(/%%/g, "%");
  }

  /** The family name (what the pattern is without its date): `logs-%Y.%m.%d` → `logs`; a SQLite table name. */
  get family(): string {
    return this.pattern
      .replace(/%[YmdH]/g, "")
      .replace(/%%/g, "%")
      .replace(/[^A-Za-z0-9_]+$/, "")
      .replace(/^[^A-Za-z0-9_]+/, "");
  }
}

/** Where records go when no `--index` is given: each kind to its own family, as `make up` lays them out. */
export const DEFAULT_INDEX_BY_KIND: Readonly<Record<RecordKind, string>> = {
  enriched: "good",
  bad: "bad",
  log: "logs-%Y.%m.%d",
  raw: "raw",
  other: "other",
};

/** One record ready for a store. `source` is the JSON text stored; usually the input line itself. */
export interface SinkDocument {
  id: string;
  index: string;
  family: string;
  time: Date | null;
  source: string;
  kind: RecordKind;
  /** Where it came from, for bad rows that must carry the original (not the parsed value: memory). */
  record: Pick<InputRecord, "line" | "text">;
}

export type Routing = { fixed: IndexPattern } | { byKind: Readonly<Record<RecordKind, IndexPattern>> };

export function routeByKind(): Routing {
  const byKind = Object.fromEntries(
    Object.entries(DEFAULT_INDEX_BY_KIND).map(([kind, pattern]) => [kind, new IndexPattern(pattern)]),
  ) as Record<RecordKind, IndexPattern>;
  return { byKind };
}

/** Builds the document for a record, or says in one sentence why it cannot be stored. */
export function toDocument(record: InputRecord, routing: Routing): SinkDocument | { problem: string } {
  const value = record.value;
  if (!isJsonObject(value)) return { problem: `line ${record.line}: a stored record must be a JSON object` };
  const kind = recordKind(value);
  const time = recordTime(value, kind);
  const pattern = "fixed" in routing ? routing.fixed : routing.byKind[kind];
  const source = kind === "enriched" ? withGeoLocation(value, record.text) : record.text;
  return {
    id: documentId(value, kind),
    index: pattern.nameFor(time),
    family: pattern.family,
    time,
    source,
    kind,
    record: { line: record.line, text: record.text },
  };
}

/**
 * Adds `geo_location` ("lat,lon", a geo_point) to an enriched event that has both coordinates, the field
 * Snowplow's Elasticsearch loader adds so maps work; other records are stored as they came.
 */
function withGeoLocation(event: JsonObject, text: string): string {
  const { geo_latitude: lat, geo_longitude: lon } = event;
  if (typeof lat !== "number" || typeof lon !== "number" || "geo_location" in event) return text;
  // The line is one JSON object, so the field can go in before its closing brace: no re-serialising.
  const close = text.lastIndexOf("}");
  return `${text.slice(0, close)},"geo_location":"${lat},${lon}"}`;
}
