/**
 * The search box: Lucene-like text (`event_name:page_view AND app_id:shop*`, `NOT`, `-`, ranges,
 * comparisons, quoted phrases, bare words) parsed by `liqe`, then reduced to a small condition tree that
 * each store translates on its own (./sql-search, ./es-search). One parser for both stores, so a query
 * means the same on SQLite and Elasticsearch, and a query either store cannot read fails the same way:
 * with a message naming the position, never as a server error.
 */
import { parse, SyntaxError as LiqeSyntaxError, type ParserAst, type TagToken } from "liqe";
import { fieldFor, UnknownFieldError, type Family, type Field } from "./fields";

export type Comparison = "eq" | "lt" | "lte" | "gt" | "gte";
export type Value = string | number | boolean;

export type Condition =
  | { kind: "and" | "or"; left: Condition; right: Condition }
  | { kind: "not"; operand: Condition }
  /** A bare word or phrase: found anywhere in the record. */
  | { kind: "text"; value: string }
  | { kind: "compare"; field: Field; op: Comparison; value: Value }
  /** An unquoted value with `*` or `?`. */
  | { kind: "wildcard"; field: Field; pattern: string }
  | { kind: "range"; field: Field; min: number; max: number; minInclusive: boolean; maxInclusive: boolean };

/** A query that cannot be read, and where (0-based offset into the text). */
export class SearchError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

const OPERATORS: Record<string, Comparison> = { ":": "eq", ":=": "eq", ":<": "lt", ":<=": "lte", ":>": "gt", ":>=": "gte" };

/** The condition a search text stands for in a family's records; null for an empty search. */
export function parseSearch(text: string, family: Family): Condition | null {
  if (text.trim() === "") return null;
  let ast: ParserAst;
  try {
    ast = parse(text) as ParserAst;
  } catch (error) {
    if (error instanceof LiqeSyntaxError) {
      throw new SearchError(`cannot read the search at character ${error.offset + 1}: ${hint(text, error.offset)}`, error.offset);
    }
    throw new SearchError(`the search ends too early (an AND, OR or NOT with nothing after it?)`, text.length);
  }
  return reduce(ast, text, family);
}

function hint(text: string, offset: number): string {
  const near = text.slice(offset, offset + 20);
  if (near.startsWith("(")) return "grouping after a field (field:(a OR b)) is not supported; write field:a OR field:b";
  if (/[/:]/.test(text.slice(0, offset + 20))) return `unexpected "${near}" (put a value holding : or / in quotes)`;
  return near ? `unexpected "${near}"` : "unexpected end";
}

function reduce(ast: ParserAst, text: string, family: Family): Condition | null {
  switch (ast.type) {
    case "EmptyExpression":
      return null;
    case "ParenthesizedExpression":
      return reduce(ast.expression, text, family);
    case "UnaryOperator": {
      const operand = reduce(ast.operand, text, family);
      return operand && { kind: "not", operand };
    }
    case "LogicalExpression": {
      const left = reduce(ast.left, text, family);
      const right = reduce(ast.right, text, family);
      if (!left || !right) return left ?? right;
      return { kind: ast.operator.operator === "OR" ? "or" : "and", left, right };
    }
    case "Tag":
      return tag(ast, text, family);
  }
}

function tag(ast: TagToken, text: string, family: Family): Condition | null {
  const expression = ast.expression;
  if (ast.field.type === "ImplicitField") {
    if (expression.type !== "LiteralExpression") throw new SearchError("a bare word must be a word or a quoted phrase", ast.location.start);
    return { kind: "text", value: sourceText(expression, text) };
  }
  let field: Field;
  try {
    field = fieldFor(family, ast.field.name);
  } catch (error) {
    if (error instanceof UnknownFieldError) throw new SearchError(error.message, ast.field.location.start);
    throw error;
  }
  const op = OPERATORS[ast.operator.operator]!;
  switch (expression.type) {
    case "EmptyExpression":
      throw new SearchError(`${field.name}: needs a value`, ast.location.end ?? ast.location.start);
    case "RegexExpression":
      throw new SearchError("regular expressions are not supported; use * and ? wildcards", expression.location.start);
    case "RangeExpression": {
      const { min, max, minInclusive, maxInclusive } = expression.range;
      return { kind: "range", field, min, max, minInclusive, maxInclusive };
    }
    case "LiteralExpression": {
      const raw = sourceText(expression, text);
      if (!expression.quoted && op === "eq" && /[*?]/.test(raw)) return { kind: "wildcard", field, pattern: raw };
      return { kind: "compare", field, op, value: typedValue(field, raw, expression.quoted, expression.location.start) };
    }
  }
}

/** The value as written (liqe turns `12` into a number and `true` into a boolean whatever the field). */
function sourceText(expression: { quoted: boolean; value: unknown; location: { start: number; end: number } }, text: string): string {
  if (expression.quoted) return String(expression.value);
  return text.slice(expression.location.start, expression.location.end);
}

function typedValue(field: Field, raw: string, quoted: boolean, position: number): Value {
  switch (field.type) {
    case "number": {
      const number = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(number)) throw new SearchError(`${field.name} is a number; "${raw}" is not`, position);
      return number;
    }
    case "boolean":
      if (raw === "true" || raw === "false") return raw === "true";
      throw new SearchError(`${field.name} is true or false; "${raw}" is neither`, position);
    case "date": {
      const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
      if (!Number.isFinite(ms)) throw new SearchError(`${field.name} is a time; "${raw}" is not one (ISO-8601, e.g. 2025-11-27T10:00:00Z)`, position);
      return ms;
    }
    default:
      // Unlisted fields (context data, MDC entries) may hold numbers: an unquoted number is compared as one.
      if (!quoted && field.undeclared && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
      return raw;
  }
}
