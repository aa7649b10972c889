/**
 * Bench of the dashboard (not a test). Prints one JSON row per metric on stdout, progress on stderr.
 *
 * Stores BENCH_DASHBOARD_EVENTS (1,000,000) good events over 30 days, a bad row per 50 events and a log
 * record per 10, through the real sink, into a fresh SQLite file and into Elasticsearch (started through
 * scripts/es.sh unless ES_URL is set). Then times each page's queries, as the routes call them, over the
 * whole 30 days and over the last 24 hours: p50 and p95 of ROUNDS runs after one warm-up. Beside some
 * SQLite queries, the same question asked the way the store was queried before its indexed columns
 * (a JSON path on every row) is the baseline. Also the UI bundle's size, gzipped.
 *
 * Filling takes most of a run (about 10 minutes per store here), so to measure a change again:
 * BENCH_DASHBOARD_DIR keeps the SQLite file there (and reuses it when present), BENCH_DASHBOARD_ES_PREFIX
 * names the Elasticsearch indices (kept, and reused when present), BENCH_DASHBOARD_STORES picks
 * `sqlite`, `es` or both (the default), BENCH_DASHBOARD_BASELINE=0 leaves out the JSON-path baselines
 * (about 30 s a run each over a million events).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";
import { EsDashboardStore } from "../../stages/dashboard/es-store";
import { fieldFor } from "../../stages/dashboard/fields";
import { badRowsOverview, logsOverview, overview, records } from "../../stages/dashboard/queries";
import { parseSearch } from "../../stages/dashboard/search";
import { SqliteDashboardStore } from "../../stages/dashboard/sqlite-store";
import type { DashboardStore } from "../../stages/dashboard/store";
import { bucketFor, type TimeRange } from "../../stages/dashboard/time-range";
import { median } from "./lib/measure";

const repo = resolve(import.meta.dir, "../..");
const EVENTS = Number(process.env.BENCH_DASHBOARD_EVENTS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_DASHBOARD_ROUNDS ?? 20);
const DAY = 86_400_000;
const keptDir = process.env.BENCH_DASHBOARD_DIR;
const work = keptDir ? (mkdirSync(keptDir, { recursive: true }), resolve(keptDir)) : mkdtempSync(join(tmpdir(), "bench-dashboard-"));
const keptPrefix = process.env.BENCH_DASHBOARD_ES_PREFIX;
const stores = (process.env.BENCH_DASHBOARD_STORES ?? "sqlite,es").split(",");
const log = (message: string) => process.stderr.write(`bench dashboard: ${message}\n`);
/** The events' times end here; a kept store is asked about the same ranges as when it was filled. */
const nowFile = join(work, "now");
const now = keptDir && existsSync(nowFile) ? Number(readFileSync(nowFile, "utf8")) : Date.now();
if (keptDir) writeFileSync(nowFile, String(now));

const APPS = ["shop-web", "shop-app", "blog", "docs", "checkout"];
const NAMES = [
  ["page_view", "com.snowplowanalytics.snowplow", "page_view", "1-0-0"],
  ["page_ping", "com.snowplowanalytics.snowplow", "page_ping", "1-0-0"],
  ["struct", "com.google.analytics", "event", "1-0-0"],
  ["unstruct", "com.snowplowanalytics.snowplow", "link_click", "1-0-1"],
] as const;

