/**
 * Bench of `telemetry sink` (not a test). Prints one JSON row per metric on stdout, progress on stderr.
 *
 * Elasticsearch: the sink indexing N enriched events from a file, beside curl uploading the very same
 * documents as ready-made `_bulk` bodies of the same batch size with the same parallelism (the floor:
 * only HTTP, no reading, parsing or building). Both into fresh indices with the same template, in the
 * same run, alternating which goes first; medians of the rounds.
 * SQLite: the sink into a fresh file, beside a bare bun:sqlite loop doing the same upserts in the same
 * transactions. Starts Elasticsearch through scripts/es.sh unless ES_URL is set, and stops it after.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";
import { bulkBody } from "../../stages/sink/bulk-request";
import { IndexPattern } from "../../stages/sink/document";
import { DEFAULT_REPLICAS, indexTemplate } from "../../stages/sink/templates";
import { median, peakRssMb } from "./lib/measure";

const repo = resolve(import.meta.dir, "../..");
const DOCUMENTS = Number(process.env.BENCH_SINK_DOCS ?? 50_000);
const BATCH = 1000;
const CONCURRENCY = 2;
const ROUNDS = 3;
const work = mkdtempSync(join(tmpdir(), "bench-sink-"));
const log = (message: string) => process.stderr.write(`bench sink: ${message}\n`);

/** An enriched event of realistic width (about 1.3 KB as JSON). */
function event(i: number): Record<string, unknown> {
  const second = String(i % 60).padStart(2, "0");
  return {
    app_id: "shop",
    platform: "web",
    etl_tstamp: `2025-11-27T10:00:${second}.500Z`,
    collector_tstamp: `2025-11-27T10:00:${second}.000Z`,
    dvce_created_tstamp: `2025-11-27T10:00:${second}.000Z`,
    event: "page_view",
    event_id: `${(i + 1).toString(16).padStart(8, "0")}-1b2c-4d3e-8f40-${i.toString(16).padStart(12, "0")}`,
    name_tracker: "sp",
    v_tracker: "js-4.1.0",
    v_collector: "telemetry-collect-0.1.0",
    v_etl: "telemetry-enrich-0.1.0",
    user_ipaddress: `203.0.113.${i % 250}`,
    domain_userid: `d-${i % 5000}`,
    domain_sessionidx: 1 + (i % 7),
    network_userid: `n-${i % 5000}`,
    geo_country: "FR",
    geo_city: "Paris",
    geo_latitude: 48.85,
    geo_longitude: 2.35,
    page_url: `https://shop.example.com/products/${i % 400}?ref=home`,
    page_title: `Product ${i % 400} – Example Shop`,
    page_referrer: "https://www.example.org/search?q=shoes",
    page_urlscheme: "https",
    page_urlhost: "shop.example.com",
    page_urlport: 443,
    page_urlpath: `/products/${i % 400}`,
    page_urlquery: "ref=home",
    refr_urlhost: "www.example.org",
    refr_medium: "search",
    refr_source: "Example",
    useragent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    br_name: "Chrome",
    br_family: "Chrome",
    br_version: "120.0",
    br_lang: "fr-FR",
    br_cookies: true,
    br_viewwidth: 1280,
    br_viewheight: 720,
    os_name: "Linux",
    os_timezone: "Europe/Paris",
    dvce_type: "Computer",
    dvce_ismobile: false,
    dvce_screenwidth: 1920,
    dvce_screenheight: 1080,
    doc_charset: "UTF-8",
    derived_tstamp: `2025-11-27T10:00:${second}.000Z`,
    event_vendor: "com.snowplowanalytics.snowplow",
    event_name: "page_view",
    event_format: "jsonschema",
    event_version: "1-0-0",
    contexts_com_snowplowanalytics_snowplow_web_page_1: [{ id: `p-${i}` }],
  };
}

