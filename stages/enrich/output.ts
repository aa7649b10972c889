/**
 * The three written forms of an enriched event:
 * - the Analytics-SDK JSON shape (what `enrich` writes by default and `sink-good` indexes),
 * - the canonical 131-column TSV (`--format tsv`, what Snowplow's own loaders and SDKs read),
 * - the "partially enriched" object that schema_violations and enrichment_failures bad rows carry.
 */
import { FIELD_SPECS, type EnrichedEvent, type FieldKind, type SelfDescribing } from "./event";
import { UNSTRUCT_EVENT_SCHEMA } from "./self-describing";

/** Enrich re-emits entities with this envelope in the TSV (trackers send 1-0-0). */
export const ENRICHED_CONTEXTS_SCHEMA = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1";

type Fields = Record<string, unknown>;
const SPECS = FIELD_SPECS as readonly (readonly [keyof EnrichedEvent, FieldKind, number])[];

/** `yyyy-MM-dd HH:mm:ss.SSS` in UTC, Enrich's TSV timestamp. */
export function tsvTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 10) + " " + iso.slice(11, 23);
}

const IGLU_PARTS = /^iglu:([^/]+)\/([^/]+)\/[^/]+\/(\d+)-/;
const columnNames = new Map<string, string>();

/**
 * `iglu:com.acme/AddToCart/jsonschema/2-1-0` → `com_acme_add_to_cart_2` (Scala Analytics SDK rule: `.` and `-`
 * become `_`, camel case becomes snake case, then the model). Cached: a pipeline sees few schemas.
 */
export function shreddedName(schema: string): string {
  let name = columnNames.get(schema);
  if (name === undefined) {
    const match = IGLU_PARTS.exec(schema);
    if (!match) throw new Error(`not an Iglu URI: ${schema}`);
    const vendor = match[1]!.replace(/[.-]/g, "_").toLowerCase();
    const snake = match[2]!.replace(/[.-]/g, "_").replace(/([^A-Z_])([A-Z])/g, "$1_$2").toLowerCase();
    name = `${vendor}_${snake}_${match[3]}`;
    columnNames.set(schema, name);
  }
  return name;
}

function addContexts(target: Fields, contexts: readonly SelfDescribing[]): void {
  for (const entity of contexts) {
    const key = "contexts_" + shreddedName(entity.schema);
    const existing = target[key] as unknown[] | undefined;
    if (existing === undefined) target[key] = [entity.data];
    else existing.push(entity.data);
  }
}

/**
 * The Analytics-SDK ("lossy") JSON: every atomic column under its name (null when empty), timestamps as
 * ISO-8601, booleans as booleans, then `unstruct_event_<vendor>_<name>_<model>` with the event's data and
 * `contexts_<vendor>_<name>_<model>` arrays, derived entities after (and over) the tracker's, and
 * `geo_location` as "lat,lon" when both are known.
 */
export function toAnalyticsJson(event: EnrichedEvent): Fields {
  const out: Fields = {};
  for (const [name, kind] of SPECS) {
    if (kind === "contexts" || kind === "unstruct") continue;
    const value = event[name];
    out[name] = kind === "timestamp" && value !== null ? new Date(value as number).toISOString() : value;
  }
  if (event.geo_latitude !== null && event.geo_longitude !== null) {
    out.geo_location = `${event.geo_latitude},${event.geo_longitude}`;
  }
  if (event.unstruct_event !== null) {
    out["unstruct_event_" + shreddedName(event.unstruct_event.schema)] = event.unstruct_event.data;
  }
  addContexts(out, event.contexts);
  if (event.derived_contexts.length > 0) {
    const derived: Fields = {};
    addContexts(derived, event.derived_contexts);
    Object.assign(out, derived);
  }
  return out;
}

function contextsJson(contexts: readonly SelfDescribing[]): string | null {
  return contexts.length === 0 ? null : JSON.stringify({ schema: ENRICHED_CONTEXTS_SCHEMA, data: contexts });
}

function unstructJson(event: SelfDescribing | null): string | null {
  return event === null ? null : JSON.stringify({ schema: UNSTRUCT_EVENT_SCHEMA, data: event });
}

/** One column as TSV text; null → "" (strings were made TSV-safe when they came in). */
function tsvField(kind: FieldKind, value: unknown): string {
  if (value === null) return "";
  switch (kind) {
    case "timestamp":
      return tsvTimestamp(value as number);
    case "boolean":
      return value ? "1" : "0";
    case "contexts":
      return contextsJson(value as SelfDescribing[]) ?? "";
    case "unstruct":
      return unstructJson(value as SelfDescribing) ?? "";
    default:
      return String(value);
  }
}

/** The canonical enriched TSV line: 131 tab-separated columns, no newline. */
export function toTsv(event: EnrichedEvent): string {
  let line = tsvField(SPECS[0]![1], event[SPECS[0]![0]]);
  for (let index = 1; index < SPECS.length; index++) {
    const [name, kind] = SPECS[index]!;
    line += "\t" + tsvField(kind, event[name]);
  }
  return line;
}

/**
 * The enriched event as bad rows carry it (schema_violations / enrichment_failures `payload.enriched`):
 * integers and floats as numbers, booleans as 1/0, decimals, timestamps and the JSON columns as strings.
 */
export function toPartiallyEnriched(event: EnrichedEvent): Fields {
  const out: Fields = {};
  for (const [name, kind] of SPECS) {
    const value = event[name];
    if (value === null) out[name] = null;
    else if (kind === "integer" || kind === "float" || kind === "string") out[name] = value;
    else if (kind === "boolean") out[name] = value ? 1 : 0;
    else if (kind === "contexts") out[name] = contextsJson(value as SelfDescribing[]);
    else out[name] = tsvField(kind, value);
  }
  return out;
}