/** An enriched event of ordinary width (about 1 KB), spread over the last 30 days. */
function event(i: number): string {
  const [kind, vendor, name, version] = NAMES[i % 7 === 0 ? 3 : i % 5 === 0 ? 2 : i % 3 === 0 ? 1 : 0]!;
  const time = new Date(now - ((i * 2_654_435_761) % (30 * DAY))).toISOString();
  return JSON.stringify({
    app_id: APPS[i % APPS.length],
    platform: i % 4 === 0 ? "mob" : "web",
    collector_tstamp: time,
    dvce_created_tstamp: time,
    etl_tstamp: time,
    event: kind,
    event_id: `${(i + 1).toString(16).padStart(8, "0")}-1b2c-4d3e-8f40-${i.toString(16).padStart(12, "0")}`,
    name_tracker: "sp",
    v_tracker: "js-4.1.0",
    v_collector: "telemetry-collect-0.1.0",
    v_etl: "telemetry-enrich-0.1.0",
    user_ipaddress: `203.0.113.${i % 250}`,
    domain_userid: `d-${i % 5000}`,
    network_userid: `n-${i % 5000}`,
    page_url: `https://shop.example.com/products/${i % 400}`,
    page_title: `Product ${i % 400}`,
    page_urlhost: "shop.example.com",
    page_urlpath: `/products/${i % 400}`,
    useragent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    br_name: "Chrome",
    os_name: "Linux",
    br_viewwidth: 1280,
    br_viewheight: 720,
    event_vendor: vendor,
    event_name: name,
    event_format: "jsonschema",
    event_version: version,
    ...(kind === "unstruct" ? { unstruct_event_com_snowplowanalytics_snowplow_link_click_1: { targetUrl: `https://example.com/${i % 50}` } } : {}),
    contexts_com_snowplowanalytics_snowplow_web_page_1: [{ id: `${i.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000` }],
    ...(i % 2 === 0 ? { contexts_com_snowplowanalytics_snowplow_ua_parser_context_1: [{ useragentFamily: "Chrome", osFamily: "Linux" }] } : {}),
  });
}

function badRow(i: number): string {
  const time = new Date(now - ((i * 2_654_435_761) % (30 * DAY))).toISOString();
  const schema = i % 3 === 0 ? "iglu:com.acme/checkout/jsonschema/1-0-0" : "iglu:com.acme/signup/jsonschema/1-0-2";
  return JSON.stringify({
    schema: "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-1",
    data: {
      processor: { artifact: "telemetry-enrich", version: "0.1.0" },
      failure: {
        timestamp: time,
        messages: [{ schemaKey: schema, error: { error: "ValidationError", dataReports: [{ message: `$.total: must be number, got "${i}"`, path: "$.total", keyword: "type", targets: ["number"] }] } }],
      },
      payload: { raw: { vendor: "com.snowplowanalytics.snowplow", version: "tp2", parameters: [{ name: "e", value: "ue" }, { name: "eid", value: String(i) }] } },
    },
  });
}

function logRecord(i: number): string {
  const time = new Date(now - ((i * 2_654_435_761) % (30 * DAY))).toISOString();
  const level = i % 20 === 0 ? "ERROR" : i % 7 === 0 ? "WARN" : "INFO";
  return JSON.stringify({
    "@timestamp": time,
    "@version": "1",
    message: `request ${i} handled`,
    logger_name: `shop.service${i % 9}`,
    thread_name: "main",
    level,
    level_value: level === "ERROR" ? 40000 : 20000,
    event: { created: time, sequence: i },
    ...(level === "ERROR"
      ? {
          stack_trace: `java.lang.IllegalStateException: order ${i}\n\tat shop.Orders.load(Orders.java:42)\nCaused by: java.io.IOException: disk\n\tat shop.Disk.read(Disk.java:7)\n`,
          exception: { class: i % 40 === 0 ? "java.io.IOException" : "java.net.SocketTimeoutException", message: "disk", top_frame: "shop.Disk.read(Disk.java:7)" },
        }
      : {}),
  });
}

/** Streams generated lines into a real `telemetry sink` process, writing as fast as it reads. */
async function sink(args: string[], count: number, line: (i: number) => string): Promise<void> {
  const child = Bun.spawn([join(repo, "bin/telemetry"), ...args, "--bad", join(work, "sink-bad.ndjson"), "--stats-interval", "0"], {
    stdin: "pipe",
    stdout: "ignore",
    stderr: "inherit",
  });
  const CHUNK = 2000;
  for (let start = 0; start < count; start += CHUNK) {
    let text = "";
    for (let i = start; i < Math.min(count, start + CHUNK); i++) text += line(i) + "\n";
    child.stdin.write(text);
    await child.stdin.flush();
  }
  await child.stdin.end();
  if ((await child.exited) !== 0) throw new Error(`telemetry ${args.join(" ")} failed`);
}