/** Runs a command to completion: wall seconds, and its own peak RSS (read from /proc while it runs). */
async function run(command: string[], stdinPath?: string): Promise<{ seconds: number; rssMb: number }> {
  const started = performance.now();
  const child = Bun.spawn(command, { cwd: repo, stdin: stdinPath ? Bun.file(stdinPath) : "ignore", stdout: "ignore", stderr: "pipe" });
  let rssMb = 0;
  const sampler = setInterval(() => (rssMb = Math.max(rssMb, peakRssMb(child.pid))), 20);
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${stderr.slice(-500)}`);
  return { seconds, rssMb };
}

async function es(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(url + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
}

async function countOf(url: string, index: string): Promise<number> {
  await es(url, "POST", `/${index}/_refresh`);
  return (await es(url, "GET", `/${index}/_count`)).count;
}

async function esScript(command: string, port: number): Promise<void> {
  const child = Bun.spawn([join(repo, "scripts/es.sh"), command], { env: { ...process.env, ES_PORT: String(port) }, stdout: "ignore", stderr: "inherit" });
  if ((await child.exited) !== 0) throw new Error(`scripts/es.sh ${command} failed`);
}

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

// The input, once: NDJSON for the sink, and the same documents as bulk bodies for curl.
const events = Array.from({ length: DOCUMENTS }, (_, i) => event(i));
const inputPath = join(work, "events.ndjson");
writeFileSync(inputPath, events.map((value) => JSON.stringify(value) + "\n").join(""));
const bodyPaths: string[] = [];
for (let start = 0; start < DOCUMENTS; start += BATCH) {
  const documents = events.slice(start, start + BATCH).map((value) => ({
    id: value.event_id as string,
    index: "bench-curl",
    // The sink adds geo_location to events with coordinates; the baseline sends the same document.
    source: JSON.stringify({ ...value, geo_location: `${value.geo_latitude},${value.geo_longitude}` }),
  }));
  const path = join(work, `body-${String(start).padStart(8, "0")}.ndjson`);
  writeFileSync(path, bulkBody(documents));
  bodyPaths.push(path);
}
writeFileSync(join(work, "bodies.txt"), bodyPaths.join("\n") + "\n");

let ownPort: number | null = null;
let url = process.env.ES_URL;
try {
  if (!url) {
    ownPort = await freePort();
    log(`starting Elasticsearch on port ${ownPort}`);
    await esScript("start", ownPort);
    url = `http://127.0.0.1:${ownPort}`;
  }
  const goodTemplate = indexTemplate(new IndexPattern("bench-*"), "good", { flavour: "elasticsearch", replicas: DEFAULT_REPLICAS });
  await es(url, "PUT", "/_index_template/telemetry-bench", goodTemplate.body);

  const sinkRates: number[] = [];
  const curlRates: number[] = [];
  const sinkRss: number[] = [];
  const sinkRound = async () => {
    await es(url!, "DELETE", "/bench-sink?ignore_unavailable=true");
    const { seconds, rssMb } = await run(
      ["bin/telemetry", "sink", "--es", url!, "--index", "bench-sink", "--no-templates", "--batch-docs", String(BATCH),
        "--concurrency", String(CONCURRENCY), "--stats-interval", "0"],
      inputPath,
    );
    const stored = await countOf(url!, "bench-sink");
    if (stored !== DOCUMENTS) throw new Error(`the sink stored ${stored} of ${DOCUMENTS}`);
    sinkRates.push(DOCUMENTS / seconds);
    sinkRss.push(rssMb);
    log(`sink: ${Math.round(DOCUMENTS / seconds)} docs/s, ${rssMb.toFixed(0)} MB`);
  };
  const curlRound = async () => {
    await es(url!, "DELETE", "/bench-curl?ignore_unavailable=true");
    const { seconds } = await run([
      "bash", "-c",
      `xargs -P ${CONCURRENCY} -I{} curl -sS -o /dev/null -H 'Content-Type: application/x-ndjson' --data-binary @{} '${url}/_bulk' < ${join(work, "bodies.txt")}`,
    ]);
    const stored = await countOf(url!, "bench-curl");
    if (stored !== DOCUMENTS) throw new Error(`curl stored ${stored} of ${DOCUMENTS}`);
    curlRates.push(DOCUMENTS / seconds);
    log(`curl: ${Math.round(DOCUMENTS / seconds)} docs/s`);
  };
  log(`warm-up, then ${ROUNDS} rounds of ${DOCUMENTS} documents`);
  await curlRound();
  curlRates.length = 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      await sinkRound();
      await curlRound();
    } else {
      await curlRound();
      await sinkRound();
    }
  }
  await es(url, "DELETE", "/bench-sink,bench-curl?ignore_unavailable=true");
  await es(url, "DELETE", "/_index_template/telemetry-bench");
  const esValue = median(sinkRates);
  const esBaseline = median(curlRates);
  console.log(JSON.stringify({
    area: "sink",
    metric: "docs/s into Elasticsearch",
    value: Math.round(esValue),
    baseline_name: `curl _bulk, ${BATCH}/request, ${CONCURRENCY} in parallel`,
    baseline: Math.round(esBaseline),
    ratio: Number((esValue / esBaseline).toFixed(3)),
    peak_rss_mb: Number(Math.max(...sinkRss).toFixed(1)),
    target: "ratio >= 0.8",
  }));
} finally {
  if (ownPort !== null) {
    await esScript("remove", ownPort);
  }
}

