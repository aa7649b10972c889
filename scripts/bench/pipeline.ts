/**
 * End to end: `telemetry up` on SQLite (collect → enrich → sink-good, with the other stages running), a
 * load generator on the same machine sending tracker-protocol events, and the store read back.
 *
 * For GET (one event a request) and POST (tp2 batches of 10):
 *   - the highest sustained rate: an open-loop load at rising rates, 8 s each; a rate is sustained when every
 *     request was answered 200, every event was stored, and the store caught up within 3 s of the last send.
 *   - at half that rate, the time from each event's send until it is in the store (p50, p99), each event
 *     found by its id (the send order is in the id), the store polled every 25 ms.
 *   - each stage's peak RSS, and its CPU time per event (user + system, from /proc) over the half-rate run,
 *     the load generator's included.
 * One JSON row per figure, as the other bench scripts print them. The machine is shared with the stages
 * and the generator: the figures are what this box does with all of them on it.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peakRssMb } from "./lib/measure";

const repo = join(import.meta.dir, "../..");
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 8);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 12);
const CATCH_UP_MS = 3000;
const MAX_IN_FLIGHT = 4000;

type Method = "get" | "post";

function log(message: string): void {
  process.stderr.write(`bench pipeline: ${message}\n`);
}

function freePorts(count: number): number[] {
  const listeners = Array.from({ length: count }, () => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const ports = listeners.map((listener) => listener.port);
  for (const listener of listeners) listener.stop(true);
  return ports;
}

interface StageStatus {
  name: string;
  pid: number | null;
  state: string;
}

class Pipeline {
  private constructor(
    readonly data: string,
    readonly port: number,
    private readonly child: ReturnType<typeof Bun.spawn>,
  ) {}

  static async start(): Promise<Pipeline> {
    const data = mkdtempSync(join(tmpdir(), "bench-pipeline-"));
    const [collect, logs, iglu] = freePorts(3);
    const child = Bun.spawn(
      [join(repo, "bin/telemetry"), "up", "--data", data, "--collect-port", String(collect), "--logs-port", String(logs),
        "--iglu-port", String(iglu), "--dashboard-port", "0"],
      { cwd: data, stdin: "ignore", stdout: "ignore", stderr: "inherit" },
    );
    const pipeline = new Pipeline(data, collect!, child);
    for (let waited = 0; ; waited += 200) {
      if (waited > 120_000) throw new Error("telemetry up did not start");
      try {
        if (pipeline.stages().every((stage) => stage.state === "running") && (await fetch(`http://127.0.0.1:${collect}/health`)).ok) break;
      } catch {
        // Not started yet.
      }
      await Bun.sleep(200);
    }
    return pipeline;
  }

  stages(): StageStatus[] {
    return JSON.parse(readFileSync(join(this.data, "run", "status.json"), "utf8")).stages;
  }

  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    await this.child.exited;
  }
}

/** CPU seconds (user + system) a process has used, from /proc; 0 once it has gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Event ids that carry the run and the send order, so the store tells which event arrived when. */
function eventId(run: number, sequence: number): string {
  return `${run.toString(16).padStart(8, "0")}-0000-4000-8000-${sequence.toString(16).padStart(12, "0")}`;
}

function sequenceOf(id: string): number {
  return parseInt(id.slice(-12), 16);
}

function runOf(id: string): number {
  return parseInt(id.slice(0, 8), 16);
}

function eventParameters(run: number, sequence: number, now: number): Record<string, string> {
  return {
    e: "pv",
    p: "web",
    tv: "js-4.0.0",
    aid: "bench",
    eid: eventId(run, sequence),
    dtm: String(now),
    stm: String(now),
    url: `https://shop.example.com/products/${sequence % 500}?ref=mail`,
    page: "Product",
    refr: "https://mail.example.com/",
    res: "1280x720",
    lang: "en-US",
    duid: "4d6a8a6c-8b7b-4a57-8f32-4f1f6b6c2d11",
    sid: "1b7b0f0e-3b4c-4f2e-9a57-6f6e8c0a2b33",
    vid: "3",
  };
}

