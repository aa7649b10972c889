/**
 * Collector throughput: wrk (Debian package `wrk`, driven by a Lua script) POSTs a real node-tracker batch
 * body to `telemetry collect` (stdout to /dev/null) and to a bare Bun.serve that only writes each body to
 * stdout, in alternating rounds on loopback. Prints medians of the rounds: requests/s, p99 latency, and
 * the collector's peak RSS (VmHWM), one JSON row per metric. The ratio is the median of the per-round
 * ratios (each round measures both servers back to back), which is steadier on a shared machine than a
 * ratio of medians.
 *
 *   node_modules/.bin/bun scripts/bench/collect.ts            the benchmark
 *   node_modules/.bin/bun scripts/bench/collect.ts --bare     the baseline server (started by the benchmark)
 *
 * A second, informational baseline writes each body as a JSON line ({"body": …}): escaping a tracker body
 * (hundreds of quotes) is the largest cost a raw record adds, and this row shows how much of the gap it is.
 */
import { buildPageView, buildSelfDescribingEvent, buildStructEvent, newTracker } from "@snowplow/node-tracker";
import { mkdtempSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, peakRssMb } from "./lib/measure";

const TP2 = "/com.snowplowanalytics.snowplow/tp2";
const ROUNDS = 5;
const SECONDS = 3;
const CONNECTIONS = 50;

if (process.argv.includes("--bare") || process.argv.includes("--bare-json")) {
  const asJson = process.argv.includes("--bare-json");
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const body = await request.text();
      process.stdout.write((asJson ? JSON.stringify({ body }) : body) + "\n");
      return new Response("ok");
    },
  });
  process.stderr.write(`listening on http://127.0.0.1:${server.port}\n`);
} else {
  await main();
}

function log(message: string): void {
  process.stderr.write(`bench collect: ${message}\n`);
}

/** What @snowplow/node-tracker sends for a batch of five events, captured instead of sent. */
async function trackerBody(): Promise<{ body: string; contentType: string }> {
  let captured: { body: string; contentType: string } | undefined;
  const tracker = newTracker(
    { namespace: "bench", appId: "shop", encodeBase64: true },
    {
      endpoint: "collector.invalid",
      bufferSize: 5,
      customFetch: async (request: Request) => {
        captured = { body: await request.text(), contentType: request.headers.get("content-type") ?? "application/json" };
        return new Response("ok");
      },
    },
  );
  const context = [{ schema: "iglu:com.acme/user/jsonschema/1-0-0", data: { type: "tester", tier: "gold" } }];
  tracker.track(buildPageView({ pageUrl: "https://shop.example.com/products/42?ref=mail", pageTitle: "Product 42", referrer: "https://mail.example.com/" }), context);
  tracker.track(buildStructEvent({ category: "cart", action: "add", label: "sku-42", property: "size-m", value: 39.9 }), context);
  tracker.track(buildSelfDescribingEvent({ event: { schema: "iglu:com.acme/checkout/jsonschema/1-0-0", data: { total: 79.8, currency: "EUR" } } }), context);
  tracker.track(buildPageView({ pageUrl: "https://shop.example.com/cart", pageTitle: "Cart" }), context);
  tracker.track(buildStructEvent({ category: "checkout", action: "start" }), context);
  for (let waited = 0; captured === undefined && waited < 5000; waited += 10) await Bun.sleep(10);
  if (captured === undefined) throw new Error("the tracker sent nothing");
  return captured;
}

