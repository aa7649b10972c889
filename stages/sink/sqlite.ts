/**
 * SQLite as a store, for one box without Elasticsearch: one table per index family (`good`, `bad`,
 * `logs`…), each row the document's id, record time, concrete index name and JSON text, so plain SQL
 * answers questions: `SELECT doc ->> '$.app_id', count(*) FROM good GROUP BY 1`.
 *
 * WAL lets readers (the dashboard, a person's sqlite3 shell) work while sinks write, and lets several
 * sinks (`make up` runs three) share the file; each batch is one transaction, the unit that makes SQLite
 * fast. Rows are upserted on the id, the same overwrite-on-resend rule as the Elasticsearch `index` op.
 *
 * Beside the JSON each row has indexed columns (record time in ms, app_id, event_name, bad-row type,
 * log level… see ./sqlite-columns) that the dashboard filters and groups by; a file written before they
 * existed is migrated when a sink opens it.
 */
import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { SinkDocument } from "./document";
import { columnExpression, columnsFor, parsedValues, prepareTable, type IndexedColumn } from "./sqlite-columns";
import type { RequestOutcome } from "./retry";
import { StoreConfigError, type Store } from "./sink";

/** A family name as a table name: letters, digits and `_`, not starting with a digit. */
export function tableName(family: string): string {
  const name = family.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(name) ? name : `t_${name}`;
}

interface Upsert {
  statement: Statement;
  /** The same upsert with the JSON columns left empty, for a document SQLite's JSON parser refuses. */
  withoutJsonColumns: Statement;
  parsed: readonly IndexedColumn[];
}

export class SqliteStore implements Store {
  readonly description: string;
  private readonly db: Database;
  private readonly upserts = new Map<string, Upsert>();

  constructor(readonly path: string, options: { busyTimeoutMs?: number } = {}) {
    this.description = `SQLite ${path}`;
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path, { create: true, strict: true });
      // First, so that every statement below waits for a sink opening the same file at the same moment
      // (`make up` starts three) instead of failing with "database is locked".
      this.db.run(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
      // Enriched events are 1–4 KB: on 16 KB pages most fit beside others instead of spilling into
      // overflow pages (about 1.5× the insert rate measured here). Only takes effect on a new file.
      this.db.run("PRAGMA page_size = 16384");
      this.db.run("PRAGMA journal_mode = WAL");
      // NORMAL in WAL mode loses no committed transaction on a process crash, only on power loss.
      this.db.run("PRAGMA synchronous = NORMAL");
      // Checkpoints (WAL pages copied into the file, two fsyncs) took 60% of the write time at the
      // default of 1000 pages; every 4096 pages (64 MB on 16 KB pages) halves that. A commit is as
      // durable either way; the WAL file can grow to that size (plus one batch) between checkpoints.
      this.db.run("PRAGMA wal_autocheckpoint = 4096");
      // Each upsert in a batch's transaction keeps temporary pages (its statement journal, so that it alone
      // can be undone): in a temporary file that was about 35 writes of up to 16 KB per row and most of the
      // sink's system time; in memory they are copies, freed when the statement ends.
      this.db.run("PRAGMA temp_store = MEMORY");
    } catch (error) {
      throw new StoreConfigError(`cannot open the SQLite database ${path}: ${(error as Error).message}`);
    }
  }

  /** Creates the tables for these families now, so an empty run still leaves a queryable database. */
  prepareTables(families: Iterable<string>): void {
    try {
      for (const family of families) this.upsertFor(family);
    } catch {
      // Locked by another writer past the busy timeout: the first write creates the tables and retries.
    }
  }

  private upsertFor(family: string): Upsert {
    let upsert = this.upserts.get(family);
    if (upsert) return upsert;
    const table = tableName(family);
    const columns = columnsFor(family);
    prepareTable(this.db, table, family);
    // ?1 id, ?2 time, ?3 index name, ?4 the JSON, ?5 time in ms, then the columns computed in JS.
    const parsed = columns.filter((column) => column.fromDocument !== undefined);
    const upsertWith = (json: (column: IndexedColumn) => string) => {
      const values = columns.map((column) =>
        column.name === "ts" ? "?5" : column.fromDocument ? `?${6 + parsed.indexOf(column)}` : json(column),
      );
      const names = ["id", "time", "index_name", "doc", ...columns.map((column) => column.name)];
      return this.db.prepare(
        `INSERT INTO "${table}" (${names.join(", ")}) VALUES (?1, ?2, ?3, ?4, ${values.join(", ")})
         ON CONFLICT (id) DO UPDATE SET ${names.slice(1).map((name) => `${name} = excluded.${name}`).join(", ")}`,
      );
    };
    upsert = {
      statement: upsertWith((column) => columnExpression(column, "?4")!),
      withoutJsonColumns: upsertWith(() => "NULL"),
      parsed,
    };
    this.upserts.set(family, upsert);
    return upsert;
  }

  private readonly writeAll = (documents: SinkDocument[]) => {
    for (const document of documents) {
      const upsert = this.upsertFor(document.family);
      const time = document.time;
      const values = [
        document.id,
        time ? time.toISOString() : null,
        document.index,
        document.source,
        time ? time.getTime() : null,
        ...(upsert.parsed.length === 0 ? [] : parsedValues(upsert.parsed, document.source)),
      ];
      try {
        upsert.statement.run(...values);
      } catch (error) {
        // Only this statement failed; the batch's transaction goes on.
        if (!/malformed JSON|JSON nested too deep/i.test((error as Error).message)) throw error;
        upsert.withoutJsonColumns.run(...values);
      }
    }
  };

  async write(documents: SinkDocument[]): Promise<RequestOutcome> {
    try {
      this.db.transaction(this.writeAll)(documents);
    } catch (error) {
      // SQLITE_BUSY (another writer held the lock past the timeout), SQLITE_FULL (disk full), I/O errors:
      // the transaction rolled back whole, so the batch is retried whole.
      return { kind: "retry", reason: (error as Error).message };
    }
    return { kind: "items", items: documents.map(() => ({ kind: "done" }) as const) };
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
