/**
 * SQLite as a store, for one box without Elasticsearch: one table per index family (`good`, `bad`,
 * `logs`…), each row the document's id, record time, concrete index name and JSON text, so plain SQL
 * answers questions: `SELECT doc ->> '$.app_id', count(*) FROM good GROUP BY 1`.
 *
 * WAL lets readers (the dashboard, a person's sqlite3 shell) work while sinks write, and lets several
 * sinks (`make up` runs three) share the file; each batch is one transaction, the unit that makes SQLite
 * fast. Rows are upserted on the id, the same overwrite-on-resend rule as the Elasticsearch `index` op.
 */
import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { SinkDocument } from "./document";
import type { RequestOutcome } from "./retry";
import { StoreConfigError, type Store } from "./sink";

/** A family name as a table name: letters, digits and `_`, not starting with a digit. */
export function tableName(family: string): string {
  const name = family.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(name) ? name : `t_${name}`;
}

export class SqliteStore implements Store {
  readonly description: string;
  private readonly db: Database;
  private readonly upserts = new Map<string, Statement>();

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

  private upsertFor(family: string): Statement {
    let statement = this.upserts.get(family);
    if (statement) return statement;
    const table = tableName(family);
    this.db.run(
      `CREATE TABLE IF NOT EXISTS "${table}" (
         id TEXT PRIMARY KEY,
         time TEXT,
         index_name TEXT NOT NULL,
         doc TEXT NOT NULL
       )`,
    );
    this.db.run(`CREATE INDEX IF NOT EXISTS "${table}_time" ON "${table}" (time)`);
    statement = this.db.prepare(
      `INSERT INTO "${table}" (id, time, index_name, doc) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET time = excluded.time, index_name = excluded.index_name, doc = excluded.doc`,
    );
    this.upserts.set(family, statement);
    return statement;
  }

  private readonly writeAll = (documents: SinkDocument[]) => {
    for (const document of documents) {
      this.upsertFor(document.family).run(
        document.id,
        document.time ? document.time.toISOString() : null,
        document.index,
        document.source,
      );
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