interface Server {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function startServer(command: string[]): Promise<Server> {
  const child = Bun.spawn(command, { stdout: openSync("/dev/null", "w"), stderr: "pipe" });
  const reader = child.stderr.getReader();
  let text = "";
  while (!/listening on http:\/\/[^:]+:(\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${command.join(" ")} did not start: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void child.stderr.pipeTo(new WritableStream());
  const port = Number(/listening on http:\/\/[^:]+:(\d+)/.exec(text)![1]);
  return {
    pid: child.pid,
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

function toMs(value: string, unit: string): number {
  return Number(value) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? NaN);
}

async function runWrk(port: number, script: string, seconds: number): Promise<{ rps: number; p99: number; errors: number }> {
  const wrk = Bun.spawn(
    ["wrk", "-t", "1", "-c", String(CONNECTIONS), "-d", `${seconds}s`, "--latency", "-s", script, `http://127.0.0.1:${port}${TP2}`],
    { stdout: "pipe", stderr: "pipe" },
  );
  const output = await new Response(wrk.stdout).text();
  if ((await wrk.exited) !== 0) throw new Error(`wrk failed: ${await new Response(wrk.stderr).text()}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(output);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return { rps, p99: p99 ? toMs(p99[1]!, p99[2]!) : NaN, errors };
}

async function measure(name: string, command: string[], script: string) {
  const server = await startServer(command);
  try {
    await runWrk(server.port, script, 1); // warm-up: JIT, connection pool
    const result = await runWrk(server.port, script, SECONDS);
    const rss = peakRssMb(server.pid);
    log(`${name}: ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(2)} ms, peak RSS ${rss.toFixed(1)} MB, errors ${result.errors}`);
    return { ...result, rss };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const root = join(import.meta.dir, "../..");
  const bun = join(root, "node_modules/.bin/bun");
  const dir = mkdtempSync(join(tmpdir(), "bench-collect-"));
  const { body, contentType } = await trackerBody();
  const bodyFile = join(dir, "body.json");
  writeFileSync(bodyFile, body);
  const script = join(dir, "post.lua");
  writeFileSync(
    script,
    `local file = io.open(${JSON.stringify(bodyFile)}, "rb")\n` +
      `wrk.method = "POST"\nwrk.body = file:read("*a")\nfile:close()\n` +
      `wrk.headers["Content-Type"] = ${JSON.stringify(contentType)}\n` +
      `wrk.headers["Origin"] = "https://shop.example.com"\n` +
      `wrk.headers["Cookie"] = "sp=7b2c8a44-1e0f-4d2e-9a51-3f3c2d1b0a99"\n`,
  );
  log(`tracker body ${body.length} bytes, ${ROUNDS} rounds of ${SECONDS}s, ${CONNECTIONS} connections, wrk -t1`);

  const collectCommand = [join(root, "bin/telemetry"), "collect", "--port", "0", "--host", "127.0.0.1", "--stats-interval", "0", "--bad", "/dev/null"];
  const bareCommand = [bun, import.meta.path, "--bare"];
  const bareJsonCommand = [bun, import.meta.path, "--bare-json"];
  const collect: { rps: number; p99: number; rss: number; errors: number }[] = [];
  const bare: typeof collect = [];
  const bareJson: typeof collect = [];
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}`);
    bare.push(await measure("bare Bun.serve", bareCommand, script));
    bareJson.push(await measure("bare Bun.serve, JSON lines", bareJsonCommand, script));
    collect.push(await measure("telemetry collect", collectCommand, script));
  }
  const errors = collect.reduce((sum, r) => sum + r.errors, 0);
  if (errors > 0) log(`WARNING: telemetry collect answered ${errors} requests with errors`);

  const rps = median(collect.map((r) => r.rps));
  const baseRps = median(bare.map((r) => r.rps));
  const rpsRatio = median(collect.map((r, i) => r.rps / bare[i]!.rps));
  const p99 = median(collect.map((r) => r.p99));
  const baseP99 = median(bare.map((r) => r.p99));
  const p99Ratio = median(collect.map((r, i) => r.p99 / bare[i]!.p99));
  const rss = Math.max(...collect.map((r) => r.rss));
  const round2 = (n: number) => Math.round(n * 100) / 100;
  const row = (metric: string, value: number, baseline: number, ratio: number, target: string) =>
    console.log(
      JSON.stringify({
        area: "collect",
        metric,
        value: round2(value),
        baseline_name: "bare Bun.serve",
        baseline: round2(baseline),
        ratio: round2(ratio),
        peak_rss_mb: round2(rss),
        target,
      }),
    );
  row("requests/s", rps, baseRps, rpsRatio, "ratio >= 0.7, RSS < 150 MB");
  console.log(
    JSON.stringify({
      area: "collect",
      metric: "requests/s (vs JSON-line baseline)",
      value: round2(rps),
      baseline_name: "bare Bun.serve writing {\"body\":…} lines",
      baseline: round2(median(bareJson.map((r) => r.rps))),
      ratio: round2(median(collect.map((r, i) => r.rps / bareJson[i]!.rps))),
      peak_rss_mb: round2(rss),
      target: "informational",
    }),
  );
  row("p99 latency ms", p99, baseP99, p99Ratio, "lower is better (ratio = collect / baseline)");
}
