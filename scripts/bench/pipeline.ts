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
 * and the generator (its own process, lib/load-generator.ts, so its CPU time is counted apart): the
 * figures are what this box does with all of them on it.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runOf, sequenceOf, type GeneratorOptions, type GeneratorResult } from "./lib/load-generator";
import { peakRssMb } from "./lib/measure";

const repo = join(import.meta.dir, "../..");
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 8);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 12);
const CATCH_UP_MS = 3000;

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
        "--iglu-port", String(iglu), "--dashboard-port", "0", ...(process.env.BENCH_UP_ARGS?.split(" ").filter(Boolean) ?? [])],
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

  /** The `telemetry up` process itself (bin/telemetry execs Bun): it relays every line between the stages. */
  get supervisorPid(): number {
    return this.child.pid;
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

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

/** Sends events at `perSecond` for `seconds` from the load generator's own process (lib/load-generator.ts). */
async function sendAt(port: number, method: Method, run: number, perSecond: number, seconds: number) {
  const sentAtFile = join(mkdtempSync(join(tmpdir(), "bench-load-")), "sent-at");
  const options: GeneratorOptions = { port, method, run, perSecond, seconds, connections: CONNECTIONS, sentAtFile };
  const generator = Bun.spawn([process.execPath, join(import.meta.dir, "lib/load-generator.ts"), JSON.stringify(options)], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const [output] = await Promise.all([new Response(generator.stdout).text(), generator.exited]);
  if (generator.exitCode !== 0) throw new Error(`the load generator exited with ${generator.exitCode}`);
  const result = JSON.parse(output) as GeneratorResult;
  const sentAt = new Float64Array(readFileSync(sentAtFile).buffer.slice(0));
  rmSync(dirname(sentAtFile), { recursive: true, force: true });
  const statuses = new Map(Object.entries(result.statuses).map(([status, count]) => [Number(status), count]));
  return { total: result.total, sentAt, statuses, lastSentAt: result.lastSentAt, generatorKeptUp: result.keptUp, generatorCpuMicros: result.cpuMicros, generatorPeakRssMb: result.peakRssMb };
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
  const result = await sendAt(pipeline.port, method, run, perSecond, STEP_SECONDS);
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
    let rate = Number(process.env.BENCH_START_RATE ?? 2000);
    let best = 0;
    let generatorLimited = false;
    // BENCH_CPU_RATE=N skips the search and measures at N/s only (to compare CPU per event between changes).
    const fixedRate = process.env.BENCH_CPU_RATE === undefined ? undefined : Number(process.env.BENCH_CPU_RATE);
    for (let attempt = 0; fixedRate === undefined && attempt < 12; attempt++) {
      const { sustained, generatorKeptUp } = await step(pipeline, method, rate);
      if (!sustained) {
        generatorLimited = !generatorKeptUp;
        break;
      }
      best = rate;
      rate = Math.round(rate * 1.3);
    }
    const target = "≥ 15,000 events/s; p99 < 1 s at half";
    if (fixedRate === undefined) console.log(JSON.stringify({ area: `pipeline ${method.toUpperCase()}`, metric: `sustained events/s${generatorLimited ? " (generator-limited)" : ""}`, value: best, target }));

    const half = fixedRate ?? Math.max(100, Math.round(best / 2));
    const run = ++runNumber;
    const watcher = new StoreWatcher(join(pipeline.data, "telemetry.db"), run);
    const stages = [{ name: "supervisor (relays)", pid: pipeline.supervisorPid, state: "running" }, ...pipeline.stages().filter((stage) => stage.pid !== null)];
    const cpuBefore = new Map(stages.map((stage) => [stage.name, cpuSeconds(stage.pid!)]));
    const watcherBefore = process.cpuUsage();
    watcher.start();
    const result = await sendAt(pipeline.port, method, run, half, LATENCY_SECONDS);
    const answered = result.statuses.get(200) ?? 0;
    await watcher.until(answered, Date.now() + 60_000);
    watcher.stop();
    const watcherCpu = process.cpuUsage(watcherBefore);
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
        value: Math.round(result.generatorCpuMicros / Math.max(answered, 1)),
        peak_rss_mb: Math.round(result.generatorPeakRssMb * 10) / 10,
      }),
    );
    // The bench itself, polling the store for the events' arrival: it shares the machine too.
    console.log(
      JSON.stringify({
        area: `pipeline ${method.toUpperCase()} store watcher`,
        metric: "CPU µs/event",
        value: Math.round((watcherCpu.user + watcherCpu.system) / Math.max(answered, 1)),
        peak_rss_mb: Math.round(peakRssMb(process.pid) * 10) / 10,
      }),
    );
  } finally {
    await pipeline.stop();
  }
}

// BENCH_METHODS=get (or post) measures one of them only.
for (const method of (process.env.BENCH_METHODS ?? "get,post").split(",") as Method[]) await measure(method);
