/**
 * The fields a search, a sort or a column can name, per family, and how each store reaches them: an
 * indexed SQLite column or a JSON path, an Elasticsearch field of a known type. A name outside these
 * lists is still allowed when it looks like a field path (letters, digits, `_ @ . -`), and is then read
 * from the document; anything else is refused, so no text from the search box ever becomes SQL.
 */
import { FIELD_SPECS } from "../enrich/event";

export type Family = "good" | "bad" | "logs";
export const FAMILIES: readonly Family[] = ["good", "bad", "logs"];

/** keyword: exact values; text: prose searched by phrase; number, date, boolean: compared as such. */
export type FieldType = "keyword" | "text" | "number" | "date" | "boolean";

export interface Field {
  /** As typed in the search box and as the document's dotted path. */
  name: string;
  type: FieldType;
  /** The indexed SQLite column holding it, when there is one. */
  column?: string;
  /** The Elasticsearch field for exact matches, sorting and aggregations (a text field's `.keyword`). */
  esExact: string;
  /** The Elasticsearch field for phrase search on text fields. */
  esText?: string;
  /** Not a listed field: a path into the document whose type nobody declared (context data, MDC entries). */
  undeclared?: true;
}

/** Names that are fine as field paths; everything a search box can name must match. */
const FIELD_PATH = /^[A-Za-z0-9_@][A-Za-z0-9_@.\-]{0,199}$/;

/** Good-event fields people read as prose: text in Elasticsearch with an exact `.keyword` copy (templates.ts). */
const PROSE = new Set(["page_title", "useragent", "se_label"]);
const GOOD_COLUMNS = new Set(["app_id", "platform", "event", "event_name", "page_url"]);

function goodFields(): Map<string, Field> {
  const fields = new Map<string, Field>();
  // iglu:<event_vendor>/<event_name>/<event_format>/<event_version>: a column in SQLite, four fields in Elasticsearch.
  fields.set("event_schema", { name: "event_schema", type: "keyword", column: "event_schema", esExact: "event_schema" });
  for (const [name, kind] of FIELD_SPECS) {
    if (kind === "contexts" || kind === "unstruct") continue;
    const type: FieldType =
      kind === "timestamp" ? "date" : kind === "boolean" ? "boolean" : kind === "string" ? "keyword" : "number";
    fields.set(name, {
      name,
      type,
      column: name === "collector_tstamp" ? "ts" : GOOD_COLUMNS.has(name) ? name : undefined,
      esExact: PROSE.has(name) ? `${name}.keyword` : name,
      esText: PROSE.has(name) ? name : undefined,
    });
  }
  return fields;
}

function listed(fields: Field[]): Map<string, Field> {
  return new Map(fields.map((field) => [field.name, field]));
}

const FIELDS: Readonly<Record<Family, Map<string, Field>>> = {
  good: goodFields(),
  bad: listed([
    // `type` is the bad-row type named in the schema; Elasticsearch reaches it through `schema`.
    { name: "type", type: "keyword", column: "bad_type", esExact: "schema" },
    { name: "schema", type: "keyword", esExact: "schema" },
    { name: "data.failure.timestamp", type: "date", column: "ts", esExact: "data.failure.timestamp" },
    { name: "data.processor.artifact", type: "keyword", esExact: "data.processor.artifact" },
  ]),
  logs: listed([
    { name: "@timestamp", type: "date", column: "ts", esExact: "@timestamp" },
    { name: "level", type: "keyword", column: "level", esExact: "level" },
    { name: "logger_name", type: "keyword", column: "logger_name", esExact: "logger_name" },
    { name: "exception.class", type: "keyword", column: "exception_class", esExact: "exception.class" },
    { name: "message", type: "text", esExact: "message", esText: "message" },
    { name: "stack_trace", type: "text", esExact: "stack_trace", esText: "stack_trace" },
    { name: "exception.message", type: "text", esExact: "exception.message", esText: "exception.message" },
    { name: "level_value", type: "number", esExact: "level_value" },
    { name: "source.port", type: "number", esExact: "source.port" },
  ]),
};

/** The field each family's records are dated by (what the time range and the default sort use). */
export const TIME_FIELD: Readonly<Record<Family, string>> = {
  good: "collector_tstamp",
  bad: "data.failure.timestamp",
  logs: "@timestamp",
};

export class UnknownFieldError extends Error {}

/** The field a name stands for; unlisted names that look like paths are keywords read from the document. */
export function fieldFor(family: Family, name: string): Field {
  const known = FIELDS[family].get(name);
  if (known) return known;
  if (!FIELD_PATH.test(name) || name.includes("..") || name.endsWith(".")) {
    throw new UnknownFieldError(`"${name}" is not a field name`);
  }
  return { name, type: "keyword", esExact: name, undeclared: true };
}

/** `$."a"."b"`: a SQLite JSON path for a dotted field name, each step quoted (field names may hold `@` or `-`). */
export function jsonPath(name: string): string {
  return "$" + name.split(".").map((part) => `."${part}"`).join("");
}
