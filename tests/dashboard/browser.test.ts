/**
 * The dashboard's pages in Debian's Chromium (playwright-core), over a store filled through the real
 * pipeline, on SQLite and on the real Elasticsearch: the numbers each page shows equal what the sinks
 * stored, search and sorting work, an event opens, a bad-row group leads to its rows, an exception group
 * shows its stack trace, the Live page receives rows as a real sink stores them, an unreachable store is
 * said, and an event carrying <script> and <img onerror> stays text. Screenshots of every page are kept
 * under a temporary folder, printed at the start.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../fixtures/chromium";
import { telemetry, uniqueName } from "../sink/helpers";
import { filledStore, LINK_CLICK, UNKNOWN_SCHEMA, WEB_PAGE, XSS_TITLE, type Filled } from "./fill";
import { startDashboard, stopStartedDashboards, storeArgs, storesToTest, type RunningDashboard } from "./helpers";

const screenshots = mkdtempSync(join(tmpdir(), "telemetry-dashboard-screenshots-"));
console.log(`dashboard screenshots: ${screenshots}`);

let filled: Filled;
let browser: Browser;
beforeAll(async () => {
  filled = await filledStore();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  stopStartedDashboards();
});

/** A fresh page that fails the test on any script error, and records whether anything ran from stored data. */
async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("dialog", (dialog) => {
    problems.push(`a dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { page, problems };
}

/** Opens a page and waits until it has drawn (main[data-ready] changes after each render). */
async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("main[data-ready]");
}

async function rendered(page: Page, action: () => Promise<unknown>): Promise<void> {
  const before = await page.getAttribute("main", "data-ready");
  await action();
  await page.waitForFunction((previous) => document.querySelector("main")?.getAttribute("data-ready") !== previous, before);
}

const countOf = (page: Page, name: string) => page.getAttribute(`.counts [data-count="${name}"]`, "data-value").then(Number);

function tally<T>(items: T[], key: (item: T) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const value = key(item);
    if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return counts;
}

for (const store of storesToTest()) {
  describe(`dashboard pages on ${store}`, () => {
    let dashboard: RunningDashboard;
    const shot = (page: Page, name: string) => page.screenshot({ path: join(screenshots, `${store}-${name}.png`), fullPage: true });

    beforeAll(async () => {
      dashboard = await startDashboard(storeArgs(filled, store), filled.work);
    }, 30_000);
    afterAll(async () => {
      await dashboard?.stop();
    });

    test("Overview: the counts and the top values are the store's", async () => {
      const { page, problems } = await newPage();
      await open(page, `${dashboard.base}/?range=24h`);
      expect(await countOf(page, "good")).toBe(filled.good.length);
      expect(await countOf(page, "bad")).toBe(filled.bad.length);
      expect(await countOf(page, "logs")).toBe(filled.logs.length);
      expect(await countOf(page, "log-errors")).toBe(filled.logs.filter((log) => log.level === "ERROR").length);
      const shown = await page.$$eval('[data-top="app_id"] tr', (rows) => rows.map((row) => [row.getAttribute("data-value"), Number(row.querySelector("[data-count]")!.getAttribute("data-count"))]));
      expect(new Map(shown as [string, number][])).toEqual(tally(filled.good, (event) => event.app_id));
      const schemas = await page.$$eval('[data-top="event_schema"] tr', (rows) => rows.map((row) => row.getAttribute("data-value")));
      expect(schemas).toContain(LINK_CLICK);
      expect(await page.$$eval(".chart canvas", (canvases) => canvases.length)).toBeGreaterThan(0);
      await shot(page, "overview");
      // A top value leads to the events that have it.
      await rendered(page, () => page.click('[data-top="app_id"] tr[data-value="shop-app"]'));
      expect(page.url()).toContain("/events");
      expect(Number(await page.getAttribute("#total", "data-total"))).toBe(filled.good.filter((event) => event.app_id === "shop-app").length);
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);

    test("Events: search, a readable error for a bad search, server-side sort, an event's JSON in the side panel", async () => {
      const { page, problems } = await newPage();
      await open(page, `${dashboard.base}/events?range=24h`);
      expect(Number(await page.getAttribute("#total", "data-total"))).toBe(filled.good.length);
      await page.fill("#q", "event_name:page_view AND app_id:shop-*");
      await rendered(page, () => page.press("#q", "Enter"));
      expect(new URL(page.url()).searchParams.get("q")).toBe("event_name:page_view AND app_id:shop-*");
      expect(Number(await page.getAttribute("#total", "data-total"))).toBe(filled.good.filter((event) => event.event_name === "page_view").length);
      // Every event of the range was searched: no note.
      expect(await page.$("#scanned")).toBeNull();

      await page.fill("#q", "app_id:(a OR b)");
      await rendered(page, () => page.press("#q", "Enter"));
      const problem = await page.textContent("#search-error");
      expect(problem).toContain("character 8");
      expect(problem).toContain("field:a OR field:b");

      await page.fill("#q", "NOT event:page_view");
      await rendered(page, () => page.press("#q", "Enter"));
      await rendered(page, () => page.click('th[data-column="app_id"]'));
      const appIds = await page.$$eval("#records tbody tr", (rows) => rows.map((row) => row.children[3]!.textContent));
      expect(appIds).toEqual([...appIds].sort().reverse());
      expect(appIds).toHaveLength(filled.good.filter((event) => event.event !== "page_view").length);
      await shot(page, "events");

      const first = await page.getAttribute("#records tbody tr", "data-id");
      await rendered(page, () => page.click(`#records tbody tr[data-id="${first}"]`));
      const detail = JSON.parse((await page.textContent("#detail-json"))!);
      expect(detail).toEqual(filled.good.find((event) => event.event_id === first) && expect.objectContaining({ event_id: first }));
      expect(await page.isVisible("#copy")).toBe(true);
      await shot(page, "event-detail");
      expect(problems).toEqual([]);
      await page.close();
    }, 90_000);

    test("an event whose title carries <script> and <img onerror> is shown as text and runs nothing", async () => {
      const { page, problems } = await newPage();
      const xss = filled.good.find((event) => event.page_title === XSS_TITLE)!;
      await open(page, `${dashboard.base}/events?range=24h&q=onerror&cols=collector_tstamp,page_title&id=${xss.event_id}`);
      expect(Number(await page.getAttribute("#total", "data-total"))).toBe(1);
      expect(await page.$$eval("#records tbody td", (cells) => cells.map((cell) => cell.textContent))).toContain(XSS_TITLE);
      expect(await page.textContent("#detail-json")).toContain(JSON.stringify(XSS_TITLE).slice(1, -1));
      expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
      expect(await page.evaluate(() => document.querySelectorAll("main img, aside img, main script").length)).toBe(0);
      await shot(page, "xss");
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);

    test("Bad rows: counts by type, one line per cause, a line leads to its rows with the payload decoded", async () => {
      const { page, problems } = await newPage();
      await open(page, `${dashboard.base}/bad?range=24h`);
      expect(await countOf(page, "bad")).toBe(filled.bad.length);
      const byType = await page.$$eval('[data-top="type"] tr', (rows) => rows.map((row) => [row.getAttribute("data-value"), Number(row.querySelector("[data-count]")!.getAttribute("data-count"))]));
      expect(new Map(byType as [string, number][])).toEqual(tally(filled.bad, (row) => /badrows\/([^/]+)\//.exec(row.schema)![1]));
      const groups = await page.$$eval("#groups tbody tr", (rows) => rows.map((row) => ({ type: row.getAttribute("data-type"), text: row.textContent ?? "", count: Number(row.querySelector("[data-count]")!.getAttribute("data-count")) })));
      expect(groups.reduce((sum, group) => sum + group.count, 0)).toBe(filled.bad.length);
      // The two events of the unknown schema failed the same way with different data: one line, count 2.
      const unknown = groups.filter((group) => group.text.includes(UNKNOWN_SCHEMA));
      expect(unknown.map((group) => group.count)).toEqual([2]);
      expect(groups.filter((group) => group.type === "adapter_failures").map((group) => group.count)).toEqual([2]);
      await shot(page, "bad-rows");

      await rendered(page, () => page.click(`#groups tbody tr:has-text("${UNKNOWN_SCHEMA}")`));
      expect(new URL(page.url()).searchParams.get("type")).toBe("schema_violations");
      expect(Number(await page.getAttribute("#total", "data-total"))).toBe(2);
      const payload = JSON.parse((await page.textContent("#payload"))!);
      const decoded = JSON.stringify(payload);
      expect(decoded).toContain("\"decoded\":{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event");
      expect(decoded).toContain(UNKNOWN_SCHEMA);
      await shot(page, "bad-row-group");
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);

    test("Logs: volume by level, exceptions grouped by root cause with the full stack trace, search", async () => {
      const { page, problems } = await newPage();
      await open(page, `${dashboard.base}/logs?range=24h`);
      expect(await countOf(page, "logs")).toBe(filled.logs.length);
      const withException = filled.logs.filter((log) => log.exception?.class === "java.io.IOException");
      expect(withException.length).toBeGreaterThan(0);
      expect(Number(await page.getAttribute('#exceptions tr[data-class="java.io.IOException"] [data-count]', "data-count"))).toBe(withException.length);
      const trace = await page.textContent("#stack-trace");
      expect(trace).toContain("java.lang.IllegalStateException: could not load order 42");
      expect(trace).toContain("Caused by: java.io.IOException: disk on fire");
      expect(await page.$$eval('.chart[data-chart]', (charts) => charts.map((chart) => chart.getAttribute("data-chart")))).toContainEqual(expect.stringContaining("ERROR"));
      await shot(page, "logs");
      await page.fill("#q", "level:WARN");
      await rendered(page, () => page.press("#q", "Enter"));
      expect(Number(await page.getAttribute("#total", "data-total"))).toBe(filled.logs.filter((log) => log.level === "WARN").length);
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);

    test("Schemas: the registry's schemas with how many stored events use each, and a schema's JSON", async () => {
      const { page, problems } = await newPage();
      await open(page, `${dashboard.base}/schemas?range=24h&used=1`);
      const asEvent = Number(await page.getAttribute(`#schemas tr[data-uri="${LINK_CLICK}"] [data-events]`, "data-events"));
      expect(asEvent).toBe(filled.good.filter((event) => event.event_name === "link_click").length);
      const asEntity = Number(await page.getAttribute(`#schemas tr[data-uri="${WEB_PAGE}"] [data-entities]`, "data-entities"));
      expect(asEntity).toBe(filled.good.filter((event) => event.contexts_com_snowplowanalytics_snowplow_web_page_1).length);
      await rendered(page, () => page.click(`#schemas tr[data-uri="${LINK_CLICK}"]`));
      expect(JSON.parse((await page.textContent("#schema-json"))!).self).toMatchObject({ name: "link_click", version: "1-0-1" });
      await shot(page, "schemas");
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);
  });
}

describe("a search on a field without a column, over more events than --scan-limit (SQLite)", () => {
  test("reads the newest events only, counts the matches among them, and the page says so", async () => {
    const dashboard = await startDashboard([...storeArgs(filled, "sqlite"), "--scan-limit", "3"], filled.work);
    const { page, problems } = await newPage();
    try {
      // A bare word is looked for in the whole document; br_viewwidth has no column either.
      for (const [q, matches] of [
        ["page_view", (doc: string) => doc.includes("page_view")],
        ["br_viewwidth:>0", (doc: string) => (JSON.parse(doc).br_viewwidth ?? 0) > 0],
      ] as const) {
        await open(page, `${dashboard.base}/events?range=24h&q=${encodeURIComponent(q)}`);
        const db = new Database(filled.db, { readonly: true });
        const newest = (db.query("SELECT doc FROM good ORDER BY ts DESC, rowid DESC LIMIT 3").all() as { doc: string }[]).map((row) => row.doc);
        db.close();
        expect(Number(await page.getAttribute("#total", "data-total"))).toBe(newest.filter(matches).length);
        expect(Number(await page.getAttribute("#scanned", "data-newest"))).toBe(3);
        expect(Number(await page.getAttribute("#scanned", "data-of"))).toBe(filled.good.length);
        expect(await page.textContent("#scanned")).toContain("narrow the time range");
      }
      await page.screenshot({ path: join(screenshots, "sqlite-events-scanned.png"), fullPage: true });
      // A search over indexed columns is still counted over the whole range.
      await open(page, `${dashboard.base}/events?range=24h&q=${encodeURIComponent("event_name:page_view")}`);
      expect(Number(await page.getAttribute("#total", "data-total"))).toBe(filled.good.filter((event) => event.event_name === "page_view").length);
      expect(await page.$("#scanned")).toBeNull();
      expect(problems).toEqual([]);
    } finally {
      await page.close();
      await dashboard.stop();
    }
  }, 60_000);
});

describe("Live and an unreachable store", () => {
  test("Live shows good events and bad rows as a real sink stores them, and holds them while paused (SQLite)", async () => {
    const db = join(filled.work, "live.db");
    copyFileSync(filled.db, db);
    const dashboard = await startDashboard(["--db", db], filled.work);
    const { page, problems } = await newPage();
    try {
      await open(page, `${dashboard.base}/live`);
      await page.waitForFunction(() => document.querySelector("#live-status")?.textContent === "listening");
      const event = { ...filled.good[0], event_id: "11111111-2222-4333-8444-555555555555", app_id: "live-app", collector_tstamp: new Date().toISOString() };
      expect((await telemetry(["sink-good", "--db", db, "--bad", "/dev/null", "--stats-interval", "0"], JSON.stringify(event) + "\n")).code).toBe(0);
      await page.waitForSelector('#live [data-id="11111111-2222-4333-8444-555555555555"]');
      expect(await page.textContent('#live [data-id="11111111-2222-4333-8444-555555555555"]')).toContain("live-app");
      await page.click("#pause");
      const row = { ...filled.bad[0], data: { ...filled.bad[0]!.data, failure: { ...filled.bad[0]!.data.failure, timestamp: new Date().toISOString(), note: "live" } } };
      expect((await telemetry(["sink-bad", "--db", db, "--bad", "/dev/null", "--stats-interval", "0"], JSON.stringify(row) + "\n")).code).toBe(0);
      await page.waitForFunction(() => document.querySelector("#live-counts")?.textContent === "1 good · 1 bad");
      expect(await page.$$eval("#live .live-row.bad", (rows) => rows.length)).toBe(0);
      await page.click("#pause");
      expect(await page.$$eval("#live .live-row.bad", (rows) => rows.length)).toBe(1);
      await page.screenshot({ path: join(screenshots, "sqlite-live.png"), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await page.close();
      await dashboard.stop();
    }
  }, 60_000);

  test.if(Boolean(process.env.ES_URL))("Live on Elasticsearch", async () => {
    const prefix = uniqueName("dash-live");
    const url = process.env.ES_URL!;
    const sinkGood = (line: string) => telemetry(["sink", "--es", url, "--index", `${prefix}-good`, "--mapping", "good", "--bad", "/dev/null", "--stats-interval", "0"], line + "\n");
    expect((await sinkGood(JSON.stringify(filled.good[0]))).code).toBe(0);
    const dashboard = await startDashboard(["--es", url, "--good-index", `${prefix}-good`, "--bad-index", `${prefix}-bad`], filled.work);
    const { page, problems } = await newPage();
    try {
      await open(page, `${dashboard.base}/live`);
      await page.waitForFunction(() => document.querySelector("#live-status")?.textContent === "listening");
      const event = { ...filled.good[0], event_id: "21111111-2222-4333-8444-555555555555", app_id: "live-es", collector_tstamp: new Date().toISOString() };
      expect((await sinkGood(JSON.stringify(event))).code).toBe(0);
      await page.waitForSelector('#live [data-id="21111111-2222-4333-8444-555555555555"]', { timeout: 30_000 });
      expect(await page.$$eval("#live .live-row", (rows) => rows.length)).toBe(1);
      await page.screenshot({ path: join(screenshots, "elasticsearch-live.png"), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await page.close();
      await dashboard.stop();
    }
  }, 60_000);

  test("a store that cannot be read is said on the page, which keeps asking and recovers when it can (SQLite)", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "telemetry-dashboard-later-")), "later.db");
    const dashboard = await startDashboard(["--db", db], filled.work);
    const { page, problems } = await newPage();
    try {
      await open(page, `${dashboard.base}/?range=24h`);
      expect(await page.textContent("#banner")).toContain("unreachable");
      expect(await page.textContent("#banner")).toContain(db);
      await page.screenshot({ path: join(screenshots, "sqlite-unreachable.png"), fullPage: true });
      expect((await telemetry(["sink-good", "--db", db, "--bad", "/dev/null", "--stats-interval", "0"], JSON.stringify(filled.good[0]) + "\n")).code).toBe(0);
      expect(existsSync(db)).toBe(true);
      await page.waitForFunction(() => document.querySelector("#banner")?.hasAttribute("hidden"), undefined, { timeout: 30_000 });
      await page.waitForSelector('.counts [data-count="good"][data-value="1"]', { timeout: 30_000 });
      expect(problems).toEqual([]);
    } finally {
      await page.close();
      await dashboard.stop();
      rmSync(db, { force: true });
    }
  }, 60_000);

  test.if(Boolean(process.env.ES_URL))("an Elasticsearch that does not answer is said on the page", async () => {
    const dashboard = await startDashboard(["--es", "http://127.0.0.1:9"], filled.work);
    const { page } = await newPage();
    try {
      await open(page, `${dashboard.base}/?range=24h`);
      expect(await page.textContent("#banner")).toContain("Elasticsearch at http://127.0.0.1:9");
    } finally {
      await page.close();
      await dashboard.stop();
    }
  }, 60_000);
});
