/**
 * The indexed columns the SQLite store keeps beside each row's JSON, so the dashboard filters, groups and
 * charts with indexes instead of parsing every document (a group-by over `doc ->> '$.event_name'` took
 * ~0.9 s on 237k events; over an indexed column it reads only the index).
 *
 * Most columns are SQL expressions over the document, evaluated by SQLite when the sink writes the row
 * (one JSON parse in C, shared by every expression) and again when an older file is migrated, so the
 * sink and the migration cannot disagree. A document SQLite's JSON parser refuses (nested deeper than
 * it allows) is written with these columns empty rather than failing its batch. A bad row's type and failure signature need our own code: they
 * are computed from the parsed row (bad rows are few, so parsing them again costs little).
 * Which columns a table gets follows its family's mapping: good, bad, logs (as the Elasticsearch templates).
 */
import type { Database } from "bun:sqlite";
import { badRowTypeName, failureSignature } from "../shared/failure-signature";
import { isJsonObject } from "../shared/records";
import { createRollups, dropRollups, rollupsSignature } from "./sqlite-rollups";
import { defaultMappingKind, type MappingKind } from "./templates";

export interface IndexedColumn {
  name: string;
  type: "TEXT" | "INTEGER";
  /** SQL over `$DOC` (the JSON text), or null for a value computed here from the parsed document. */
  expression: string | null;
  fromDocument?: (document: unknown) => string | null;
}

const json = (path: string) => `$DOC ->> '${path}'`;

const TS: IndexedColumn = { name: "ts", type: "INTEGER", expression: null };

const COLUMNS: Readonly<Record<MappingKind, readonly IndexedColumn[]>> = {
  good: [
    TS,
    { name: "app_id", type: "TEXT", expression: json("$.app_id") },
    { name: "platform", type: "TEXT", expression: json("$.platform") },
    { name: "event", type: "TEXT", expression: json("$.event") },
    { name: "event_name", type: "TEXT", expression: json("$.event_name") },
    {
      name: "event_schema",
      type: "TEXT",
      expression:
        `iif($DOC ->> '$.event_vendor' IS NOT NULL, 'iglu:' || ($DOC ->> '$.event_vendor') || '/' || ` +
        `($DOC ->> '$.event_name') || '/' || ifnull($DOC ->> '$.event_format', 'jsonschema') || '/' || ifnull($DOC ->> '$.event_version', ''), NULL)`,
    },
    { name: "page_url", type: "TEXT", expression: json("$.page_url") },
    {
      // The entity columns an event carries (contexts_<vendor>_<name>_<model>), space-separated and
      // sorted: few distinct combinations, so counting events per entity is a small group-by.
      name: "contexts",
      type: "TEXT",
      expression:
        `(SELECT group_concat(key, ' ') FROM (SELECT key FROM json_each($DOC) ` +
        `WHERE key LIKE 'contexts\\_%' ESCAPE '\\' ORDER BY key))`,
    },
  ],
  bad: [
    TS,
    {
      name: "bad_type",
      type: "TEXT",
      expression: null,
      fromDocument: (row) => badRowTypeName(isJsonObject(row) ? row.schema : undefined),
    },
    { name: "failure_signature", type: "TEXT", expression: null, fromDocument: failureSignature },
  ],
  logs: [
    TS,
    { name: "level", type: "TEXT", expression: json("$.level") },
    { name: "logger_name", type: "TEXT", expression: json("$.logger_name") },
    { name: "exception_class", type: "TEXT", expression: json("$.exception.class") },
  ],
  dynamic: [TS],
};

/** Covering indexes: each dashboard query over a time range reads one of these and never the rows. */
const INDEXES: Readonly<Record<MappingKind, readonly string[][]>> = {
  good: [
    ["ts", "app_id", "platform", "event", "event_name", "event_schema", "contexts"],
    ["ts", "page_url"],
  ],
  bad: [["ts", "bad_type", "failure_signature"]],
  logs: [["ts", "level", "exception_class"], ["exception_class", "ts"]],
  dynamic: [["ts"]],
};

function indexName(table: string, columns: readonly string[]): string {
  return `${table}_by_${columns.join("_")}`;
}

export function columnsFor(family: string): readonly IndexedColumn[] {
  return COLUMNS[defaultMappingKind(family)];
}

/** The SQL that computes a column from a document given as `doc` (a column or a bound parameter). */
export function columnExpression(column: IndexedColumn, doc: string): string | null {
  return column.expression === null ? null : column.expression.replaceAll("$DOC", doc);
}

const BACKFILL_BATCH_ROWS = 20_000;

/**
 * What telemetry_migrations records for a table once it is current: its columns, then (after `|`) its
 * indexes and roll-ups, so a new index or roll-up is added on the next open without back-filling the
 * columns again. Files from before the roll-ups recorded the columns alone.
 */
export function migrationMarker(family: string): string {
  const columns = columnsFor(family).map((column) => column.name).join(",");
  const indexes = INDEXES[defaultMappingKind(family)].map((columns) => columns.join("+")).join(" ");
  const rollups = rollupsSignature(family);
  return `${columns}|${indexes}${rollups ? `|${rollups}` : ""}`;
}

/** What the table's marker says (null: not migrated yet, or no telemetry_migrations table yet). Read only. */
export function currentMarker(db: Database, table: string): string | null {
  try {
    const done = db.query(`SELECT columns FROM telemetry_migrations WHERE table_name = ?`).get(table) as { columns: string } | null;
    return done?.columns ?? null;
  } catch {
    return null;
  }
}

