/**
 * A store filled through the real pipeline, once per test run and shared by the dashboard suites:
 * the real node tracker and plain HTTP requests into `telemetry collect`, its records through
 * `telemetry enrich`, logback (logstash-logback-encoder) into `telemetry logs-listen`, then everything
 * through `telemetry sink` into a SQLite file and into Elasticsearch (ES_URL) under names of this run.
 * Every bad-row type the pipeline writes is provoked once or more. What each stage wrote is kept, so
 * tests compare what the dashboard shows with what was stored.
 */
import { mkdtempSync, openSync, closeSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEcommerceTransaction, buildPageView, buildSelfDescribingEvent, buildStructEvent, newTracker, buildPagePing } from "@snowplow/node-tracker";
import { startCollector } from "../collect/helpers";
import { startListenerProcess, until } from "../logs-listen/helpers";
import { telemetry, uniqueName } from "../sink/helpers";

export const XSS_TITLE = `<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">`;
export const LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1";
export const WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0";
export const UNKNOWN_SCHEMA = "iglu:com.acme/unknown/jsonschema/1-0-0";

export interface Filled {
  work: string;
  db: string;
  es: { url: string; good: string; bad: string; logs: string } | null;
  good: Record<string, any>[];
  bad: Record<string, any>[];
  logs: Record<string, any>[];
}

const javaDir = join(import.meta.dir, "../logs-listen/java");
const classpathJars = ["logback-classic", "logback-core", "logstash-logback-encoder", "slf4j-api", "jackson-core", "jackson-databind", "jackson-annotations", "disruptor"].map(
  (name) => `/usr/share/java/${name}.jar`,
);

function run(command: string[]): void {
  const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${command[0]} failed: ${result.stderr.toString()}${result.stdout.toString()}`);
}

function ndjson(path: string): Record<string, any>[] {
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

async function sendEvents(base: string, port: number): Promise<void> {
  const statuses: number[] = [];
  const tracker = (appId: string) =>
    newTracker(
      { namespace: appId, appId, encodeBase64: true },
      {
        endpoint: "127.0.0.1",
        port,
        protocol: "http",
        eventMethod: "post",
        onRequestSuccess: (_batch, response) => statuses.push(response.status),
        onRequestFailure: (failure) => statuses.push(failure.status ?? -1),
      },
    );
  const shop = tracker("shop-web");
  const app = tracker("shop-app");
  const webPage = { schema: WEB_PAGE, data: { id: "a1b2c3d4-0000-4000-8000-000000000001" } };
  shop.track(buildPageView({ pageUrl: "https://shop.example.com/", pageTitle: "Home" }), [webPage]);
  shop.track(buildPageView({ pageUrl: "https://shop.example.com/cart", pageTitle: "Cart" }), [webPage]);
  shop.track(buildPageView({ pageUrl: "https://shop.example.com/cart", pageTitle: XSS_TITLE }));
  shop.track(buildPagePing({ pageUrl: "https://shop.example.com/cart", minXOffset: 0, maxXOffset: 10, minYOffset: 0, maxYOffset: 300 }));
  shop.track(buildStructEvent({ category: "cart", action: "add", label: "sku-1", value: 2 }));
  shop.track(buildSelfDescribingEvent({ event: { schema: LINK_CLICK, data: { targetUrl: "https://example.com/docs" } } }), [webPage]);
  shop.track(buildEcommerceTransaction({ orderId: "order-1", total: 42.5, currency: "EUR" }));
  app.track(buildStructEvent({ category: "app", action: "open" }));
  app.track(buildSelfDescribingEvent({ event: { schema: LINK_CLICK, data: { targetUrl: "https://example.com/app" } } }));
  // schema_violations: a schema no registry has, and data its schema refuses.
  shop.track(buildSelfDescribingEvent({ event: { schema: UNKNOWN_SCHEMA, data: { a: 1 } } }));
  shop.track(buildSelfDescribingEvent({ event: { schema: UNKNOWN_SCHEMA, data: { a: 2 } } }));
  shop.track(buildSelfDescribingEvent({ event: { schema: LINK_CLICK, data: { targetUrl: 12 } } }));
  // Each tracker sends what it buffered as one POST when flushed.
  await Promise.all([shop.flush(), app.flush()]);
  await until(() => statuses.length >= 2, "the trackers' answers", 30_000);
  if (statuses.some((status) => status !== 200)) throw new Error(`the collector answered ${statuses}`);

  const get = async (path: string) => {
    const response = await fetch(base + path);
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
  };
  await get("/com.acme/v1?a=1&b=2"); // adapter_failures: no adapter for this vendor
  await get("/com.acme/v1?a=3&b=4");
  await get("/i?e=pv&p=web&tv=js-3&url=not%20a%20url"); // enrichment_failures: the page URL is no URL
  await get("/i?e=pv&p=web&tv=js-3&x=%zz"); // collector_payload_format_violation: a querystring that does not decode
  await get(`/i?e=pv&p=web&tv=js-3&page=${"x".repeat(3000)}`); // size_violation (collect --max-record-bytes 2000)
  const post = await fetch(`${base}/com.snowplowanalytics.snowplow/tp2`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", data: [{ e: "pv" }] }),
  }); // tracker_protocol_violations: no p, no tv
  if (!post.ok) throw new Error(`tp2 POST: ${post.status}`);
}

async function sendLogs(work: string): Promise<string> {
  const classes = join(work, "classes");
  run(["javac", "-d", classes, "-cp", classpathJars.join(":"), join(javaDir, "LogbackClient.java")]);
  const out = join(work, "logs.ndjson");
  const fd = openSync(out, "w");
  const listener = await startListenerProcess(["--stats-interval", "0", "--bad", join(work, "bad.ndjson")], { stdoutFd: fd });
  try {
    for (let round = 0; round < 2; round++) {
      run([
        "java",
        "-cp", [...classpathJars, classes].join(":"),
        `-DLOGS_DESTINATION=127.0.0.1:${listener.ports.tcp}`,
        `-Dlogback.configurationFile=${join(javaDir, "logback.xml")}`,
        "example.LogbackClient",
      ]);
    }
    await until(() => readFileSync(out, "utf8").split("\n").length > 8, "eight log records", 30_000);
  } finally {
    await listener.stop();
    closeSync(fd);
  }
  return out;
}

async function sink(args: string[], input: string): Promise<void> {
  const result = await telemetry(["--stats-interval", "0", ...args], readFileSync(input, "utf8"));
  if (result.code !== 0) throw new Error(`telemetry ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
}

