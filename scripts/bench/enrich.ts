/**
 * Bench of `telemetry enrich`: events per second and peak RSS of the real process over a realistic mix
 * (page views; POST batches of self-describing events each with two entities; a tenth invalid), beside a
 * bare Bun loop over the same lines that only parses and re-serialises each one (same line reader and
 * writer), in the same run; also CPU time per event (all threads) and, for information, the rate with
 * --workers set to the machine's core count. Rounds alternate between the runs; medians are reported.
 *
 * Run: node_modules/.bin/bun scripts/bench/enrich.ts   (rows on stdout, progress on stderr)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, peakRssMb } from "./lib/measure";

const ROOT = join(import.meta.dir, "../..");
const ROUNDS = 3;
/** Worker threads for the informational row: as many as the machine has cores. */
const WORKERS = navigator.hardwareConcurrency;
const TARGET_EVENTS = 100_000;
const BUN = process.execPath;

const RAW_SCHEMA = "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0";
const UNSTRUCT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0";
const CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0";

function uuid(n: number): string {
  const hex = n.toString(16).padStart(12, "0");
  return `5f0e6c1e-5a3b-4b8e-9d5e-${hex}`;
}

function raw(n: number, fields: Record<string, unknown>): string {
  return JSON.stringify({
    schema: RAW_SCHEMA,
    id: uuid(n),
    timestamp: 1764300000000 + n,
    ipAddress: "203.0.113.9",
    encoding: "UTF-8",
    collector: "telemetry-collect-0.1.0",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    refererUri: "https://shop.example.com/products/42",
    querystring: "",
    headers: ["Host: collector.example.com", "Accept: */*", "Origin: https://shop.example.com"],
    hostname: "collector.example.com",
    networkUserId: "a6f7b8c9-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
    ...fields,
  });
}

function pageView(n: number): string {
  const parameters = new URLSearchParams({
    e: "pv", eid: uuid(n), tv: "js-3.5.0", tna: "sp", aid: "shop", p: "web", dtm: String(1764299990000 + n), stm: String(1764299995000 + n),
    tz: "Europe/Paris", lang: "fr-FR", cs: "UTF-8", res: "1920x1080", vp: "1280x720", ds: "1280x4000", cd: "24", cookie: "1",
    duid: "d6e7f8a9-b0c1-4d2e-8f3a-4b5c6d7e8f9a", vid: "3", sid: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
    url: "https://shop.example.com/products/42?utm_source=newsletter&utm_medium=email", page: "Product 42", refr: "https://www.google.com/search?q=shoes",
  });
  return raw(n, { path: "/com.snowplowanalytics.snowplow/tp2", querystring: parameters.toString() });
}

