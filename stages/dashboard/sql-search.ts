/**
 * A search condition as a SQLite WHERE clause. Every value is a bound parameter and every field is either
 * an indexed column from a fixed list or a JSON path that is itself bound, so nothing typed in the search
 * box is ever spliced into SQL. Fields are matched as Elasticsearch matches them: a value inside an array
 * (a log's tags, an entity in a contexts_… column) counts, text fields match by phrase, ignoring case.
 */
import { jsonPath, type Field } from "./fields";
import type { Condition, Value } from "./search";

export interface SqlWhere {
  sql: string;
  params: (string | number)[];
}

const SQL_OPERATORS = { eq: "=", lt: "<", lte: "<=", gt: ">", gte: ">=" } as const;

export function toSql(condition: Condition): SqlWhere {
  const params: (string | number)[] = [];
  const sql = build(condition, params);
  return { sql, params };
}

function bind(params: (string | number)[], value: Value): string {
  params.push(typeof value === "boolean" ? (value ? 1 : 0) : value);
  return "?";
}

/**
 * `test` receives the SQL for one value of the field and returns the test on it. Columns are tested
 * directly; document paths through json_each, which yields the value itself for a scalar and each element
 * for an array; a path below a contexts_… array goes through each entity first.
 */
function onField(field: Field, params: (string | number)[], test: (value: string) => string): string {
  if (field.column) return test(field.column);
  const parts = field.name.split(".");
  if (parts.length > 1 && /^contexts_/.test(parts[0]!)) {
    const outer = bind(params, jsonPath(parts[0]!));
    const inner = bind(params, jsonPath(parts.slice(1).join(".")));
    return `EXISTS (SELECT 1 FROM json_each(doc, ${outer}) AS entity, json_each(entity.value, ${inner}) AS v WHERE ${test("v.value")})`;
  }
  const path = bind(params, jsonPath(field.name));
  return `EXISTS (SELECT 1 FROM json_each(doc, ${path}) AS v WHERE ${test("v.value")})`;
}

/** Lucene wildcards as a GLOB pattern: `*` and `?` kept, GLOB's own `[` `]` made literal. */
function globPattern(pattern: string): string {
  return pattern.replace(/[[\]]/g, (bracket) => `[${bracket}]`);
}

/** Lucene wildcards as a LIKE pattern (for text fields, which match ignoring case), `\` escaping LIKE's own. */
function likePattern(pattern: string): string {
  return pattern.replace(/[%_\\]/g, (c) => `\\${c}`).replace(/\*/g, "%").replace(/\?/g, "_");
}

function build(condition: Condition, params: (string | number)[]): string {
  switch (condition.kind) {
    case "and":
    case "or":
      return `(${build(condition.left, params)} ${condition.kind.toUpperCase()} ${build(condition.right, params)})`;
    case "not":
      return `(NOT ${build(condition.operand, params)})`;
    case "text":
      // Case-sensitive, as a keyword match in Elasticsearch is.
      return `(instr(doc, ${bind(params, condition.value)}) > 0)`;
    case "wildcard": {
      const { field, pattern } = condition;
      if (field.type === "text") return onField(field, params, (v) => `${v} LIKE ${bind(params, `%${likePattern(pattern)}%`)} ESCAPE '\\'`);
      return onField(field, params, (v) => `${v} GLOB ${bind(params, globPattern(pattern))}`);
    }
    case "range": {
      const { field, min, max, minInclusive, maxInclusive } = condition;
      return onField(field, params, (v) => {
        const low = Number.isFinite(min) ? `${v} ${minInclusive ? ">=" : ">"} ${bind(params, sqlValue(field, min))}` : "1";
        const high = Number.isFinite(max) ? `${v} ${maxInclusive ? "<=" : "<"} ${bind(params, sqlValue(field, max))}` : "1";
        return `(${low} AND ${high})`;
      });
    }
    case "compare": {
      const { field, op, value } = condition;
      if (field.type === "text" && op === "eq") {
        return onField(field, params, (v) => `instr(lower(${v}), lower(${bind(params, String(value))})) > 0`);
      }
      return onField(field, params, (v) => `${v} ${SQL_OPERATORS[op]} ${bind(params, sqlValue(field, value))}`);
    }
  }
}

/** Dates are ms in the indexed `ts` column and ISO-8601 text inside documents. */
function sqlValue(field: Field, value: Value): Value {
  if (field.type !== "date" || typeof value !== "number") return value;
  return field.column === "ts" ? value : new Date(value).toISOString();
}

/** The indexed columns a condition reads, or null when it reads the document (a field without a column, a bare word). */
export function columnsOf(condition: Condition): Set<string> | null {
  switch (condition.kind) {
    case "and":
    case "or": {
      const left = columnsOf(condition.left);
      const right = columnsOf(condition.right);
      return left && right ? new Set([...left, ...right]) : null;
    }
    case "not":
      return columnsOf(condition.operand);
    case "text":
      return null;
    default:
      return condition.field.column ? new Set([condition.field.column]) : null;
  }
}