/**
 * Makes a family's table ready for the sink and the dashboard: created with its indexed columns, or, when
 * an older sink wrote it, brought up to date: the missing columns added, filled from each row's JSON in
 * batches of rows (short transactions, so sinks writing meanwhile wait milliseconds, not minutes), then
 * indexed. Readers see the same rows throughout. A table is marked done only after its last step, so an
 * interrupted migration is finished by the next open. Each step is one IMMEDIATE transaction: it takes the
 * write lock once, up front, waiting its turn (a deferred one that reads first and then writes would fail
 * at once when another sink wrote in between), so sinks opening one file together (`make up` starts
 * several) queue briefly instead of failing.
 */
export function prepareTable(db: Database, table: string, family: string): void {
  const columns = columnsFor(family);
  const wanted = migrationMarker(family);
  const done = currentMarker(db, table);
  if (done === wanted) return;
  // Columns already filled (an older sink's file, before an index or roll-up was added): index and roll up only.
  if (done?.split("|")[0] === wanted.split("|")[0]) {
    db.transaction(() => indexAndMark(db, table, family, wanted)).immediate();
    return;
  }

  let rows = 0;
  db.transaction(() => {
    db.run(`CREATE TABLE IF NOT EXISTS telemetry_migrations (table_name TEXT PRIMARY KEY, columns TEXT NOT NULL)`);
    db.run(
      `CREATE TABLE IF NOT EXISTS "${table}" (id TEXT PRIMARY KEY, time TEXT, index_name TEXT NOT NULL, doc TEXT NOT NULL, ` +
        `${columns.map((column) => `${column.name} ${column.type}`).join(", ")})`,
    );
    db.run(`CREATE INDEX IF NOT EXISTS "${table}_time" ON "${table}" (time)`);
    const present = new Set((db.query(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((row) => row.name));
    for (const column of columns) {
      if (!present.has(column.name)) db.run(`ALTER TABLE "${table}" ADD COLUMN ${column.name} ${column.type}`);
    }
    rows = (db.query(`SELECT max(rowid) AS last FROM "${table}"`).get() as { last: number | null }).last ?? 0;
    // Roll-ups are rebuilt after the back-fill: their triggers would otherwise run for every row rewritten.
    dropRollups(db, table, family);
    // A new (or empty) table is indexed at once: one write lock for the whole preparation.
    if (rows === 0) indexAndMark(db, table, family, wanted);
  }).immediate();
  if (rows === 0) return;

  const computed = columns.filter((column) => column.expression !== null);
  const assignments = [
    `ts = CAST(round(unixepoch(time, 'subsec') * 1000) AS INTEGER)`,
    ...computed.map((column) => `${column.name} = iif(json_valid(doc), ${columnExpression(column, "doc")}, NULL)`),
  ].join(", ");
  const parsed = columns.filter((column) => column.fromDocument !== undefined);
  const update = db.prepare(`UPDATE "${table}" SET ${assignments} WHERE rowid > ? AND rowid <= ?`);
  const setParsed = db.prepare(
    `UPDATE "${table}" SET ${parsed.map((column) => `${column.name} = ?`).join(", ") || "ts = ts"} WHERE rowid = ?`,
  );
  const rowsOf = db.prepare(`SELECT rowid AS rowid, doc FROM "${table}" WHERE rowid > ? AND rowid <= ?`);
  for (let from = 0; from < rows; from += BACKFILL_BATCH_ROWS) {
    const to = from + BACKFILL_BATCH_ROWS;
    db.transaction(() => {
      update.run(from, to);
      if (parsed.length === 0) return;
      for (const row of rowsOf.all(from, to) as { rowid: number; doc: string }[]) {
        setParsed.run(...parsedValues(parsed, row.doc), row.rowid);
      }
    }).immediate();
  }
  db.transaction(() => indexAndMark(db, table, family, wanted)).immediate();
}

/**
 * Sort indexes one version kept (on 2026-12-02, for under an hour): every write paid for them, and nothing
 * reads them now, so a file that has them loses them on its next migration.
 */
const RETIRED_INDEXES: readonly string[][] = [
  ...["app_id", "platform", "event", "event_name", "event_schema", "page_url", "bad_type", "level", "logger_name"].map((column) => [column, "ts"]),
];

function indexAndMark(db: Database, table: string, family: string, wanted: string): void {
  for (const retired of RETIRED_INDEXES) db.run(`DROP INDEX IF EXISTS "${indexName(table, retired)}"`);
  for (const indexed of INDEXES[defaultMappingKind(family)]) {
    db.run(`CREATE INDEX IF NOT EXISTS "${indexName(table, indexed)}" ON "${table}" (${indexed.join(", ")})`);
  }
  createRollups(db, table, family);
  db.run(
    `INSERT INTO telemetry_migrations (table_name, columns) VALUES (?, ?) ON CONFLICT (table_name) DO UPDATE SET columns = excluded.columns`,
    [table, wanted],
  );
}

/** The values of the columns computed in JS, in order; nulls when the text is not JSON. */
export function parsedValues(columns: readonly IndexedColumn[], doc: string): (string | null)[] {
  let document: unknown;
  try {
    document = JSON.parse(doc);
  } catch {
    return columns.map(() => null);
  }
  return columns.map((column) => column.fromDocument!(document));
}
