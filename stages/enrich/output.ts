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

/** Entities grouped by their shredded column, tracker entities first, derived ones replacing a clashing group. */
function shreddedContexts(event: EnrichedEvent): Map<string, unknown[]> | null {
  if (event.contexts.length === 0 && event.derived_contexts.length === 0) return null;
  const groups = new Map<string, unknown[]>();
  const add = (entities: readonly SelfDescribing[], into: Map<string, unknown[]>) => {
    for (const entity of entities) {
      const key = "contexts_" + shreddedName(entity.schema);
      const group = into.get(key);
      if (group === undefined) into.set(key, [entity.data]);
      else group.push(entity.data);
    }
  };
  add(event.contexts, groups);
  if (event.derived_contexts.length > 0) {
    const derived = new Map<string, unknown[]>();
    add(event.derived_contexts, derived);
    for (const [key, group] of derived) groups.set(key, group);
  }
  return groups;
}

/**
 * The non-empty atomic columns as JSON members, each with a leading comma, compiled once into
 * straight-line code (`e.app_id`, `e.platform`, …). This is the stage's hottest path: reading 128
 * columns through a variable key, or building an object for JSON.stringify, costs several times more
 * than fixed property reads.
 */
const atomicJson = new Function(
  "e",
  "iso",
  "quote",
  "let j = '';\n" +
    SPECS.filter(([, kind]) => kind !== "contexts" && kind !== "unstruct")
      .map(([name, kind]) => {
        const key = JSON.stringify("," + JSON.stringify(name) + ":");
        const value = `e.${name}`;
        const text = kind === "string" ? `quote(${value})` : kind === "timestamp" ? `'"' + iso(${value}) + '"'` : `String(${value})`;
        return `if (${value} !== null) j += ${key} + ${text};`;
      })
      .join("\n") +
    "\nreturn j;",
) as (event: EnrichedEvent, iso: (ms: number) => string, quote: (text: string) => string) => string;

/** What JSON.stringify would escape in a string: quote, backslash, control characters, lone surrogates. */
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as JSON; most column values need no escaping, and a regex test is cheaper than JSON.stringify. */
function quote(text: string): string {
  return NEEDS_ESCAPING.test(text) ? JSON.stringify(text) : '"' + text + '"';
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
 */
export function toAnalyticsJsonLine(event: EnrichedEvent): string {
  let json = atomicJson(event, isoTimestamp, quote);
  if (event.geo_latitude !== null && event.geo_longitude !== null) {
    json += ',"geo_location":"' + event.geo_latitude + "," + event.geo_longitude + '"';
  }
  if (event.unstruct_event !== null) {
    json += ',"unstruct_event_' + shreddedName(event.unstruct_event.schema) + '":' + JSON.stringify(event.unstruct_event.data);
  }
  const contexts = shreddedContexts(event);
  if (contexts !== null) for (const [key, group] of contexts) json += ',"' + key + '":' + JSON.stringify(group);
  return "{" + json.slice(1) + "}";
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
