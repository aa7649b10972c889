/**
 * The SQLite store's indexed columns: filled on write from each document, and added, back-filled and
 * indexed when a file written by an older sink (id, time, index_name, doc only) is opened.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { routeByKind, toDocument } from "../../stages/sink/document";
import { SqliteStore } from "../../stages/sink/sqlite";
import { failureSignature } from "../../stages/shared/failure-signature";

const work = mkdtempSync(join(tmpdir(), "telemetry-sqlite-columns-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const event = (n: number, extra: object = {}) => ({
  app_id: `app-${n % 3}`,
  platform: "web",
  event: "unstruct",
  event_id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
  collector_tstamp: `2025-11-27T10:00:${String(n % 60).padStart(2, "0")}.250Z`,
  event_vendor: "com.acme",
  event_name: "checkout",
  event_format: "jsonschema",
  event_version: "1-0-2",
  page_url: `https://shop.example.com/${n}`,
  contexts_com_b_user_1: [{ id: n }],
  contexts_com_a_page_1: [{}],
  ...extra,
});
const badRow = (value: string) => ({
  schema: "iglu:com.snowplowanalytics.snowplow.badrows/tracker_protocol_violations/jsonschema/1-0-1",
  data: {
    processor: { artifact: "telemetry-enrich", version: "0.1.0" },
    failure: {
      timestamp: "2025-11-27T10:00:00.000Z",
      vendor: "com.snowplowanalytics.snowplow",
      version: "tp2",
      messages: [{ field: "e", value, expectation: "an event type: pv, pp, se, ue, tr, ti" }],
    },
    payload: { vendor: "com.snowplowanalytics.snowplow", version: "tp2" },
  },
});
const log = { "@timestamp": "2025-11-27T12:00:00.000Z", level: "ERROR", logger_name: "shop.Pay", message: "x", exception: { class: "java.io.IOException" } };

function documents(records: object[]) {
  return records.map((record, i) => {
    const text = JSON.stringify(record);
    const document = toDocument({ line: i + 1, text, value: record } as never, routeByKind());
    if ("problem" in document) throw new Error(document.problem);
    return document;
  });
}

const GOOD_COLUMNS = "ts, app_id, platform, event, event_name, event_schema, page_url, contexts";

test("a sink fills the columns from each document it writes, and refreshes them on an overwrite", async () => {
  const path = join(work, "new.db");
  const store = new SqliteStore(path);
  await store.write(documents([event(1), badRow("zz"), log]));
  await store.write(documents([event(1, { app_id: "changed" })]));
  await store.close();

  const db = new Database(path, { readonly: true });
  expect(db.query(`SELECT ${GOOD_COLUMNS} FROM good`).all()).toEqual([
    {
      ts: Date.parse("2025-11-27T10:00:01.250Z"),
      app_id: "changed",
      platform: "web",
      event: "unstruct",
      event_name: "checkout",
      event_schema: "iglu:com.acme/checkout/jsonschema/1-0-2",
      page_url: "https://shop.example.com/1",
      contexts: "contexts_com_a_page_1 contexts_com_b_user_1",
    },
  ]);
  expect(db.query("SELECT bad_type, failure_signature FROM bad").get()).toEqual({
    bad_type: "tracker_protocol_violations",
    failure_signature: failureSignature(badRow("zz")),
  });
  expect(db.query("SELECT level, logger_name, exception_class FROM logs").get()).toEqual({
    level: "ERROR",
    logger_name: "shop.Pay",
    exception_class: "java.io.IOException",
  });
  // The overview's group-by reads only the covering index, never the JSON.
  const plan = db.query("EXPLAIN QUERY PLAN SELECT app_id, count(*) FROM good WHERE ts >= 0 GROUP BY app_id").all() as { detail: string }[];
  expect(plan.map((row) => row.detail).join(" | ")).toContain("COVERING INDEX");
  db.close();
});

test("a file written before the columns existed is migrated on open: columns added, back-filled, indexed", async () => {
  const path = join(work, "old.db");
  const old = new Database(path, { create: true });
  for (const table of ["good", "bad", "logs"]) {
    old.run(`CREATE TABLE "${table}" (id TEXT PRIMARY KEY, time TEXT, index_name TEXT NOT NULL, doc TEXT NOT NULL)`);
  }
  const insert = (table: string, id: string, time: string, doc: object) =>
    old.run(`INSERT INTO "${table}" VALUES (?, ?, ?, ?)`, [id, time, table, JSON.stringify(doc)]);
  // More rows than one back-fill batch, so the batching is exercised.
  old.transaction(() => {
    for (let n = 0; n < 25_000; n++) insert("good", `id-${n}`, event(n).collector_tstamp, event(n));
  })();
  insert("bad", "b1", "2025-11-27T10:00:00.000Z", badRow("aa"));
  insert("bad", "b2", "2025-11-27T10:00:00.000Z", badRow("bb"));
  insert("logs", "l1", log["@timestamp"], log);
  old.close();

  const store = new SqliteStore(path);
  store.prepareTables(["good", "bad", "logs"]);
  await store.close();

  const db = new Database(path, { readonly: true });
  expect(db.query("SELECT count(*) AS n FROM good WHERE ts IS NULL OR app_id IS NULL OR event_schema IS NULL").get()).toEqual({ n: 0 });
  expect(db.query("SELECT app_id, count(*) AS n FROM good GROUP BY app_id ORDER BY app_id").all()).toEqual([
    { app_id: "app-0", n: 8334 },
    { app_id: "app-1", n: 8333 },
    { app_id: "app-2", n: 8333 },
  ]);
  expect(db.query("SELECT ts FROM good WHERE id = 'id-7'").get()).toEqual({ ts: Date.parse(event(7).collector_tstamp) });
  // Two rows rejected for the same cause with different values: one signature.
  expect(db.query("SELECT failure_signature AS s, count(*) AS n FROM bad GROUP BY 1").all()).toEqual([
    { s: failureSignature(badRow("aa")), n: 2 },
  ]);
  expect(db.query("SELECT exception_class FROM logs").get()).toEqual({ exception_class: "java.io.IOException" });
  const indexes = (db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'good'").all() as { name: string }[]).map((r) => r.name);
  expect(indexes).toContain("good_by_ts_page_url");
  // Old readers' queries still answer.
  expect(db.query("SELECT doc ->> '$.app_id' AS a FROM good WHERE id = 'id-4'").get()).toEqual({ a: "app-1" });
  db.close();
}, 60_000);

test("failure signatures keep the cause and drop the values", () => {
  expect(failureSignature(badRow("aa"))).toBe(failureSignature(badRow("something else")));
  expect(failureSignature(badRow("aa"))).toContain("an event type");
  const sized = (n: number) => ({
    schema: "iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0",
    data: { failure: { timestamp: "x", maximumAllowedSizeBytes: 10, actualSizeBytes: n, expectation: `expected at most 10 bytes, got ${n}` } },
  });
  expect(failureSignature(sized(11))).toBe(failureSignature(sized(99)));
  const generic = (error: string) => ({ schema: "iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/1-0-0", data: { failure: { errors: [error] } } });
  expect(failureSignature(generic('mapper_parsing_exception "abc"'))).not.toBe(failureSignature(generic("document_parsing_exception")));
});
