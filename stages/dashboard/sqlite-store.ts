/**
 * The dashboard over the sink's SQLite file. Every count and group-by runs in SQLite over the indexed
 * columns the sink keeps (../sink/sqlite-columns), each query reading a covering index over the time
 * range. The file is read through a read-only connection; only two things open it for writing, briefly:
 * migrating a file written by an older sink (so its columns exist), and Micro's reset when allowed.
 */
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { tableName } from "../sink/sqlite";
import { prepareTable } from "../sink/sqlite-columns";
import { FAMILIES, jsonPath, type Family, type Field } from "./fields";
import { toSql, type SqlWhere } from "./sql-search";
import type { Condition } from "./search";
import {
  StoreUnavailableError,
  type DashboardStore,
  type ExceptionGroup,
  type FailureGroups,
  type HistogramPoint,
  type ListRequest,
  type NewRows,
  type Page,
  type StoredRecord,
  type ValueCount,
} from "./store";
import type { TimeRange } from "./time-range";

type Row = { id: string; ts: number | null; doc: string };
type Param = string | number | null;

export class SqliteDashboardStore implements DashboardStore {
  readonly description: string;
  private db: Database | null = null;
  private readonly tables = new Set<string>();
  private readonly familyTables: Readonly<Record<Family, string>>;

  /** `families`: the sink's family names when not good, bad, logs (each a table). */
  constructor(readonly path: string, families: Partial<Record<Family, string>> = {}, private readonly busyTimeoutMs = 5000) {
    this.description = `SQLite ${path}`;
    this.familyTables = { good: "good", bad: "bad", logs: "logs", ...families };
  }