async function fill(store: string[], prefix: string): Promise<void> {
  const started = performance.now();
  await sink(["sink", "--index", `${prefix}good`, "--mapping", "good", ...store], EVENTS, event);
  await sink(["sink", "--index", `${prefix}bad`, "--mapping", "bad", ...store], Math.ceil(EVENTS / 50), badRow);
  await sink(["sink", "--index", `${prefix}logs-%Y.%m.%d`, "--mapping", "logs", ...store], Math.ceil(EVENTS / 10), logRecord);
  log(`stored ${EVENTS} events, ${Math.ceil(EVENTS / 50)} bad rows, ${Math.ceil(EVENTS / 10)} log records in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function time(work: () => unknown): Promise<{ p50: number; p95: number }> {
  await work();
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  return { p50: median(times), p95: percentile(times, 95) };
}

/** Each page's queries, as the routes ask them. */
function pageQueries(store: DashboardStore, range: TimeRange): [string, () => Promise<unknown>][] {
  const q = (text: string, family: "good" | "bad" | "logs") => parseSearch(text, family);
  const bucket = bucketFor(range);
  return [
    ["overview: count good", () => store.count("good", range, null)],
    ["overview: good over time", () => store.histogram("good", range, bucket)],
    ["overview: top app_id", () => store.top("good", fieldFor("good", "app_id"), range, 10)],
    ["overview: top event_schema", () => store.top("good", fieldFor("good", "event_schema"), range, 10)],
    ["overview: top page_url", () => store.top("good", fieldFor("good", "page_url"), range, 10)],
    ["overview: whole page", () => overview(store, range)],
    ["events: newest 50", () => records(store, "good", { range, condition: null, order: "desc", offset: 0, limit: 50 })],
    ["events: search event_name:page_view AND app_id:shop*", () => records(store, "good", { range, condition: q("event_name:page_view AND app_id:shop*", "good"), order: "desc", offset: 0, limit: 50 })],
    ["events: search br_viewwidth:[1000 TO 2000] (JSON field)", () => records(store, "good", { range, condition: q("br_viewwidth:[1000 TO 2000]", "good"), order: "desc", offset: 0, limit: 50 })],
    ["events: search a bare word (link_click)", () => records(store, "good", { range, condition: q("link_click", "good"), order: "desc", offset: 0, limit: 50 })],
    ["events: sort by app_id", () => records(store, "good", { range, condition: null, sortField: "app_id", order: "asc", offset: 0, limit: 50 })],
    ["events: sort by app_id, page 21", () => records(store, "good", { range, condition: null, sortField: "app_id", order: "desc", offset: 1000, limit: 50 })],
    ["events: sort by page_url, searched", () => records(store, "good", { range, condition: q("event_name:page_ping", "good"), sortField: "page_url", order: "asc", offset: 0, limit: 50 })],
    ["events: sort by br_viewwidth (JSON field)", () => records(store, "good", { range, condition: null, sortField: "br_viewwidth", order: "desc", offset: 0, limit: 50 })],
    ["events: one event by id", () => store.get("good", "00000001-1b2c-4d3e-8f40-000000000000")],
    ["bad rows: whole page (groups, types, chart)", () => badRowsOverview(store, range)],
    ["logs: whole page (levels chart, exceptions)", () => logsOverview(store, range)],
    ["logs: search level:ERROR", () => records(store, "logs", { range, condition: q("level:ERROR", "logs"), order: "desc", offset: 0, limit: 50 })],
    ["schemas: entity counts", () => store.entityCounts(range)],
    ["schemas: whole page (event schemas, entity counts)", () => Promise.all([store.top("good", fieldFor("good", "event_schema"), range, 10_000), store.entityCounts(range)])],
    ["live: rows after a cursor", () => store.newest("good", 0, 200)],
  ];
}

async function measureStore(name: string, store: DashboardStore, baselines: Record<string, () => unknown> = {}): Promise<void> {
  for (const [label, range] of [["30 days", { from: now - 30 * DAY, to: now + 1 }], ["24 h", { from: now - DAY, to: now + 1 }]] as const) {
    for (const [query, work] of pageQueries(store, range)) {
      const measured = await time(work);
      const baseline = label === "30 days" ? baselines[query] : undefined;
      const base = baseline ? await time(baseline) : undefined;
      console.log(
        JSON.stringify({
          area: `dashboard ${name}`,
          metric: `${query}, ${label}: p95 ms (p50 ${measured.p50.toFixed(1)})`,
          value: measured.p95,
          ...(base ? { baseline_name: "JSON path on every row", baseline: base.p95, ratio: measured.p95 / base.p95 } : {}),
          target: name === "SQLite" ? "p95 < 300 ms" : "",
        }),
      );
      log(`${name} ${label} ${query}: p50 ${measured.p50.toFixed(1)} ms, p95 ${measured.p95.toFixed(1)} ms${base ? ` (baseline p95 ${base.p95.toFixed(1)} ms)` : ""}`);
    }
  }
}

async function bundleSize(): Promise<number> {
  const built = await Bun.build({ entrypoints: [join(repo, "stages/dashboard/ui/index.html")], minify: true, target: "browser" });
  if (!built.success) throw new AggregateError(built.logs, "bundling the UI failed");
  let gzipped = 0;
  for (const output of built.outputs) gzipped += gzipSync(new Uint8Array(await output.arrayBuffer()), { level: 9 }).length;
  return gzipped;
}

async function esScript(command: string, port: number): Promise<void> {
  const child = Bun.spawn([join(repo, "scripts/es.sh"), command], { env: { ...process.env, ES_PORT: String(port) }, stdout: "ignore", stderr: "inherit" });
  if ((await child.exited) !== 0) throw new Error(`scripts/es.sh ${command} failed`);
}

async function measureSqlite(): Promise<void> {
  const db = join(work, "telemetry.db");
  if (keptDir && existsSync(db)) log(`reusing ${db}`);
  else await fill(["--db", db], "");
  const sqlite = new SqliteDashboardStore(db);
  const raw = new Database(db, { readonly: true });
  const from = now - 30 * DAY;
  const baselines: Record<string, () => unknown> = process.env.BENCH_DASHBOARD_BASELINE === "0" ? {} : {
    "overview: top app_id": () =>
      raw.query(`SELECT doc ->> '$.app_id' AS v, count(*) AS n FROM good WHERE time >= ? GROUP BY 1 ORDER BY 2 DESC LIMIT 10`).all(new Date(from).toISOString()),
    "overview: count good": () => raw.query(`SELECT count(*) FROM good WHERE time >= ?`).get(new Date(from).toISOString()),
  };
  await measureStore("SQLite", sqlite, baselines);
  raw.close();
  await sqlite.close();
}

async function measureEs(): Promise<void> {
  let url = process.env.ES_URL;
  if (!url) {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    ownPort = server.port;
    server.stop(true);
    log(`starting Elasticsearch on port ${ownPort}`);
    await esScript("start", ownPort);
    url = `http://127.0.0.1:${ownPort}`;
  }
  const prefix = keptPrefix ?? `bench-dashboard-${Date.now().toString(36)}-`;
  const present = keptPrefix !== undefined && (await fetch(`${url}/${prefix}good`, { method: "HEAD" })).ok;
  if (present) log(`reusing the indices ${prefix}*`);
  else await fill(["--es", url], prefix);
  await fetch(`${url}/${prefix}*/_refresh`, { method: "POST" });
  const es = new EsDashboardStore({ urls: [url], families: { good: `${prefix}good`, bad: `${prefix}bad`, logs: `${prefix}logs` } });
  await measureStore("Elasticsearch", es);
  await es.close();
  if (keptPrefix) return;
  // Deleting by wildcard is refused (action.destructive_requires_name): by name.
  const names = Object.keys(await (await fetch(`${url}/${prefix}*/_settings`)).json());
  if (names.length > 0) await fetch(`${url}/${names.join(",")}`, { method: "DELETE" });
}

let ownPort: number | null = null;
try {
  const size = await bundleSize();
  console.log(JSON.stringify({ area: "dashboard UI", metric: "bundle, gzipped KB", value: size / 1024, target: "< 150 KB" }));
  log(`UI bundle: ${(size / 1024).toFixed(1)} KB gzipped`);

  if (stores.includes("sqlite")) await measureSqlite();
  if (stores.includes("es")) await measureEs();
} finally {
  if (ownPort !== null) await esScript("remove", ownPort).catch(() => undefined);
  if (!keptDir) rmSync(work, { recursive: true, force: true });
}