/** Sends events at `perSecond` for `seconds`, open loop: a request is due at its time whether or not the last one was answered. */
async function sendAt(port: number, method: Method, run: number, firstSequence: number, perSecond: number, seconds: number) {
  const perRequest = method === "post" ? 10 : 1;
  const total = Math.round(perSecond * seconds);
  const sentAt = new Float64Array(total);
  const statuses = new Map<number, number>();
  let inFlight = 0;
  let sent = 0;
  let behind = false;
  const started = performance.now();
  const requests: Promise<void>[] = [];
  const send = (sequence: number, count: number) => {
    const now = Date.now();
    for (let i = 0; i < count; i++) sentAt[sequence - firstSequence + i] = now;
    let request: Promise<Response>;
    if (method === "get") {
      request = fetch(`http://127.0.0.1:${port}/i?${new URLSearchParams(eventParameters(run, sequence, now))}`);
    } else {
      const data = Array.from({ length: count }, (_, i) => eventParameters(run, sequence + i, now));
      request = fetch(`http://127.0.0.1:${port}/com.snowplowanalytics.snowplow/tp2`, {
        method: "POST",
        headers: { "content-type": "application/json; charset=UTF-8" },
        body: JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", data }),
      });
    }
    inFlight++;
    requests.push(
      request.then(
        async (response) => {
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + count);
        },
        () => void statuses.set(-1, (statuses.get(-1) ?? 0) + count),
      ).finally(() => inFlight--),
    );
  };
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * perSecond));
    while (sent + perRequest <= due || (sent < due && due === total)) {
      if (inFlight >= MAX_IN_FLIGHT) {
        behind = true;
        break;
      }
      const count = Math.min(perRequest, total - sent);
      send(firstSequence + sent, count);
      sent += count;
    }
    await Bun.sleep(2);
  }
  await Promise.all(requests);
  const sendSeconds = (performance.now() - started) / 1000;
  return { total, sentAt, statuses, lastSentAt: Date.now(), generatorKeptUp: !behind && sendSeconds < seconds * 1.1 };
}

/** Watches the good table: when each event of `run` was first seen there (ms since the epoch, by sequence). */
class StoreWatcher {
  private readonly db: Database;
  private lastRowid = 0;
  readonly seenAt = new Map<number, number>();
  stored = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(path: string, private readonly run: number) {
    this.db = new Database(path, { readonly: true });
    this.db.run("PRAGMA busy_timeout = 5000");
  }

  poll(): void {
    const now = Date.now();
    const rows = this.db.query("SELECT rowid, id FROM good WHERE rowid > ? ORDER BY rowid").all(this.lastRowid) as { rowid: number; id: string }[];
    for (const row of rows) {
      this.lastRowid = row.rowid;
      if (runOf(row.id) !== this.run) continue;
      const sequence = sequenceOf(row.id);
      if (!this.seenAt.has(sequence)) {
        this.seenAt.set(sequence, now);
        this.stored++;
      }
    }
  }

  start(): void {
    this.timer = setInterval(() => this.poll(), 25);
  }

  stop(): void {
    clearInterval(this.timer);
    this.poll();
    this.db.close();
  }

  async until(count: number, deadline: number): Promise<boolean> {
    while (this.stored < count) {
      if (Date.now() > deadline) return false;
      await Bun.sleep(25);
    }
    return true;
  }
}

let runNumber = Math.floor(Math.random() * 0xffff) << 8;

