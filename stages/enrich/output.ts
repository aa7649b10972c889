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

const DAY_MS = 86_400_000;
/** 9999-12-31T23:59:59.999Z: past it (and before 1970, or with a fraction) Date does the formatting. */
const LATEST_MS = 253402300799999;
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, "0"));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, "0"));
/** "yyyy-MM-ddT" by day number; events of a stream share few days, so this stays small. */
const dayPrefixes = new Map<number, string>();

/**
 * ISO-8601 in UTC with milliseconds, as Date#toISOString writes it. Every event carries five timestamps
 * and Date formatting was a visible share of the stage's time, so the date part is cached per day and
 * the time of day is written from table lookups.
 */
export function isoTimestamp(ms: number): string {
  if (!(ms >= 0 && ms <= LATEST_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= 1000) dayPrefixes.clear();
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return prefix + TWO_DIGITS[hours] + ":" + TWO_DIGITS[minutes] + ":" + TWO_DIGITS[seconds] + "." + THREE_DIGITS[millis] + "Z";
}

/** `yyyy-MM-dd HH:mm:ss.SSS` in UTC, Enrich's TSV timestamp. */
export function tsvTimestamp(ms: number): string {
  const iso = isoTimestamp(ms);
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

/**
 * The non-empty atomic columns as an object, compiled once into straight-line code (`e.app_id`,
 * `e.platform`, …): reading 128 columns through a variable key costs several times more than fixed
 * property reads. Timestamps become ISO-8601 strings here; JSON.stringify does the rest in one pass.
 */
const atomicObject = new Function(
  "e",
  "iso",
  "const o = {};\n" +
    SPECS.filter(([, kind]) => kind !== "contexts" && kind !== "unstruct")
      .map(([name, kind]) => `if (e.${name} !== null) o.${name} = ${kind === "timestamp" ? `iso(e.${name})` : `e.${name}`};`)
      .join("\n") +
    "\nreturn o;",
) as (event: EnrichedEvent, iso: (ms: number) => string) => Fields;

/** Adds each entity's data to the array of its shredded column (`contexts_<vendor>_<name>_<model>`). */
function groupEntities(entities: readonly SelfDescribing[], into: Fields): void {
  for (const entity of entities) {
    const key = "contexts_" + shreddedName(entity.schema);
    const group = into[key] as unknown[] | undefined;
    if (group === undefined) into[key] = [entity.data];
    else group.push(entity.data);
  }
}

/**
 * The Analytics-SDK ("lossy") JSON line: every non-empty atomic column under its name, timestamps as
 * ISO-8601, booleans as booleans, then `unstruct_event_<vendor>_<name>_<model>` with the event's data
 * and `contexts_<vendor>_<name>_<model>` arrays (derived entities replacing tracker ones of the same
 * column, as the SDKs do), and `geo_location` as "lat,lon" when both are known.
 *
 * Empty (null) columns are left out, as the Snowplow JavaScript and Python Analytics SDKs do when they
 * turn the TSV into JSON: most of the 128 columns are empty on a typical event, and writing them cost
 * half of the output. The TSV (`toTsv`) keeps all 131 columns.
 *
 * One object and one JSON.stringify: concatenating the members instead built a rope of ~200 pieces
 * per event whose flattening, when lines were joined for writing, cost more than the stringify.
 */
export function toAnalyticsJsonLine(event: EnrichedEvent): string {
  const json = atomicObject(event, isoTimestamp);
  if (event.geo_latitude !== null && event.geo_longitude !== null) json.geo_location = event.geo_latitude + "," + event.geo_longitude;
  if (event.unstruct_event !== null) json["unstruct_event_" + shreddedName(event.unstruct_event.schema)] = event.unstruct_event.data;
  groupEntities(event.contexts, json);
  if (event.derived_contexts.length > 0) {
    // A derived group replaces a tracker group of the same column, keeping that column's place.
    const derived: Fields = {};
    groupEntities(event.derived_contexts, derived);
    Object.assign(json, derived);
  }
  return JSON.stringify(json);
}

/** The same as an object, for code that wants to look at it rather than write it. */
export function toAnalyticsJson(event: EnrichedEvent): Fields {
  return JSON.parse(toAnalyticsJsonLine(event));
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

/** The canonical enriched TSV line: 131 tab-separated columns, no newline (compiled like atomicJson). */
export const toTsv = new Function(
  "field",
  "e",
  "return " +
    SPECS.map(([name, kind]) => {
      const value = `e.${name}`;
      if (kind === "string") return `(${value} ?? "")`;
      if (kind === "integer" || kind === "decimal" || kind === "float") return `(${value} === null ? "" : String(${value}))`;
      return `field(${JSON.stringify(kind)}, ${value})`;
    }).join(' + "\\t" + ') +
    ";",
).bind(null, tsvField) as (event: EnrichedEvent) => string;

/** One column as bad rows carry it (see toPartiallyEnriched); `value` is not null. */
function partialField(kind: FieldKind, value: unknown): unknown {
  if (kind === "boolean") return value ? 1 : 0;
  if (kind === "contexts") return contextsJson(value as SelfDescribing[]);
  return tsvField(kind, value);
}

/**
 * The enriched event as bad rows carry it (schema_violations / enrichment_failures `payload.enriched`):
 * integers and floats as numbers, booleans as 1/0, decimals, timestamps and the JSON columns as strings.
 * Compiled into one object literal like atomicJson: filling 131 members through a variable key put the
 * object in dictionary mode and cost more than the rest of a bad row together.
 */
export const toPartiallyEnriched = new Function(
  "field",
  "e",
  "return {\n" +
    SPECS.map(([name, kind]) => {
      const value = `e.${name}`;
      const written = kind === "integer" || kind === "float" || kind === "string" ? value : `field(${JSON.stringify(kind)}, ${value})`;
      return `  ${name}: ${value} === null ? null : ${written},`;
    }).join("\n") +
    "\n};",
).bind(null, partialField) as (event: EnrichedEvent) => Fields;

export type OutputFormat = "json" | "tsv";

export function serialise(format: OutputFormat): (event: EnrichedEvent) => string {
  return format === "tsv" ? toTsv : toAnalyticsJsonLine;
}
