/**
 * Roll-up tables beside a SQLite family table: how many rows fall in each hour and each UTC day for each
 * combination of some indexed columns, so the dashboard's 30-day counts, charts and top lists read a few
 * thousand roll-up rows instead of a million events.
 *
 * Triggers keep them, so every write path (the sink's upsert, a migration's back-fill, a reset's delete,
 * a person's sqlite3 shell) changes the roll-up in the same transaction as the rows: a reader's snapshot
 * always sees both agree. An overwrite (the same event id sent again) moves its count from the old
 * combination to the new one, so re-sends never count twice.
 *
 * A roll-up row's key is its columns as a JSON array, so NULL values (an event without app_id) group like
 * any other value while the table keeps a real primary key; the columns are kept beside the key, under
 * their own names, so a search condition over them is the same SQL as over the family table.
 */
import type { Database } from "bun:sqlite";
import { defaultMappingKind, type MappingKind } from "./templates";

export interface Rollup {
  /** The table is `<family table>_<name>`. */
  name: string;
  columns: readonly string[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Bucket widths in ms, widest first: a long range reads days, its ragged ends hours, then rows. */
export const ROLLUP_LEVELS: readonly number[] = [DAY, HOUR];

const ROLLUPS: Readonly<Record<MappingKind, readonly Rollup[]>> = {
  good: [
    // Low-cardinality columns together: a search over several of them is still answered by one roll-up.
    { name: "rollup", columns: ["app_id", "platform", "event", "event_name", "event_schema", "contexts"] },
    // Pages can be many: alone, so they do not multiply the combinations above.
    { name: "rollup_page", columns: ["page_url"] },
  ],
  bad: [],
  logs: [],
  dynamic: [],
};

export function rollupsFor(family: string): readonly Rollup[] {
  return ROLLUPS[defaultMappingKind(family)];
}

export function rollupTable(table: string, rollup: Rollup): string {
  return `${table}_${rollup.name}`;
}

/** Whether a table is one of the roll-ups (a table of counts, not of documents), whatever its family is named. */
export function isRollupTable(name: string): boolean {
  return Object.values(ROLLUPS).some((rollups) => rollups.some((rollup) => name.endsWith(`_${rollup.name}`)));
}

/** What the migration marker records, so a change to the roll-ups rebuilds them on the next open. */
export function rollupsSignature(family: string): string {
  return rollupsFor(family)
    .map((rollup) => `${rollup.name}(${rollup.columns.join(",")})`)
    .join(";");
}

/** The start of the bucket of width `width` holding the ms time `ts`, floored (also before 1970). */
export function bucketSql(ts: string, width: number): string {
  return `(${ts} - ((${ts} % ${width}) + ${width}) % ${width})`;
}

const TRIGGERS = ["insert", "update", "delete"] as const;

/** Drops a family table's roll-ups and their triggers (before a rebuild, or before a back-fill rewrites every row). */
export function dropRollups(db: Database, table: string, family: string): void {
  for (const rollup of rollupsFor(family)) {
    for (const kind of TRIGGERS) db.run(`DROP TRIGGER IF EXISTS "${rollupTable(table, rollup)}_on_${kind}"`);
    db.run(`DROP TABLE IF EXISTS "${rollupTable(table, rollup)}"`);
  }
}

/**
 * Creates a family table's roll-ups, fills them from the rows already stored, and adds the triggers that
 * keep them. Run inside the caller's write transaction, so no row is written between the fill and the
 * triggers.
 */
export function createRollups(db: Database, table: string, family: string): void {
  dropRollups(db, table, family);
  for (const rollup of rollupsFor(family)) {
    const name = rollupTable(table, rollup);
    const columns = rollup.columns;
    const key = (row: string) => `json_array(${columns.map((column) => `${row}${column}`).join(", ")})`;
    db.run(
      `CREATE TABLE "${name}" (level INTEGER NOT NULL, bucket INTEGER NOT NULL, key TEXT NOT NULL, ` +
        `${columns.map((column) => `${column} TEXT`).join(", ")}, n INTEGER NOT NULL, PRIMARY KEY (level, bucket, key)) WITHOUT ROWID`,
    );
    for (const level of ROLLUP_LEVELS) {
      db.run(
        `INSERT INTO "${name}" (level, bucket, key, ${columns.join(", ")}, n)
         SELECT ${level}, ${bucketSql("ts", level)}, ${key("")}, ${columns.join(", ")}, count(*) FROM "${table}"
         WHERE ts IS NOT NULL GROUP BY 2, 3`,
      );
    }
    // One statement per level and direction; `row` is NEW or OLD.
    const add = (row: string) =>
      ROLLUP_LEVELS.map(
        (level) =>
          `INSERT INTO "${name}" (level, bucket, key, ${columns.join(", ")}, n) ` +
          `SELECT ${level}, ${bucketSql(`${row}.ts`, level)}, ${key(`${row}.`)}, ${columns.map((column) => `${row}.${column}`).join(", ")}, 1 ` +
          `WHERE ${row}.ts IS NOT NULL ON CONFLICT (level, bucket, key) DO UPDATE SET n = n + 1;`,
      ).join("\n");
    const remove = (row: string) =>
      ROLLUP_LEVELS.map(
        (level) =>
          `UPDATE "${name}" SET n = n - 1 WHERE ${row}.ts IS NOT NULL AND level = ${level} ` +
          `AND bucket = ${bucketSql(`${row}.ts`, level)} AND key = ${key(`${row}.`)};`,
      ).join("\n");
    db.run(`CREATE TRIGGER "${name}_on_insert" AFTER INSERT ON "${table}" BEGIN\n${add("NEW")}\nEND`);
    db.run(`CREATE TRIGGER "${name}_on_update" AFTER UPDATE ON "${table}" BEGIN\n${remove("OLD")}\n${add("NEW")}\nEND`);
    db.run(`CREATE TRIGGER "${name}_on_delete" AFTER DELETE ON "${table}" BEGIN\n${remove("OLD")}\nEND`);
  }
}
