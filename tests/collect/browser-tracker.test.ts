/**
 * The real `@snowplow/browser-tracker` in Debian's Chromium (driven by playwright-core) against the real
 * `telemetry collect` process, on another origin than the page and with `credentials: "include"`: the
 * browser itself enforces the CORS preflight, Access-Control-Allow-Origin/-Credentials and the cookie rules.
 *
 * What Chromium does with the collector's `sp` cookie (Secure; SameSite=None; HttpOnly, our defaults):
 * - page http://localhost:A, collector http://localhost:B: cross-origin but same-site (a port is not part
 *   of a site), like www.example.com with its collector on c.example.com. localhost is a potentially
 *   trustworthy origin, so Chromium stores the Secure cookie over plain http and sends it back.
 * - page http://127.0.0.1:A, collector http://localhost:B: cross-site, so the cookie is a third-party
 *   cookie, which this Chromium blocks by default (DevTools reports the reason "UserPreferences"). That is
 *   the browser's policy, not ours, so that case asserts only on CORS and on the Set-Cookie it received.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../fixtures/chromium";
import { startCollector, validateRawRecord, type RunningCollector } from "./helpers";

const TP2 = "/com.snowplowanalytics.snowplow/tp2";

let collector: RunningCollector;
let pageServer: ReturnType<typeof Bun.serve>;
let browser: Browser;

beforeAll(async () => {
  const bundle = await Bun.build({ entrypoints: [join(import.meta.dir, "browser/page.ts")], target: "browser" });
  if (!bundle.success) throw new AggregateError(bundle.logs, "bundling the page script failed");
  const script = await bundle.outputs[0]!.text();
  // The empty icon keeps Chromium from asking for /favicon.ico, so every console error is worth failing on.
  const html = `<!doctype html><title>browser tracker</title><link rel="icon" href="data:,">` +
    `<script type="module" src="/page.js"></script>`;
  pageServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) =>
      new URL(request.url).pathname === "/page.js"
        ? new Response(script, { headers: { "Content-Type": "text/javascript" } })
        : new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } }),
  });
  collector = await startCollector(["--bad", "/dev/null"]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await pageServer?.stop(true);
  if (collector) expect(await collector.stop()).toBe(0);
});

interface CollectorExchange {
  method: string;
  url: string;
  status: number;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
}

/**
 * Opens the test page on `pageHost` in a fresh browser context, with the trackers sending to the collector
 * at http://localhost:<port>, and waits until the three events have been answered. Returns the trackers'
 * outcomes, every exchange with the collector (preflights included, seen through DevTools, as Playwright's
 * own events leave preflights out), the console errors and failed requests, the cookies the browser kept
 * for the collector, and the raw records collect wrote meanwhile.
 */
async function runPage(pageHost: string) {
  const collectorOrigin = `http://localhost:${collector.port}`;
  const pageOrigin = `http://${pageHost}:${pageServer.port}`;
  const before = collector.lines.length;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("requestfailed", (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));

    const devtools = await context.newCDPSession(page);
    const requests = new Map<string, { method: string; url: string }>();
    const exchanges: CollectorExchange[] = [];
    devtools.on("Network.requestWillBeSent", ({ requestId, request }) => {
      if (request.url.startsWith(collectorOrigin)) requests.set(requestId, { method: request.method, url: request.url });
    });
    // Set-Cookie only shows in the "extra info" headers (the ones the network stack really received).
    const setCookies = new Map<string, string>();
    devtools.on("Network.responseReceivedExtraInfo", ({ requestId, headers }) => {
      const value = Object.entries(headers).find(([name]) => name.toLowerCase() === "set-cookie")?.[1];
      if (typeof value === "string") setCookies.set(requestId, value);
    });
    devtools.on("Network.responseReceived", ({ requestId, response }) => {
      const request = requests.get(requestId);
      if (request === undefined) return;
      const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
      exchanges.push({ ...request, status: response.status, headers });
    });
    await devtools.send("Network.enable");

    await page.goto(`${pageOrigin}/?collector=${encodeURIComponent(collectorOrigin)}`);
    const outcomes = await page.evaluate(() => window.trackingDone);
    // DevTools reports from the network service, apart from the page: give the last reports a moment to
    // arrive (one preflight and three tracker requests; three answers set the cookie).
    for (let waited = 0; (exchanges.length < 4 || setCookies.size < 3) && waited < 2000; waited += 20) await Bun.sleep(20);
    // Whatever arrived, so that a test failing on its problems says why rather than timing out here.
    const lines = await collector.waitForLines(before + 3, 5000).catch(() => collector.lines);
    const records = lines.slice(before, before + 3).map((line) => JSON.parse(line));
    const received = [...setCookies.values()];
    return { pageOrigin, outcomes, exchanges, received, problems, cookies: await context.cookies(collectorOrigin), records };
  } finally {
    await context.close();
  }
}

