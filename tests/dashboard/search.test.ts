/**
 * The search box: what liqe cannot read is a message with a position; the SQL made from a search binds
 * every value and refuses field names that are not paths; and the same searches find the same records on
 * SQLite and on the real Elasticsearch, over the store filled through the real pipeline.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { EsDashboardStore } from "../../stages/dashboard/es-store";
import { parseSearch, SearchError } from "../../stages/dashboard/search";
import { toSql } from "../../stages/dashboard/sql-search";
import { SqliteDashboardStore } from "../../stages/dashboard/sqlite-store";
import type { DashboardStore } from "../../stages/dashboard/store";
import { records } from "../../stages/dashboard/queries";
import { filledStore, type Filled } from "./fill";

function problem(text: string): { message: string; position: number } {
  try {
    parseSearch(text, "good");
  } catch (error) {
    if (error instanceof SearchError) return { message: error.message, position: error.position };
    throw error;
  }
  throw new Error(`"${text}" was read`);
}

describe("reading a search", () => {
  test("what cannot be read is one message naming the position", () => {
    expect(problem("app_id:(a OR b)")).toMatchObject({ position: 7 });
    expect(problem("app_id:(a OR b)").message).toContain("field:a OR field:b");
    expect(problem("app_id:a AND")).toMatchObject({ position: 12 });
    expect(problem("page_url:https://x/")).toMatchObject({ message: expect.stringContaining("in quotes") });
    expect(problem("br_viewwidth:wide")).toMatchObject({ message: expect.stringContaining("is a number"), position: 13 });
    expect(problem("app_id:/sh.p/")).toMatchObject({ message: expect.stringContaining("regular expressions") });
    expect(problem('"x;y":1')).toMatchObject({ message: expect.stringContaining("is not a field name"), position: 0 });
    expect(parseSearch("   ", "good")).toBeNull();
  });

  test("SQL from a search binds every value; field paths are bound too", () => {
    const injection = toSql(parseSearch(`app_id:"x' OR '1'='1" OR user_id:"1; DROP TABLE good"`, "good")!);
    expect(injection.sql).not.toContain("DROP");
    expect(injection.sql).not.toContain("'1'='1");
    expect(injection.params).toEqual(["x' OR '1'='1", '$."user_id"', "1; DROP TABLE good"]);
    const nested = toSql(parseSearch("contexts_com_acme_user_1.id:>3 AND NOT platform:web*", "good")!);
    expect(nested.params).toEqual(['$."contexts_com_acme_user_1"', '$."id"', 3, "web*"]);
    expect(nested.sql).toContain("platform GLOB ?");
  });

  test("a search that tries to inject finds nothing and breaks nothing in a real SQLite file", async () => {
    const filled = await filledStore();
    const store = new SqliteDashboardStore(filled.db);
    try {
      const all = { from: 0, to: Date.now() + 86_400_000 };
      expect(await store.count("good", all, parseSearch(`app_id:"x' OR '1'='1"`, "good"))).toBe(0);
      expect(await store.count("good", all, parseSearch(`"'); DELETE FROM good; --"`, "good"))).toBe(0);
      expect(await store.count("good", all, null)).toBe(filled.good.length);
      const db = new Database(filled.db, { readonly: true });
      expect((db.query("SELECT count(*) AS n FROM good").get() as { n: number }).n).toBe(filled.good.length);
      db.close();
    } finally {
      await store.close();
    }
  }, 180_000);
});

const SEARCHES: [string, "good" | "bad" | "logs"][] = [
  ["event_name:page_view AND app_id:shop-*", "good"],
  ["NOT event:page_view", "good"],
  ["-app_id:shop-web", "good"],
  ["se_value:>1", "good"],
  ["pp_yoffset_max:[100 TO 500]", "good"],
  ["platform:srv AND (event:struct OR event:unstruct)", "good"],
  ["page_title:Cart", "good"],
  ["contexts_com_snowplowanalytics_snowplow_web_page_1.id:a1b2c3d4-0000-4000-8000-000000000001", "good"],
  ["unstruct_event_com_snowplowanalytics_snowplow_link_click_1.targetUrl:*docs", "good"],
  ['event_schema:"iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"', "good"],
  ["onerror", "good"],
  ["type:schema_violations", "bad"],
  ["type:*_failures", "bad"],
  ["level:ERROR", "logs"],
  ["exception.class:java.io.IOException", "logs"],
  ['message:"ORDER FAILED"', "logs"],
  ["logger_name:example.orders.* AND NOT level:DEBUG", "logs"],
];

describe.if(Boolean(process.env.ES_URL))("the same searches on SQLite and Elasticsearch", () => {
  let filled: Filled;
  let sqlite: DashboardStore;
  let es: DashboardStore;
  beforeAll(async () => {
    filled = await filledStore();
    sqlite = new SqliteDashboardStore(filled.db);
    es = new EsDashboardStore({ urls: [filled.es!.url], families: { good: filled.es!.good, bad: filled.es!.bad, logs: filled.es!.logs } });
  }, 180_000);
  afterAll(async () => {
    await sqlite?.close();
    await es?.close();
  });

  for (const [text, family] of SEARCHES) {
    test(`${family}: ${text}`, async () => {
      const request = { range: { from: 0, to: Date.now() + 86_400_000 }, condition: parseSearch(text, family), order: "desc" as const, offset: 0, limit: 100 };
      const [onSqlite, onEs] = await Promise.all([records(sqlite, family, request), records(es, family, request)]);
      const ids = (page: { rows: { doc: Record<string, unknown> }[] }) => page.rows.map((row) => JSON.stringify(row.doc)).sort();
      expect(onSqlite.total).toBe(onEs.total);
      expect(ids(onSqlite)).toEqual(ids(onEs));
      expect(onSqlite.total).toBeGreaterThan(0);
    });
  }
});