async function fill(): Promise<Filled> {
  const work = mkdtempSync(join(tmpdir(), "telemetry-dashboard-"));
  const bad = join(work, "bad.ndjson");
  const raw = join(work, "raw.ndjson");
  const rawFd = openSync(raw, "w");
  const collector = await startCollector(["--bad", bad, "--max-record-bytes", "2000"], { stdout: rawFd, cwd: work });
  try {
    await sendEvents(collector.base, collector.port);
  } finally {
    await collector.stop();
    closeSync(rawFd);
  }
  const good = join(work, "good.ndjson");
  const enrich = Bun.spawnSync([join(import.meta.dir, "../../bin/telemetry"), "enrich", "--bad", bad, "--stats-interval", "0"], {
    stdin: Bun.file(raw),
    stdout: Bun.file(good),
    stderr: "pipe",
  });
  if (enrich.exitCode !== 0) throw new Error(`enrich exited ${enrich.exitCode}: ${enrich.stderr}`);
  const logs = await sendLogs(work);
  // generic_error: a line a sink cannot store (not a JSON object) becomes one.
  const notARecord = join(work, "not-a-record.ndjson");
  writeFileSync(notARecord, "[1, 2, 3]\n");
  await sink(["sink", "--db", join(work, "scratch.db"), "--bad", bad], notARecord);

  const db = join(work, "telemetry.db");
  await sink(["sink-good", "--db", db, "--bad", "/dev/null"], good);
  await sink(["sink-bad", "--db", db, "--bad", "/dev/null"], bad);
  await sink(["sink", "--index", "logs-%Y.%m.%d", "--db", db, "--bad", "/dev/null"], logs);

  let es: Filled["es"] = null;
  if (process.env.ES_URL) {
    const prefix = uniqueName("dash");
    es = { url: process.env.ES_URL, good: `${prefix}-good`, bad: `${prefix}-bad`, logs: `${prefix}-logs` };
    await sink(["sink", "--es", es.url, "--index", es.good, "--mapping", "good", "--bad", "/dev/null"], good);
    await sink(["sink", "--es", es.url, "--index", es.bad, "--mapping", "bad", "--bad", "/dev/null"], bad);
    await sink(["sink", "--es", es.url, "--index", `${es.logs}-%Y.%m.%d`, "--mapping", "logs", "--bad", "/dev/null"], logs);
    await fetch(`${es.url}/${prefix}-*/_refresh`, { method: "POST" });
  }
  return { work, db, es, good: ndjson(good), bad: ndjson(bad), logs: ndjson(logs) };
}

let filling: Promise<Filled> | undefined;

/** The shared store (filled on first use). */
export function filledStore(): Promise<Filled> {
  filling ??= fill();
  return filling;
}
