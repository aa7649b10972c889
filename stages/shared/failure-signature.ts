/**
 * What a bad row failed on, with the values left out: the text that groups 10,000 rows rejected for one
 * cause into one line. The SQLite sink stores it in an indexed column; the dashboard groups by it.
 *
 * Each bad-row type words its failure differently (messages with dataReports, field/value/expectation,
 * a list of error strings, size figures), so the signature takes the parts that name the cause (schema
 * keys, fields, keywords, error kinds, messages, expectations) and drops the parts that carry the data
 * (values, targets, timestamps, sizes). Inside messages, double-quoted text, numbers and UUIDs are
 * replaced by placeholders: `e "xx" cannot be read into event` and `e "yy" …` are one cause.
 */
import { isJsonObject } from "./records";

/** The keys whose string values name a cause; every other string (value, targets, payloads) is data. */
const CAUSE_KEYS = new Set([
  "schemaKey",
  "schema",
  "field",
  "payloadField",
  "path",
  "keyword",
  "error",
  "message",
  "expectation",
  "errors",
  "identifier",
  "loader",
]);
/** Keys never followed: they hold data, not the cause. */
const DATA_KEYS = new Set(["value", "targets", "timestamp", "actualSizeBytes", "maximumAllowedSizeBytes", "lookupHistory"]);

const LONGEST_SIGNATURE = 500;

/** `e "xx" at 12 for 5f0c…` → `e "…" at N for <uuid>`. */
export function stripValues(text: string): string {
  return text
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, "<uuid>")
    // Numbers standing alone: not the 8 of UTF-8 nor the digits of a version or a name.
    .replace(/(?<![\w.-])-?\d+(?:\.\d+)?(?![\w-])/g, "N");
}

function causeParts(value: unknown, key: string | null, into: string[]): void {
  if (into.length > 40) return;
  if (typeof value === "string") {
    if (key !== null && CAUSE_KEYS.has(key)) into.push(key === "schemaKey" || key === "schema" ? value : stripValues(value));
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) causeParts(item, key, into);
    return;
  }
  if (!isJsonObject(value)) return;
  for (const [name, inner] of Object.entries(value)) {
    if (!DATA_KEYS.has(name)) causeParts(inner, name, into);
  }
}

/** The failure of a bad row (its `data.failure`) as one line without values; "" when it names nothing. */
export function failureSignature(row: unknown): string {
  const data = isJsonObject(row) ? row.data : undefined;
  const failure = isJsonObject(data) ? data.failure : undefined;
  const parts: string[] = [];
  causeParts(failure, null, parts);
  const unique = [...new Set(parts)];
  const text = unique.join(" · ");
  return text.length > LONGEST_SIGNATURE ? text.slice(0, LONGEST_SIGNATURE - 1) + "…" : text;
}

/** The bad-row type named in its schema (`schema_violations`), for any Snowplow bad row, listed or not. */
export function badRowTypeName(schema: unknown): string | null {
  if (typeof schema !== "string") return null;
  const match = /^iglu:com\.snowplowanalytics\.snowplow\.badrows\/([^/]+)\//.exec(schema);
  return match ? match[1]! : null;
}