  /** The read-only connection, opened (and the file's tables migrated) on first use, again after a failure. */
  private open(): Database {
    if (this.db) return this.db;
    if (!existsSync(this.path)) throw new StoreUnavailableError(`there is no SQLite file at ${this.path} yet (no sink has written)`);
    try {
      this.migrate();
      const db = new Database(this.path, { readonly: true, strict: true });
      db.run(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
      this.db = db;
      return db;
    } catch (error) {
      throw new StoreUnavailableError(`cannot read ${this.path}: ${(error as Error).message}`);
    }
  }

  /** Brings tables written by an older sink up to date; a file already current is only read. */
  private migrate(): void {
    const db = new Database(this.path, { readonly: true });
    let stale: Family[];
    try {
      const present = (db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
      const migrated = present.includes("telemetry_migrations")
        ? new Set((db.query("SELECT table_name FROM telemetry_migrations").all() as { table_name: string }[]).map((r) => r.table_name))
        : new Set<string>();
      stale = FAMILIES.filter((family) => present.includes(this.tableOf(family)) && !migrated.has(this.tableOf(family)));
    } finally {
      db.close();
    }
    if (stale.length === 0) return;
    const writable = new Database(this.path, { readwrite: true });
    try {
      writable.run(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
      // The columns follow the family's kind (good, bad, logs), whatever its table is called.
      for (const family of stale) prepareTable(writable, this.tableOf(family), family);
    } finally {
      writable.close();
    }
  }

  /** Runs a read; a failure drops the connection so the next request opens the file afresh. */
  private read<T>(work: (db: Database) => T): T {
    const db = this.open();
    try {
      return work(db);
    } catch (error) {
      this.db?.close();
      this.db = null;
      throw new StoreUnavailableError(`reading ${this.path} failed: ${(error as Error).message}`);
    }
  }

  private tableOf(family: Family): string {
    return tableName(this.familyTables[family]);
  }

  /** The table of a family, or null while no sink has created it (an empty family, not an error). */
  private table(db: Database, family: Family): string | null {
    const table = this.tableOf(family);
    if (this.tables.has(table)) return table;
    const exists = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
    if (!exists) return null;
    this.tables.add(table);
    return table;
  }

  async check(): Promise<void> {
    this.read((db) => db.query("SELECT 1").get());
  }

  private where(range: TimeRange, condition: Condition | null): SqlWhere {
    const search = condition ? toSql(condition) : null;
    return {
      sql: `ts >= ? AND ts < ?${search ? ` AND ${search.sql}` : ""}`,
      params: [range.from, range.to, ...(search?.params ?? [])],
    };
  }

  async count(family: Family, range: TimeRange, condition: Condition | null): Promise<number> {
    return this.read((db) => {
      const table = this.table(db, family);
      if (!table) return 0;
      const where = this.where(range, condition);
      return (db.query(`SELECT count(*) AS n FROM "${table}" WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
    });
  }

  async histogram(family: Family, range: TimeRange, bucketMs: number, split?: Field): Promise<HistogramPoint[]> {
    const bucket = integer(bucketMs);
    return this.read((db) => {
      const table = this.table(db, family);
      if (!table) return [];
      const key = split ? valueSql(split) : null;
      const rows = db
        .query(
          `SELECT ts / ${bucket} * ${bucket} AS t, ${key?.sql ?? "NULL"} AS key, count(*) AS count FROM "${table}"
           WHERE ts >= ? AND ts < ? GROUP BY 1, 2 ORDER BY 1`,
        )
        .all(...(key?.params ?? []), range.from, range.to) as HistogramPoint[];
      return rows.map((row) => ({ ...row, key: row.key === null ? null : String(row.key) }));
    });
  }

  async top(family: Family, field: Field, range: TimeRange, limit: number): Promise<ValueCount[]> {
    return this.read((db) => {
      const table = this.table(db, family);
      if (!table) return [];
      const value = valueSql(field);
      return db
        .query(
          `SELECT ${value.sql} AS value, count(*) AS count FROM "${table}" WHERE ts >= ? AND ts < ? AND value IS NOT NULL
           GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?`,
        )
        .all(...value.params, range.from, range.to, integer(limit))
        .map((row) => ({ value: String((row as ValueCount).value), count: (row as ValueCount).count }));
    });
  }

  async list(family: Family, request: ListRequest): Promise<Page> {
    return this.read((db) => {
      const table = this.table(db, family);
      if (!table) return { total: 0, rows: [] };
      return this.page(db, table, this.where(request.range, request.condition), request);
    });
  }

  private page(db: Database, table: string, where: SqlWhere, request: Pick<ListRequest, "sort" | "offset" | "limit">): Page {
    const total = (db.query(`SELECT count(*) AS n FROM "${table}" WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
    const sort = valueSql(request.sort.field);
    const order = request.sort.order === "asc" ? "ASC" : "DESC";
    const rows = db
      .query(`SELECT id, ts, doc FROM "${table}" WHERE ${where.sql} ORDER BY ${sort.sql} ${order}, rowid ${order} LIMIT ? OFFSET ?`)
      .all(...where.params, ...sort.params, integer(request.limit), integer(request.offset)) as Row[];
    return { total, rows: rows.map(toRecord) };
  }

  async get(family: Family, id: string): Promise<StoredRecord | null> {
    return this.read((db) => {
      const table = this.table(db, family);
      const row = table ? (db.query(`SELECT id, ts, doc FROM "${table}" WHERE id = ?`).get(id) as Row | null) : null;
      return row ? toRecord(row) : null;
    });
  }

  async failureGroups(range: TimeRange, limit: number): Promise<FailureGroups> {
    return this.read((db) => {
      const table = this.table(db, "bad");
      if (!table) return { groups: [], grouped: 0 };
      const groups = db
        .query(
          `SELECT ifnull(bad_type, '') AS type, ifnull(failure_signature, '') AS signature, count(*) AS count, max(ts) AS last
           FROM "${table}" WHERE ts >= ? AND ts < ? GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT ?`,
        )
        .all(range.from, range.to, integer(limit)) as FailureGroups["groups"];
      const grouped = (db.query(`SELECT count(*) AS n FROM "${table}" WHERE ts >= ? AND ts < ?`).get(range.from, range.to) as { n: number }).n;
      return { groups, grouped };
    });
  }

  async badRowsOfGroup(range: TimeRange, type: string, signature: string, offset: number, limit: number): Promise<Page> {
    return this.read((db) => {
      const table = this.table(db, "bad");
      if (!table) return { total: 0, rows: [] };
      const where = {
        sql: "ts >= ? AND ts < ? AND ifnull(bad_type, '') = ? AND ifnull(failure_signature, '') = ?",
        params: [range.from, range.to, type, signature],
      };
      return this.page(db, table, where, { sort: { field: TS_FIELD, order: "desc" }, offset, limit });
    });
  }

  async exceptionGroups(range: TimeRange, limit: number): Promise<ExceptionGroup[]> {
    return this.read((db) => {
      const table = this.table(db, "logs");
      if (!table) return [];
      const groups = db
        .query(
          `SELECT exception_class AS className, count(*) AS count, min(ts) AS first, max(ts) AS last FROM "${table}"
           WHERE ts >= ? AND ts < ? AND exception_class IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?`,
        )
        .all(range.from, range.to, integer(limit)) as Omit<ExceptionGroup, "sample">[];
      const newest = db.query(
        `SELECT id, ts, doc FROM "${table}" WHERE exception_class = ? AND ts >= ? AND ts < ? ORDER BY ts DESC LIMIT 1`,
      );
      return groups.map((group) => ({ ...group, sample: toRecord(newest.get(group.className, range.from, range.to) as Row) }));
    });
  }

  async entityCounts(range: TimeRange): Promise<Map<string, number>> {
    return this.read((db) => {
      const counts = new Map<string, number>();
      const table = this.table(db, "good");
      if (!table) return counts;
      const combinations = db
        .query(`SELECT contexts, count(*) AS n FROM "${table}" WHERE ts >= ? AND ts < ? AND contexts IS NOT NULL GROUP BY 1`)
        .all(range.from, range.to) as { contexts: string; n: number }[];
      for (const { contexts, n } of combinations) {
        for (const column of contexts.split(" ")) counts.set(column, (counts.get(column) ?? 0) + n);
      }
      return counts;
    });
  }

  async newest(family: "good" | "bad", cursor: number | null, limit: number): Promise<NewRows> {
    return this.read((db) => {
      const table = this.table(db, family);
      if (!table) return { cursor: cursor ?? 0, rows: [] };
      if (cursor === null) {
        const last = (db.query(`SELECT max(rowid) AS last FROM "${table}"`).get() as { last: number | null }).last;
        return { cursor: last ?? 0, rows: [] };
      }
      const rows = db
        .query(`SELECT rowid AS rowid, id, ts, doc FROM "${table}" WHERE rowid > ? ORDER BY rowid LIMIT ?`)
        .all(cursor, integer(limit)) as (Row & { rowid: number })[];
      return { cursor: rows.at(-1)?.rowid ?? cursor, rows: rows.map(toRecord) };
    });
  }

  async reset(): Promise<void> {
    this.open();
    const writable = new Database(this.path, { readwrite: true });
    try {
      writable.run(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
      writable.transaction(() => {
        for (const family of ["good", "bad"] as const) {
          const table = this.tableOf(family);
          if (writable.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table)) writable.run(`DELETE FROM "${table}"`);
        }
      })();
    } finally {
      writable.close();
    }
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }
}

const TS_FIELD: Field = { name: "ts", type: "date", column: "ts", esExact: "" };

/** A field's value in SQL: its indexed column, or the document path (bound, never spliced). */
function valueSql(field: Field): { sql: string; params: Param[] } {
  if (field.column) return { sql: field.column, params: [] };
  return { sql: "(doc ->> ?)", params: [jsonPath(field.name)] };
}

/** Numbers that go into SQL text (bucket widths) or LIMIT: integers only. */
function integer(value: number): number {
  if (!Number.isSafeInteger(value)) throw new Error(`${value} is not an integer`);
  return value;
}

function toRecord(row: Row): StoredRecord {
  return { id: row.id, time: row.ts, doc: JSON.parse(row.doc) };
}