// SQLite: the sink against a bare loop of the same upserts, same transaction size.
const sqliteRates: number[] = [];
const bareRates: number[] = [];
const sqliteRss: number[] = [];
const lines = events.map((value) => JSON.stringify({ ...value, geo_location: `${value.geo_latitude},${value.geo_longitude}` }));
for (let round = 0; round < ROUNDS; round++) {
  const dbPath = join(work, `sink-${round}.db`);
  const { seconds, rssMb } = await run(["bin/telemetry", "sink-good", "--db", dbPath, "--batch-docs", String(BATCH), "--stats-interval", "0"], inputPath);
  sqliteRates.push(DOCUMENTS / seconds);
  sqliteRss.push(rssMb);

  const barePath = join(work, `bare-${round}.db`);
  const started = performance.now();
  const db = new Database(barePath, { create: true, strict: true });
  db.run("PRAGMA page_size = 16384");
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("CREATE TABLE good (id TEXT PRIMARY KEY, time TEXT, index_name TEXT NOT NULL, doc TEXT NOT NULL)");
  db.run("CREATE INDEX good_time ON good (time)");
  const upsert = db.prepare(
    "INSERT INTO good (id, time, index_name, doc) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET time = excluded.time, index_name = excluded.index_name, doc = excluded.doc",
  );
  const insertBatch = db.transaction((from: number) => {
    for (let i = from; i < Math.min(from + BATCH, DOCUMENTS); i++) {
      upsert.run(events[i]!.event_id as string, events[i]!.collector_tstamp as string, "good", lines[i]!);
    }
  });
  for (let from = 0; from < DOCUMENTS; from += BATCH) insertBatch(from);
  db.close();
  bareRates.push(DOCUMENTS / ((performance.now() - started) / 1000));
  log(`sqlite: sink ${Math.round(DOCUMENTS / seconds)} docs/s, bare loop ${Math.round(bareRates.at(-1)!)} docs/s`);
}
const sqliteValue = median(sqliteRates);
const bareValue = median(bareRates);
console.log(JSON.stringify({
  area: "sink",
  metric: "docs/s into SQLite",
  value: Math.round(sqliteValue),
  baseline_name: "bare bun:sqlite upsert loop",
  baseline: Math.round(bareValue),
  ratio: Number((sqliteValue / bareValue).toFixed(3)),
  peak_rss_mb: Number(Math.max(...sqliteRss).toFixed(1)),
  target: "value >= 50000 docs/s",
}));
rmSync(work, { recursive: true, force: true });
