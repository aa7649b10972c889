/**
 * The dashboard over the sink's SQLite file. Every count and group-by runs in SQLite: over the roll-ups the
 * sink keeps (../sink/sqlite-rollups) for whole hours and days, over the indexed columns (covering indexes
 * over the time range) for the rest, so a 30-day overview of a million events reads thousands of rows
 * (./sqlite-aggregate). A page sorted by a rolled-up column finds its values from the roll-up's counts. A search or sort that needs
 * the document itself (a field without a column, a bare word) reads only the newest `scanLimit` records
 * of the range, and the page it answers says so. The file is read through a read-only connection; only
 * two things open it for writing, briefly: migrating a file written by an older sink (so its columns,
 * indexes and roll-ups exist), and Micro's reset when allowed.
 */
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { tableName } from "../sink/sqlite";
import { currentMarker, migrationMarker, prepareTable } from "../sink/sqlite-columns";
import { rollupsFor, rollupTable, type Rollup } from "../sink/sqlite-rollups";
import { FAMILIES, jsonPath, type Family, type Field } from "./fields";
import { aggregate, bucketKey, columnKey, rollupFor, type Key } from "./sqlite-aggregate";
import { columnsOf, toSql, type SqlWhere } from "./sql-search";
import type { Condition } from "./search";
import {
  DEFAULT_SCAN_LIMIT,
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

/** Address space, not memory: SQLite clamps it to what it was built to allow (2 GB by default). */
const MMAP_BYTES = 2 ** 31;
const CACHE_KIB = 64 * 1024;
type Param = string | number | null;

export class SqliteDashboardStore implements DashboardStore {
  readonly description: string;
  private db: Database | null = null;
  private readonly tables = new Set<string>();
  /** Per table, the roll-ups found in the file (once present, they stay). */
  private readonly rollups = new Map<string, readonly Rollup[]>();
  private readonly familyTables: Readonly<Record<Family, string>>;

  /** `families`: the sink's family names when not good, bad, logs (each a table). */
  constructor(
    readonly path: string,
    families: Partial<Record<Family, string>> = {},
    private readonly busyTimeoutMs = 5000,
    readonly scanLimit = DEFAULT_SCAN_LIMIT,
  ) {
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
      // Reading documents by rowid (a page of results, the newest records a search scans) jumps around the
      // file: through a memory map, a page already in the OS cache costs no read() and no copy (3× faster
      // for 10,000 scattered documents here); the page cache keeps the indexes and roll-ups between requests.
      db.run(`PRAGMA mmap_size = ${MMAP_BYTES}`);
      db.run(`PRAGMA cache_size = -${CACHE_KIB}`);
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
      stale = FAMILIES.filter(
        (family) => present.includes(this.tableOf(family)) && currentMarker(db, this.tableOf(family)) !== migrationMarker(family),
      );
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

  /** The family's roll-ups present in the file (none in a table no current sink or dashboard has opened). */
  private rollupsOf(db: Database, family: Family, table: string): readonly Rollup[] {
    const known = this.rollups.get(table);
    if (known) return known;
    const wanted = rollupsFor(family);
    const present = wanted.filter((rollup) => db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(rollupTable(table, rollup)));
    if (present.length === wanted.length) this.rollups.set(table, present);
    return present;
  }

  private where(range: TimeRange, condition: Condition | null): SqlWhere {
    const search = condition ? toSql(condition) : null;
    return {
      sql: `ts >= ? AND ts < ?${search ? ` AND ${search.sql}` : ""}`,
      params: [range.from, range.to, ...(search?.params ?? [])],
    };
  }

  /** Records in the range matching the condition: from the roll-ups when the condition reads only their columns. */
  private countIn(db: Database, family: Family, table: string, range: TimeRange, condition: Condition | null): number {
    const columns = condition ? columnsOf(condition) : new Set<string>();
    const rollup = rollupFor(this.rollupsOf(db, family, table), columns);
    const [row] = aggregate(db, rollup, { table, range, keys: [], where: condition ? toSql(condition) : null, columns });
    return Number(row!.count);
  }

  async count(family: Family, range: TimeRange, condition: Condition | null): Promise<number> {
    return this.read((db) => {
      const table = this.table(db, family);
      return table ? this.countIn(db, family, table, range, condition) : 0;
    });
  }

  async histogram(family: Family, range: TimeRange, bucketMs: number, split?: Field): Promise<HistogramPoint[]> {
    const bucket = integer(bucketMs);
    return this.read((db) => {
      const table = this.table(db, family);
      if (!table) return [];
      const keys = [bucketKey(bucket), ...(split ? [fieldKey(split)] : [])];
      const columns = split ? (split.column ? new Set([split.column]) : null) : new Set<string>();
      const rollup = rollupFor(this.rollupsOf(db, family, table), columns);
      const rows = aggregate(db, rollup, { table, range, keys, where: null, columns, bucketMs: bucket, tail: "ORDER BY k0" });
      return rows.map((row) => ({ t: Number(row.k0), key: row.k1 === null || row.k1 === undefined ? null : String(row.k1), count: Number(row.count) }));
    });
  }

  async top(family: Family, field: Field, range: TimeRange, limit: number): Promise<ValueCount[]> {
    return this.read((db) => {
      const table = this.table(db, family);
      if (!table) return [];
      const value = valueSql(field);
      const columns = field.column ? new Set([field.column]) : null;
      const rollup = rollupFor(this.rollupsOf(db, family, table), columns);
      return aggregate(db, rollup, {
        table,
        range,
        keys: [fieldKey(field)],
        where: { sql: `${value.sql} IS NOT NULL`, params: value.params as (string | number)[] },
        columns,
        tail: "ORDER BY count DESC, k0 LIMIT ?",
        tailParams: [integer(limit)],
      }).map((row) => ({ value: String(row.k0), count: Number(row.count) }));
    });
  }

  async list(family: Family, request: ListRequest): Promise<Page> {
    return this.read((db) => {
      const table = this.table(db, family);
      if (!table) return { total: 0, rows: [] };
      const { range, condition, sort } = request;
      const readsDocument = (condition !== null && columnsOf(condition) === null) || !sort.field.column;
      if (readsDocument) {
        const inRange = this.countIn(db, family, table, range, null);
        if (inRange > this.scanLimit) return this.newestPage(db, table, request, inRange);
      }
      const total = this.countIn(db, family, table, range, condition);
      return { total, rows: this.rows(db, family, table, this.where(range, condition), request) };
    });
  }

  /**
   * One page of the matching records in the asked order. Sorted by time, the time index gives the order.
   * Sorted by a column a roll-up holds (with a search over its columns only), the roll-up counts each value's
   * records, so the page's values are found without reading any row, and each value's records are read in
   * time order through the time index. Otherwise the range's matches are sorted.
   */
  private rows(db: Database, family: Family, table: string, where: SqlWhere, request: Pick<ListRequest, "range" | "condition" | "sort" | "offset" | "limit">): StoredRecord[] {
    const { range, condition, sort, offset, limit } = request;
    const order = sort.order === "asc" ? "ASC" : "DESC";
    const column = sort.field.column;
    const inOrder = (extra: SqlWhere | null, take: number, skip: number) =>
      (
        db
          .query(`SELECT id, ts, doc FROM "${table}" WHERE ${where.sql}${extra ? ` AND ${extra.sql}` : ""} ORDER BY ts ${order}, rowid ${order} LIMIT ? OFFSET ?`)
          .all(...where.params, ...(extra?.params ?? []), integer(take), integer(skip)) as Row[]
      ).map(toRecord);
    if (column === "ts") return inOrder(null, limit, offset);
    const searched = condition ? columnsOf(condition) : new Set<string>();
    const rollup = column && searched ? rollupFor(this.rollupsOf(db, family, table), new Set([column, ...searched])) : null;
    if (!column || !rollup) return this.sortedRows(db, table, where, sort, offset, limit);
    // Values in the asked order (NULL first ascending, as SQLite sorts), each with its count in the range.
    const groups = aggregate(db, rollup, {
      table,
      range,
      keys: [columnKey(column)],
      where: condition ? toSql(condition) : null,
      columns: new Set([column, ...searched!]),
      tail: `ORDER BY k0 ${order}`,
    });
    const rows: StoredRecord[] = [];
    let skip = offset;
    for (const group of groups) {
      const count = Number(group.count);
      if (skip >= count) {
        skip -= count;
        continue;
      }
      rows.push(...inOrder({ sql: `${column} IS ?`, params: [group.k0 as string | number] }, limit - rows.length, skip));
      skip = 0;
      if (rows.length >= limit) break;
    }
    return rows;
  }

  /**
   * Sorts the matches by a value (a column, unary `+` so no index is walked for it, or a document path) and
   * reads the documents of one page only, so the sort holds keys, not documents, and (with its LIMIT) only
   * the first offset + limit of them.
   */
  private sortedRows(db: Database, table: string, where: SqlWhere, sort: ListRequest["sort"], offset: number, limit: number): StoredRecord[] {
    const order = sort.order === "asc" ? "ASC" : "DESC";
    const key = valueSql(sort.field);
    const rows = db
      .query(
        `SELECT t.id, t.ts, t.doc FROM (
           SELECT rowid AS r, +${key.sql} AS k, ts AS s FROM "${table}" WHERE ${where.sql} ORDER BY k ${order}, s ${order}, r ${order} LIMIT ? OFFSET ?
         ) AS p JOIN "${table}" AS t ON t.rowid = p.r ORDER BY p.k ${order}, p.s ${order}, p.r ${order}`,
      )
      .all(...key.params, ...where.params, integer(limit), integer(offset)) as Row[];
    return rows.map(toRecord);
  }

  /**
   * As sortedRows, also counting the matches: they are gathered once (each document read and tested once)
   * and counted from there, where a second query would test every document again and a window count(*)
   * over them was 3× slower here.
   */
  private sortedAndCounted(db: Database, table: string, where: SqlWhere, sort: ListRequest["sort"], offset: number, limit: number): { total: number | null; rows: StoredRecord[] } {
    const order = sort.order === "asc" ? "ASC" : "DESC";
    const key = valueSql(sort.field);
    const rows = db
      .query(
        `WITH matches AS MATERIALIZED (SELECT rowid AS r, +${key.sql} AS k, ts AS s FROM "${table}" WHERE ${where.sql})
         SELECT t.id, t.ts, t.doc, p.total FROM (
           SELECT r, k, s, (SELECT count(*) FROM matches) AS total FROM matches ORDER BY k ${order}, s ${order}, r ${order} LIMIT ? OFFSET ?
         ) AS p JOIN "${table}" AS t ON t.rowid = p.r ORDER BY p.k ${order}, p.s ${order}, p.r ${order}`,
      )
      .all(...key.params, ...where.params, integer(limit), integer(offset)) as (Row & { total: number })[];
    return { total: rows[0]?.total ?? null, rows: rows.map(toRecord) };
  }

  /** A search or sort that reads documents, over a range holding more than scanLimit records: the newest scanLimit only. */
  private newestPage(db: Database, table: string, request: ListRequest, inRange: number): Page {
    const search = request.condition ? toSql(request.condition) : null;
    const where: SqlWhere = {
      sql: `rowid IN (SELECT rowid FROM "${table}" WHERE ts >= ? AND ts < ? ORDER BY ts DESC, rowid DESC LIMIT ?)${search ? ` AND ${search.sql}` : ""}`,
      params: [request.range.from, request.range.to, integer(this.scanLimit), ...(search?.params ?? [])],
    };
    const page = this.sortedAndCounted(db, table, where, request.sort, request.offset, request.limit);
    const total = page.total ?? (db.query(`SELECT count(*) AS n FROM "${table}" WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
    return { total, rows: page.rows, scanned: { newest: this.scanLimit, of: inRange } };
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
      const total = (db.query(`SELECT count(*) AS n FROM "${table}" WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
      return { total, rows: this.rows(db, "bad", table, where, { range, condition: null, sort: { field: TS_FIELD, order: "desc" }, offset, limit }) };
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
      const columns = new Set(["contexts"]);
      const combinations = aggregate(db, rollupFor(this.rollupsOf(db, "good", table), columns), {
        table,
        range,
        keys: [columnKey("contexts")],
        where: { sql: "contexts IS NOT NULL", params: [] },
        columns,
      });
      for (const { k0, count } of combinations) {
        for (const column of String(k0).split(" ")) counts.set(column, (counts.get(column) ?? 0) + Number(count));
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

/** A field as a grouping key: its column (named alike in the rows and the roll-ups) or its document path. */
function fieldKey(field: Field): Key {
  const value = valueSql(field);
  return { sql: () => value.sql, params: value.params };
}

/** Numbers that go into SQL text (bucket widths) or LIMIT: integers only. */
function integer(value: number): number {
  if (!Number.isSafeInteger(value)) throw new Error(`${value} is not an integer`);
  return value;
}

function toRecord(row: Row): StoredRecord {
  return { id: row.id, time: row.ts, doc: JSON.parse(row.doc) };
}
