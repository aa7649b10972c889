/**
 * A search condition as Elasticsearch query DSL. The text is parsed once by liqe for both stores (see
 * ./search) rather than handed to `query_string`, whose reading differs: it accepts `field:(a OR b)`,
 * analyses bare words against every field, and treats `AND`/`OR` precedence its own way, so one search
 * would give different rows on SQLite and Elasticsearch. Keyword fields match exactly, text fields by
 * phrase; a bare word is a substring of any field (wildcard), or a phrase in a text field.
 */
import type { Field } from "./fields";
import type { Condition } from "./search";

export type EsQuery = Record<string, unknown>;

const BAD_ROW_SCHEMA_PREFIX = "iglu:com.snowplowanalytics.snowplow.badrows/";
const RANGE_KEYS = { lt: "lt", lte: "lte", gt: "gt", gte: "gte" } as const;

export function toEsQuery(condition: Condition): EsQuery {
  switch (condition.kind) {
    case "and":
      return { bool: { filter: [toEsQuery(condition.left), toEsQuery(condition.right)] } };
    case "or":
      return { bool: { should: [toEsQuery(condition.left), toEsQuery(condition.right)], minimum_should_match: 1 } };
    case "not":
      return { bool: { must_not: [toEsQuery(condition.operand)] } };
    case "text":
      return {
        bool: {
          should: [
            { query_string: { query: `*${escapeQueryString(condition.value)}*`, default_field: "*", analyze_wildcard: true, lenient: true } },
            { multi_match: { query: condition.value, type: "phrase", fields: ["*"], lenient: true } },
          ],
          minimum_should_match: 1,
        },
      };
    case "wildcard": {
      const { field, pattern } = condition;
      if (isBadRowType(field)) return { wildcard: { schema: { value: `${BAD_ROW_SCHEMA_PREFIX}${pattern}/*` } } };
      if (field.type === "text") {
        return { query_string: { query: wildcardQueryString(pattern), default_field: field.esText, analyze_wildcard: true } };
      }
      return { wildcard: { [field.esExact]: { value: pattern } } };
    }
    case "range": {
      const { field, min, max, minInclusive, maxInclusive } = condition;
      const bounds: Record<string, number> = {};
      if (Number.isFinite(min)) bounds[minInclusive ? "gte" : "gt"] = min;
      if (Number.isFinite(max)) bounds[maxInclusive ? "lte" : "lt"] = max;
      return { range: { [field.esExact]: field.type === "date" ? { ...bounds, format: "epoch_millis" } : bounds } };
    }
    case "compare": {
      const { field, op, value } = condition;
      if (isBadRowType(field)) return { prefix: { schema: `${BAD_ROW_SCHEMA_PREFIX}${value}/` } };
      if (field.name === "event_schema" && op === "eq") return eventSchemaQuery(String(value));
      if (op === "eq") {
        if (field.type === "text") return { match_phrase: { [field.esText!]: String(value) } };
        return { term: { [field.esExact]: field.type === "date" ? new Date(value as number).toISOString() : value } };
      }
      return { range: { [field.esExact]: field.type === "date" ? { [RANGE_KEYS[op]]: value, format: "epoch_millis" } : { [RANGE_KEYS[op]]: value } } };
    }
  }
}

/** Good events carry their schema as four fields: event_vendor, event_name, event_format, event_version. */
export const EVENT_SCHEMA_FIELDS = ["event_vendor", "event_name", "event_format", "event_version"] as const;

function eventSchemaQuery(uri: string): EsQuery {
  const parts = /^iglu:([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(uri);
  if (!parts) return { bool: { must_not: [{ match_all: {} }] } };
  return { bool: { filter: EVENT_SCHEMA_FIELDS.map((name, i) => ({ term: { [name]: parts[i + 1] } })) } };
}

function isBadRowType(field: Field): boolean {
  return field.name === "type" && field.esExact === "schema";
}

/** query_string's reserved characters, escaped so the text is taken literally. */
function escapeQueryString(text: string): string {
  return text.replace(/[+\-=&|><!(){}[\]^"~*?:\\/\s]/g, (c) => `\\${c}`);
}

/** A Lucene wildcard pattern for query_string: everything literal except `*` and `?`. */
function wildcardQueryString(pattern: string): string {
  return pattern.split(/([*?])/).map((part) => (part === "*" || part === "?" ? part : escapeQueryString(part))).join("");
}