/** One step: `perSecond` for STEP_SECONDS; sustained when all answered 200, all stored, caught up within CATCH_UP_MS. */
async function step(pipeline: Pipeline, method: Method, perSecond: number) {
  const run = ++runNumber;
  const watcher = new StoreWatcher(join(pipeline.data, "telemetry.db"), run);
  watcher.start();
  const result = await sendAt(pipeline.port, method, run, 0, perSecond, STEP_SECONDS);
  const answered = result.statuses.get(200) ?? 0;
  const caughtUp = await watcher.until(answered, result.lastSentAt + CATCH_UP_MS);
  // Then let the rest drain, so the next step starts from an empty pipeline.
  await watcher.until(answered, Date.now() + 60_000);
  watcher.stop();
  const sustained = result.generatorKeptUp && answered === result.total && caughtUp && watcher.stored === answered;
  log(
    `${method.toUpperCase()} ${perSecond}/s: ${answered}/${result.total} answered 200 ${JSON.stringify(Object.fromEntries(result.statuses))}, ` +
      `${watcher.stored} stored, ${caughtUp ? "caught up" : "fell behind"}${result.generatorKeptUp ? "" : ", the generator could not keep the rate"}` +
      ` → ${sustained ? "sustained" : "not sustained"}`,
  );
  return { sustained, generatorKeptUp: result.generatorKeptUp };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(method: Method): Promise<void> {
  const pipeline = await Pipeline.start();
  try {
    let rate = method === "get" ? 1000 : 2000;
    let best = 0;
    let generatorLimited = false;
    for (let attempt = 0; attempt < 12; attempt++) {
      const { sustained, generatorKeptUp } = await step(pipeline, method, rate);
      if (!sustained) {
        generatorLimited = !generatorKeptUp;
        break;
      }
      best = rate;
      rate = Math.round(rate * 1.3);
    }
    const target = "≥ 15,000 events/s; p99 < 1 s at half";
    console.log(JSON.stringify({ area: `pipeline ${method.toUpperCase()}`, metric: `sustained events/s${generatorLimited ? " (generator-limited)" : ""}`, value: best, target }));

    const half = Math.max(100, Math.round(best / 2));
    const run = ++runNumber;
    const watcher = new StoreWatcher(join(pipeline.data, "telemetry.db"), run);
    const stages = pipeline.stages().filter((stage) => stage.pid !== null);
    const cpuBefore = new Map(stages.map((stage) => [stage.name, cpuSeconds(stage.pid!)]));
    const generatorBefore = process.cpuUsage();
    watcher.start();
    const result = await sendAt(pipeline.port, method, run, 0, half, LATENCY_SECONDS);
    const answered = result.statuses.get(200) ?? 0;
    await watcher.until(answered, Date.now() + 60_000);
    watcher.stop();
    const generatorCpu = process.cpuUsage(generatorBefore);
    const latencies: number[] = [];
    for (const [sequence, seen] of watcher.seenAt) latencies.push(seen - result.sentAt[sequence]!);
    latencies.sort((a, b) => a - b);
    log(`${method.toUpperCase()} at ${half}/s: ${answered}/${result.total} answered 200, ${watcher.stored} stored`);
    console.log(JSON.stringify({ area: `pipeline ${method.toUpperCase()}`, metric: `p50 ms send → stored at ${half}/s`, value: percentile(latencies, 50), target: "p99 < 1000" }));
    console.log(JSON.stringify({ area: `pipeline ${method.toUpperCase()}`, metric: `p99 ms send → stored at ${half}/s`, value: percentile(latencies, 99), target: "< 1000" }));
    for (const stage of stages) {
      const cpu = cpuSeconds(stage.pid!) - cpuBefore.get(stage.name)!;
      console.log(
        JSON.stringify({
          area: `pipeline ${method.toUpperCase()} ${stage.name}`,
          metric: "CPU µs/event",
          value: Math.round((cpu / Math.max(answered, 1)) * 1e6),
          peak_rss_mb: Math.round(peakRssMb(stage.pid!) * 10) / 10,
        }),
      );
    }
    console.log(
      JSON.stringify({
        area: `pipeline ${method.toUpperCase()} load generator`,
        metric: "CPU µs/event",
        value: Math.round((generatorCpu.user + generatorCpu.system) / Math.max(answered, 1)),
        peak_rss_mb: Math.round(peakRssMb(process.pid) * 10) / 10,
      }),
    );
  } finally {
    await pipeline.stop();
  }
}

await measure("get");
await measure("post");