/** The raw records of the three events, checked for what both page origins have in common. */
function expectThreeEvents(records: Record<string, any>[], pageOrigin: string) {
  for (const record of records) {
    expect(validateRawRecord(record)).toEqual([]);
    expect(record.headers).toContain(`Origin: ${pageOrigin}`);
    expect(record.refererUri).toStartWith(`${pageOrigin}/`);
    expect(record.userAgent).toContain("Chrome/");
  }
  expect(records.map((record) => record.path)).toEqual([TP2, TP2, "/i"]);

  const posted = records.slice(0, 2).map((record) => {
    expect(record.contentType).toStartWith("application/json");
    const body = JSON.parse(record.body);
    expect(body.schema).toStartWith("iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-");
    expect(body.data).toHaveLength(1);
    return body.data[0];
  });
  expect(posted.map((event) => [event.e, event.aid, event.p])).toEqual([
    ["pv", "browser-test", "web"],
    ["ue", "browser-test", "web"],
  ]);
  expect(posted[0].page).toBe("Browser test");
  expect(posted[0].url).toStartWith(`${pageOrigin}/`);
  expect(posted[0].tv).toMatch(/^js-4\./);
  const selfDescribing = JSON.parse(posted[1].ue_pr);
  expect(selfDescribing.data).toEqual({
    schema: "iglu:com.acme/checkout/jsonschema/1-0-0",
    data: { total: 42, currency: "EUR" },
  });

  const got = new URLSearchParams(records[2]!.querystring);
  expect(records[2]!.body).toBeUndefined();
  expect([got.get("e"), got.get("aid"), got.get("page")]).toEqual(["pv", "browser-test-get", "Browser test (GET)"]);
}

/** Every answer the browser read from collect allowed this page origin, with credentials. */
function expectCorsAnswers(exchanges: CollectorExchange[], pageOrigin: string) {
  // The JSON POST is not a "simple" request: Chromium asked first, and only then sent it.
  expect(exchanges.map((exchange) => `${exchange.method} ${new URL(exchange.url).pathname}`)).toEqual([
    `OPTIONS ${TP2}`,
    `POST ${TP2}`,
    `POST ${TP2}`,
    "GET /i",
  ]);
  const preflight = exchanges[0]!.headers;
  expect(preflight["access-control-allow-headers"]?.toLowerCase()).toContain("content-type");
  for (const exchange of exchanges) {
    expect(exchange.status).toBe(200);
    expect(exchange.headers["access-control-allow-origin"]).toBe(pageOrigin);
    expect(exchange.headers["access-control-allow-credentials"]).toBe("true");
  }
}

// A page load, three tracker requests and the collector's records take a few seconds on a busy machine.
const TEST_TIMEOUT_MS = 30_000;
const NUID_COOKIE = /^sp=([0-9a-f-]{36}); Expires=[^;]+; Path=\/; SameSite=None; Secure; HttpOnly$/;

describe("@snowplow/browser-tracker in Chromium → telemetry collect", () => {
  test("collector on another port of the page's site: CORS with credentials, and the sp cookie comes back", async () => {
    const run = await runPage("localhost");
    expect(run.problems).toEqual([]);
    expect(run.outcomes).toEqual([
      { tracker: "post", ok: true, status: 200 },
      { tracker: "post", ok: true, status: 200 },
      { tracker: "get", ok: true, status: 200 },
    ]);
    expectCorsAnswers(run.exchanges, run.pageOrigin);
    expectThreeEvents(run.records, run.pageOrigin);

    // The first answer set the cookie; every later request carried it, so collect kept that nuid.
    const [firstSetCookie] = run.received;
    const nuid = NUID_COOKIE.exec(firstSetCookie ?? "")?.[1];
    expect(nuid).toBeDefined();
    expect(run.records.map((record) => record.networkUserId)).toEqual([nuid, nuid, nuid]);
    const carriesCookie = expect.stringMatching(new RegExp(`^Cookie: (.*; )?sp=${nuid}(;|$)`));
    expect(run.records[0]!.headers).not.toContainEqual(carriesCookie);
    for (const record of run.records.slice(1)) expect(record.headers).toContainEqual(carriesCookie);
    // The page's own first-party cookies (_sp_id…, _sp_ses…) share the host localhost; only sp is collect's.
    expect(run.cookies.filter((cookie) => cookie.name === "sp")).toEqual([
      expect.objectContaining({ name: "sp", value: nuid, domain: "localhost", path: "/", secure: true, httpOnly: true, sameSite: "None" }),
    ]);
  }, TEST_TIMEOUT_MS);

  test("collector on another site: CORS with credentials still works; the browser got the cookie on every answer", async () => {
    const run = await runPage("127.0.0.1");
    expect(run.problems).toEqual([]);
    expect(run.outcomes.map((outcome) => outcome.ok)).toEqual([true, true, true]);
    expectCorsAnswers(run.exchanges, run.pageOrigin);
    expectThreeEvents(run.records, run.pageOrigin);
    // Each answer offered the nuid collect recorded for that request; whether Chromium keeps a third-party
    // cookie is its own setting (see the top of this file), so it is not asserted here.
    expect(run.received.map((header) => NUID_COOKIE.exec(header)?.[1])).toEqual(run.records.map((record) => record.networkUserId));
  }, TEST_TIMEOUT_MS);
});
