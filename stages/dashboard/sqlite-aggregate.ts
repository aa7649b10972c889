/**
 * Counting a SQLite family table over a time range, from its roll-ups (../sink/sqlite-rollups) where they
 * can answer and from its rows where they cannot, with the same result either way.
 *
 * A range is cut into segments: the whole UTC days inside it read the day roll-up, the whole hours left at
 * either end the hour roll-up, and the minutes left at the very ends the rows themselves (through the
 * covering time index). So a 30-day count reads about 30 day rows, 40 hour rows and two partial hours of
 * events per combination, whatever the range's edges. A roll-up only answers when every column the question
 * groups or filters by is one of its columns; otherwise every segment reads the rows.
 */
import type { Database } from "bun:sqlite";
import { bucketSql, ROLLUP_LEVELS, rollupTable, type Rollup } from "../sink/sqlite-rollups";
import type { SqlWhere } from "./sql-search";
import type { TimeRange } from "./time-range";

type Param = string | number | null;

/** A part of a range: read from the rows (level null) or from the roll-up of that bucket width. */
export interface Segment {
  level: number | null;
  from: number;
  to: number;
}

/** Cuts a range into segments, widest usable level first; `levels` must be widest first. */
export function segments(range: TimeRange, levels: readonly number[]): Segment[] {
  if (range.from >= range.to) return [];
  const [level, ...narrower] = levels;
  if (level === undefined) return [{ level: null, from: range.from, to: range.to }];
  const start = Math.ceil(range.from / level) * level;
  const end = Math.floor(range.to / level) * level;
  if (start >= end) return segments(range, narrower);
  return [
    ...segments({ from: range.from, to: start }, narrower),
    { level, from: start, to: end },
    ...segments({ from: end, to: range.to }, narrower),
  ];
}

/** A grouping key: SQL over the row's or roll-up's time column (`ts` or `bucket`) and the shared columns. */
export interface Key {
  sql: (time: string) => string;
  params: Param[];
}

export interface AggregateRequest {
  table: string;
  range: TimeRange;
  keys: Key[];
  /** Filters every segment; its SQL names only columns (when a roll-up may answer) or the document. */
  where: SqlWhere | null;
  /** The columns `keys` and `where` read; null when they read the document (rows only). */
  columns: ReadonlySet<string> | null;
  /** Set for a histogram: only levels whose width divides the bucket can answer. */
  bucketMs?: number;
  /** After the outer GROUP BY: ORDER BY / LIMIT over k0…kn and `count`. */
  tail?: string;
  tailParams?: Param[];
}

/** The roll-up that holds every column asked for, when the table has one. */
export function rollupFor(rollups: readonly Rollup[], columns: ReadonlySet<string> | null): Rollup | null {
  if (!columns) return null;
  return rollups.find((rollup) => [...columns].every((column) => rollup.columns.includes(column))) ?? null;
}

/**
 * Rows of k0…kn and `count` (groups whose count is 0 are left out: a roll-up keeps the rows of
 * combinations whose events were overwritten into another).
 */
export function aggregate(db: Database, rollup: Rollup | null, request: AggregateRequest): Record<string, unknown>[] {
  const levels = rollup ? ROLLUP_LEVELS.filter((level) => request.bucketMs === undefined || request.bucketMs % level === 0) : [];
  const parts: string[] = [];
  const params: Param[] = [];
  const names = request.keys.map((_, i) => `k${i}`);
  const groupBy = names.length > 0 ? ` GROUP BY ${names.map((_, i) => i + 1).join(", ")}` : "";
  const filter = request.where ? ` AND ${request.where.sql}` : "";
  for (const segment of segments(request.range, levels)) {
    const time = segment.level === null ? "ts" : "bucket";
    const selected = [...request.keys.map((key, i) => `${key.sql(time)} AS ${names[i]}`), segment.level === null ? "count(*) AS n" : "sum(n) AS n"];
    params.push(...request.keys.flatMap((key) => key.params));
    if (segment.level === null) {
      parts.push(`SELECT ${selected.join(", ")} FROM "${request.table}" WHERE ts >= ? AND ts < ?${filter}${groupBy}`);
      params.push(segment.from, segment.to);
    } else {
      parts.push(
        `SELECT ${selected.join(", ")} FROM "${rollupTable(request.table, rollup!)}" WHERE level = ? AND bucket >= ? AND bucket < ?${filter}${groupBy}`,
      );
      params.push(segment.level, segment.from, segment.to);
    }
    params.push(...(request.where?.params ?? []));
  }
  if (parts.length === 0) return names.length === 0 ? [{ count: 0 }] : [];
  const outer = names.length > 0 ? `${names.join(", ")}, ` : "";
  const sql =
    `SELECT ${outer}ifnull(sum(n), 0) AS count FROM (${parts.join(" UNION ALL ")})` +
    (names.length > 0 ? ` GROUP BY ${names.join(", ")} HAVING sum(n) > 0` : "") +
    (request.tail ? ` ${request.tail}` : "");
  return db.query(sql).all(...params, ...(request.tailParams ?? [])) as Record<string, unknown>[];
}

/** A time key: the start of the bucket of width `bucketMs`, floored as Elasticsearch's date_histogram does. */
export function bucketKey(bucketMs: number): Key {
  return { sql: (time) => bucketSql(time, bucketMs), params: [] };
}

/** A column key: the same name in the rows and in the roll-up. */
export function columnKey(column: string): Key {
  return { sql: () => column, params: [] };
}
