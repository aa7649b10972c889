/** `telemetry sink` into the embedded SQLite store, through the real process. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { badRows, collectText, enrichedEvents, lines, logRecords, repo, shell, telemetry } from "./helpers";
import { spawnChild } from "../fixtures/processes";

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "telemetry-sink-sqlite-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function query<T>(path: string, sql: string): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.query(sql).all() as T[];
  } finally {
    db.close();
  }
}

function count(path: string, table: string): number {
  return query<{ n: number }>(path, `SELECT count(*) AS n FROM "${table}"`)[0]!.n;
}

describe("sink into SQLite", () => {
  test("good, bad and logs are kept apart, each record once, queryable with plain SQL", async () => {
    const db = join(work, "routing.db");
    const input = lines([...enrichedEvents(300), ...badRows(4), ...logRecords(12, "2025-11-27"), ...logRecords(8, "2025-11-28")]);
    const run = await telemetry(["sink", "--db", db, "--stats-interval", "0"], input);
    expect(run.code).toBe(0);
    expect(count(db, "good")).toBe(300);
    expect(count(db, "bad")).toBe(4);
    expect(count(db, "logs")).toBe(20);
    expect(query(db, "SELECT index_name, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1")).toEqual([
      { index_name: "logs-2025.11.27", n: 12 },
      { index_name: "logs-2025.11.28", n: 8 },
    ]);
    expect(query(db, "SELECT id, time, doc ->> '$.page_title' AS title FROM good WHERE id LIKE '%000000000007'")).toEqual([
      { id: "00000000-0000-4000-8000-000000000007", time: "2025-11-27T10:00:07.000Z", title: "Page 7" },
    ]);
    expect(query(db, "PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
  }, 30_000);

  test("replaying the same archive twice changes nothing", async () => {
    const db = join(work, "replay.db");
    const archive = join(work, "archive");
    await Bun.write(join(archive, "raw-20251127T100000Z-000001.ndjson"), lines([...enrichedEvents(200), ...logRecords(5, "2025-11-27")]));
    writeFileSync(join(archive, "raw-20251127T110000Z-000002.ndjson.gz"), gzipSync(lines([...badRows(3), ...enrichedEvents(40, 200)])));
    const snapshot = () => query(db, "SELECT (SELECT count(*) FROM good) AS good, (SELECT count(*) FROM bad) AS bad, (SELECT count(*) FROM logs) AS logs");
    for (let round = 0; round < 2; round++) {
      const run = await shell(`telemetry replay ${archive} | telemetry sink --db ${db} --stats-interval 0`);
      expect(run.code).toBe(0);
      expect(snapshot()).toEqual([{ good: 240, bad: 3, logs: 5 }]);
    }
  }, 30_000);

  test("sink-good and sink-bad write into one file at the same time", async () => {
    const db = join(work, "shared.db");
    const [good, bad] = await Promise.all([
      telemetry(["sink-good", "--db", db, "--batch-docs", "50", "--stats-interval", "0"], lines(enrichedEvents(2000))),
      telemetry(["sink-bad", "--db", db, "--batch-docs", "10", "--stats-interval", "0"], lines(badRows(500))),
    ]);
    expect([good.code, bad.code]).toEqual([0, 0]);
    expect(count(db, "good")).toBe(2000);
    expect(count(db, "bad")).toBe(500);
  }, 30_000);

  test("a database locked by another writer is waited for; nothing is lost", async () => {
    const db = join(work, "locked.db");
    const holder = new Database(db, { create: true });
    holder.run("PRAGMA journal_mode = WAL");
    holder.run("BEGIN IMMEDIATE");
    const child = spawnChild(
      [join(repo, "bin/telemetry"), "sink-good", "--db", db, "--stats-interval", "0"],
      { stdin: new Blob([lines(enrichedEvents(100))]), stdout: "ignore", stderr: "pipe" },
    );
    await Bun.sleep(500);
    holder.run("COMMIT");
    holder.close();
    expect(await child.exited).toBe(0);
    expect(count(db, "good")).toBe(100);
  }, 30_000);

  test("SIGTERM stores what was read and exits 0", async () => {
    const db = join(work, "sigterm.db");
    const child = spawnChild(
      [join(repo, "bin/telemetry"), "sink", "--db", db, "--batch-ms", "600000", "--batch-docs", "100000", "--stats-interval", "0.1"],
      { stdin: "pipe", stdout: "ignore", stderr: "pipe" },
    );
    const stderr = collectText(child.stderr);
    child.stdin.write(lines(enrichedEvents(250)));
    await child.stdin.flush();
    const deadline = Date.now() + 20_000;
    while (!stderr.text().includes("total in 250") && Date.now() < deadline) await Bun.sleep(50);
    expect(stderr.text()).toContain("total in 250");
    expect(count(db, "good")).toBe(0);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    await stderr.done;
    expect(count(db, "good")).toBe(250);
  }, 30_000);

  test("lines that are not records become bad rows; an unusable database path is one sentence and exit 2", async () => {
    const db = join(work, "mixed.db");
    const badPath = join(work, "mixed.bad.ndjson");
    const run = await telemetry(["sink", "--db", db, "--bad", badPath, "--stats-interval", "0"], `${enrichedEvents(1)[0]}\nnot json\n[1,2]\n`);
    expect(run.code).toBe(0);
    expect(count(db, "good")).toBe(1);
    const rows = readFileSync(badPath, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(rows.map((row) => row.data.payload)).toEqual(["not json", "[1,2]"]);

    writeFileSync(join(work, "a-file"), "");
    const refused = await telemetry(["sink", "--db", join(work, "a-file", "x.db"), "--stats-interval", "0"], enrichedEvents(1)[0]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("cannot open the SQLite database");
  }, 30_000);
});