function selfDescribingBatch(n: number, invalid: boolean): string {
  const events = [0, 1, 2].map((index) => ({
    e: "ue", eid: uuid(n * 10 + index), tv: "js-3.5.0", p: "web", aid: "shop", dtm: String(1764299990000 + n), stm: String(1764299995000 + n),
    url: "https://shop.example.com/cart", duid: "d6e7f8a9-b0c1-4d2e-8f3a-4b5c6d7e8f9a",
    ue_px: Buffer.from(JSON.stringify({ schema: UNSTRUCT, data: { schema: "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", data: { targetUrl: "https://shop.example.com/checkout", elementId: `btn-${index}` } } })).toString("base64url"),
    cx: Buffer.from(JSON.stringify({
      schema: CONTEXTS,
      data: [
        { schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", data: { id: invalid && index === 1 ? "not-a-uuid" : "0b9a1e2c-3d4f-4a5b-8c6d-7e8f9a0b1c2d" } },
        { schema: "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2", data: { userId: "d6e7f8a9-b0c1-4d2e-8f3a-4b5c6d7e8f9a", sessionId: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e", sessionIndex: 3, previousSessionId: null, storageMechanism: "COOKIE_1" } },
      ],
    })).toString("base64url"),
  }));
  const body = JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", data: events });
  return raw(n, { path: "/com.snowplowanalytics.snowplow/tp2", body, contentType: "application/json" });
}

/** The mix, and how many events it holds (a batch is three; a broken line is one). */
function workload(): { text: string; events: number } {
  const lines: string[] = [];
  let events = 0;
  for (let n = 0; events < TARGET_EVENTS; n++) {
    const slot = n % 20;
    if (slot < 12) {
      lines.push(pageView(n));
      events += 1;
    } else if (slot < 18) {
      lines.push(selfDescribingBatch(n, slot === 17));
      events += 3;
    } else if (slot === 18) {
      lines.push(raw(n, { path: "/com.snowplowanalytics.snowplow/tp2", querystring: "e=pv&p=web&tv=js&dtm=yesterday" }));
      events += 1;
    } else {
      lines.push("{this line is not a raw record");
      events += 1;
    }
  }
  return { text: lines.join("\n") + "\n", events };
}

/** The same line reader and writer the stages use; the work per line is JSON.parse and JSON.stringify only. */
const BASELINE = `
import { readRecords } from ${JSON.stringify(join(ROOT, "stages/shared/ndjson.ts"))};
import { LineWriter } from ${JSON.stringify(join(ROOT, "stages/shared/line-writer.ts"))};
const output = new LineWriter(process.stdout);
for await (const record of readRecords(process.stdin, { maxLineBytes: 8 * 1024 * 1024, onProblem: () => {} })) {
  await output.writeLine(JSON.stringify(record.value));
}
await output.end();
`;

/** Runs `command` with `inputFile` on stdin: wall seconds, peak RSS and CPU time of all its threads. */
async function timed(command: string[], inputFile: string): Promise<{ seconds: number; rssMb: number; cpuSeconds: number }> {
  const started = performance.now();
  // The baseline runs with the allocator setting bin/telemetry gives the stages, so the ratio compares code.
  const env = { ...process.env, MIMALLOC_PURGE_DELAY: process.env.MIMALLOC_PURGE_DELAY ?? "1000" };
  const child = Bun.spawn(command, { stdin: Bun.file(inputFile), stdout: "ignore", stderr: "ignore", cwd: ROOT, env });
  let rssMb = 0;
  const sampler = setInterval(() => (rssMb = Math.max(rssMb, peakRssMb(child.pid))), 20);
  const code = await child.exited;
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}`);
  const usage = child.resourceUsage();
  // User + system time of the process and all its threads (JIT, GC, worker threads), in seconds.
  const cpuSeconds = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : NaN;
  return { seconds: (performance.now() - started) / 1000, rssMb, cpuSeconds };
}

type Run = Awaited<ReturnType<typeof timed>>;

const work = mkdtempSync(join(tmpdir(), "bench-enrich-"));
try {
  const { text, events } = workload();
  const baselineFile = join(work, "baseline.ts");
  writeFileSync(baselineFile, BASELINE);
  const inputFile = join(work, "input.ndjson");
  writeFileSync(inputFile, text);
  process.stderr.write(`bench enrich: ${events} events in ${(text.length / 1e6).toFixed(1)} MB of raw records, ${ROUNDS} rounds\n`);
  const enrichCommand = (workers: number) => [join(ROOT, "bin/telemetry"), "enrich", "--stats-interval", "0", "--workers", String(workers), "--bad", join(work, "bad.ndjson")];
  const runs = { enrich: [] as Run[], workers: [] as Run[], baseline: [] as Run[] };
  for (let round = 1; round <= ROUNDS; round++) {
    runs.enrich.push(await timed(enrichCommand(0), inputFile));
    runs.workers.push(await timed(enrichCommand(WORKERS), inputFile));
    runs.baseline.push(await timed([BUN, baselineFile], inputFile));
    const rate = (run: Run) => Math.round(events / run.seconds);
    process.stderr.write(
      `  round ${round}: enrich ${rate(runs.enrich.at(-1)!)} events/s (${runs.enrich.at(-1)!.rssMb.toFixed(0)} MB), ` +
        `--workers ${WORKERS} ${rate(runs.workers.at(-1)!)} events/s (${runs.workers.at(-1)!.rssMb.toFixed(0)} MB), ` +
        `bare loop ${rate(runs.baseline.at(-1)!)} events/s\n`,
    );
  }
  const rateOf = (list: Run[]) => median(list.map((run) => events / run.seconds));
  const cpuPerEvent = (list: Run[]) => median(list.map((run) => (run.cpuSeconds * 1e6) / events));
  const peakOf = (list: Run[]) => Math.round(Math.max(...list.map((run) => run.rssMb)));
  const baseline = rateOf(runs.baseline);
  const row = (fields: Record<string, unknown>) => console.log(JSON.stringify({ area: "enrich", ...fields }));
  row({
    metric: "events/s",
    value: Math.round(rateOf(runs.enrich)),
    baseline_name: "bare Bun parse+stringify loop",
    baseline: Math.round(baseline),
    ratio: Number((rateOf(runs.enrich) / baseline).toFixed(3)),
    peak_rss_mb: peakOf(runs.enrich),
    target: ">= 100k events/s, ratio >= 0.35, RSS < 250 MB",
  });
  // CPU per event counts every thread, so it shows what the wall-clock rate hides (JIT and GC threads,
  // or worker threads competing for the same cores). Its ratio is baseline / value: higher is better.
  row({
    metric: "CPU µs/event",
    value: Number(cpuPerEvent(runs.enrich).toFixed(1)),
    baseline_name: "bare Bun parse+stringify loop",
    baseline: Number(cpuPerEvent(runs.baseline).toFixed(1)),
    ratio: Number((cpuPerEvent(runs.baseline) / cpuPerEvent(runs.enrich)).toFixed(3)),
    target: "informational (ratio = baseline / value)",
  });
  row({
    metric: `events/s, --workers ${WORKERS}`,
    value: Math.round(rateOf(runs.workers)),
    baseline_name: "bare Bun parse+stringify loop",
    baseline: Math.round(baseline),
    ratio: Number((rateOf(runs.workers) / baseline).toFixed(3)),
    peak_rss_mb: peakOf(runs.workers),
    target: `informational (CPU ${cpuPerEvent(runs.workers).toFixed(1)} µs/event)`,
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
