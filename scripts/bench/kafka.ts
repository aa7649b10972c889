/**
 * Bench of the Kafka topology beside the pipe topology, in the same run: the same raw records (page views)
 * through `enrich | sink-good` joined by a pipe, and through enrich → Kafka (TSV) → sink-good with the raw
 * records waiting on a 3-partition topic as Thrift, with one and with two enrich processes in a group. Each
 * run goes from starting the stages until SQLite holds every event; reported: events/s, and each stage's CPU
 * per event (user + system), the broker's included.
 *
 * Uses the broker named by KAFKA_URL, or the one on KAFKA_PORT (default 9092, `make kafka`), started with scripts/kafka.sh (and stopped after) when none listens there.
 * Run: node_modules/.bin/bun scripts/bench/kafka.ts   (rows on stdout, progress on stderr)
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rawRecordMessage } from "../../stages/kafka/formats";
import { KafkaLineProducer } from "../../stages/kafka/producer";
import { createTopics } from "../../stages/kafka/connection";
import { peakRssMb } from "./lib/measure";

const ROOT = join(import.meta.dir, "../..");
const TELEMETRY = join(ROOT, "bin/telemetry");
const EVENTS = 20_000;
const RAW_SCHEMA = "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0";

function say(message: string): void {
  process.stderr.write(`bench kafka: ${message}\n`);
}

function uuid(n: number): string {
  return `5f0e6c1e-5a3b-4b8e-9d5e-${n.toString(16).padStart(12, "0")}`;
}

/** One page view a raw record, as collect writes them. */
function rawRecords(): string[] {
  return Array.from({ length: EVENTS }, (_, n) => {
    const querystring = new URLSearchParams({
      e: "pv", eid: uuid(n), tv: "js-3.5.0", aid: "shop", p: "web", dtm: String(1764299990000 + n), res: "1920x1080", cookie: "1",
      duid: "d6e7f8a9-b0c1-4d2e-8f3a-4b5c6d7e8f9a", vid: "3", url: "https://shop.example.com/products/42?utm_source=newsletter", page: "Product 42",
    }).toString();
    return JSON.stringify({
      schema: RAW_SCHEMA, id: uuid(1_000_000 + n), timestamp: 1764300000000 + n, ipAddress: "203.0.113.9", encoding: "UTF-8",
      collector: "telemetry-collect-0.1.0", userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36",
      path: "/i", querystring, headers: ["Host: collector.example.com"], networkUserId: "a6f7b8c9-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
    });
  });
}

async function ensureBroker(): Promise<{ url: string; started: boolean; port: string }> {
  if (process.env.KAFKA_URL) return { url: process.env.KAFKA_URL, started: false, port: process.env.KAFKA_URL.split(":")[1]! };
  const port = process.env.KAFKA_PORT ?? "9092";
  const status = Bun.spawnSync([join(ROOT, "scripts/kafka.sh"), "status"], { env: { ...process.env, KAFKA_PORT: port } });
  if (status.exitCode === 0) return { url: `127.0.0.1:${port}`, started: false, port };
  const child = Bun.spawn([join(ROOT, "scripts/kafka.sh"), "start"], { env: { ...process.env, KAFKA_PORT: port }, stdout: "inherit", stderr: "inherit" });
  if ((await child.exited) !== 0) throw new Error("scripts/kafka.sh start failed");
  return { url: `127.0.0.1:${port}`, started: true, port };
}

/** CPU seconds (user + system) a live process has used, from /proc (clock ticks of 10 ms). */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function storedCount(db: string): number {
  try {
    const database = new Database(db, { readonly: true });
    try {
      database.run("PRAGMA busy_timeout = 2000");
      return (database.query("SELECT count(*) AS n FROM good").get() as { n: number }).n;
    } finally {
      database.close();
    }
  } catch {
    return 0;
  }
}

interface Run {
  seconds: number;
  /** Stage → CPU µs per event. */
  cpu: Map<string, number>;
  rssMb: Map<string, number>;
}

type Child = { pid: number; resourceUsage(): { cpuTime: { user: number | bigint; system: number | bigint } } | undefined };

function cpuOf(children: Map<string, Child>, run: Run): void {
  for (const [name, child] of children) {
    const usage = child.resourceUsage();
    const seconds = usage ? (Number(usage.cpuTime.user) + Number(usage.cpuTime.system)) / 1e6 : NaN;
    run.cpu.set(name, (seconds * 1e6) / EVENTS);
  }
}

async function pipeRun(rawFile: string, dir: string): Promise<Run> {
  const db = join(dir, `pipe-${Date.now()}.db`);
  const started = performance.now();
  const enrich = Bun.spawn([TELEMETRY, "enrich", "--bad", join(dir, "bad.ndjson"), "--stats-interval", "0"], { stdin: Bun.file(rawFile), stdout: "pipe", stderr: "inherit" });
  const sink = Bun.spawn([TELEMETRY, "sink-good", "--db", db, "--bad", join(dir, "bad.ndjson"), "--stats-interval", "0"], { stdin: enrich.stdout, stdout: "ignore", stderr: "ignore" });
  const rss = new Map<string, number>();
  const sampling = setInterval(() => {
    rss.set("enrich", Math.max(rss.get("enrich") ?? 0, peakRssMb(enrich.pid)));
    rss.set("sink-good", Math.max(rss.get("sink-good") ?? 0, peakRssMb(sink.pid)));
  }, 200);
  await Promise.all([enrich.exited, sink.exited]);
  clearInterval(sampling);
  const run: Run = { seconds: (performance.now() - started) / 1000, cpu: new Map(), rssMb: rss };
  cpuOf(new Map<string, Child>([["enrich", enrich], ["sink-good", sink]]), run);
  const stored = storedCount(db);
  if (stored !== EVENTS) throw new Error(`the pipe run stored ${stored} of ${EVENTS} events`);
  return run;
}

async function kafkaRun(broker: { url: string; port: string }, records: string[], dir: string, enrichers: number): Promise<Run> {
  const tag = Math.random().toString(36).slice(2, 8);
  const topics = { raw: `bench-raw-${tag}`, enriched: `bench-enriched-${tag}`, bad: `bench-bad-${tag}` };
  const connection = { brokers: broker.url, clientId: "telemetry-bench" };
  await createTopics(connection, Object.values(topics), 3, 1);
  // The raw records wait on the topic as Thrift before the stages start, as a backlog would.
  const producer = new KafkaLineProducer(connection, rawRecordMessage("thrift"), { topic: topics.raw, compression: "none", batchBytes: 1 << 20, lingerMs: 5 });
  for (let i = 0; i < records.length; i += 1000) await producer.writeLines(records.slice(i, i + 1000).join("\n") + "\n", 1000);
  await producer.close();
  const db = join(dir, `kafka-${tag}.db`);
  const kafka = ["--kafka", broker.url];
  const brokerPid = Number(readFileSync(join(ROOT, `.cache/kafka/node-${broker.port}/pid`), "utf8").trim());
  const brokerCpuBefore = cpuSecondsOf(brokerPid);
  const started = performance.now();
  const children = new Map<string, ReturnType<typeof Bun.spawn>>();
  children.set("sink-good", Bun.spawn([TELEMETRY, "sink-good", ...kafka, "--kafka-input-topic", topics.enriched, "--kafka-group", `sink-${tag}`, "--db", db, "--bad", join(dir, "bad.ndjson"), "--stats-interval", "0"], { stdout: "ignore", stderr: "inherit" }));
  for (let i = 1; i <= enrichers; i++) {
    children.set(`enrich-${i}`, Bun.spawn(
      [TELEMETRY, "enrich", ...kafka, "--kafka-input-topic", topics.raw, "--kafka-output-topic", topics.enriched, "--kafka-bad-topic", topics.bad, "--kafka-group", `enrich-${tag}`, "--stats-interval", "0"],
      { stdout: "ignore", stderr: "inherit" },
    ));
  }
  const rss = new Map<string, number>();
  let stored = 0;
  while (stored < EVENTS) {
    await Bun.sleep(100);
    for (const [name, child] of children) rss.set(name, Math.max(rss.get(name) ?? 0, peakRssMb(child.pid)));
    stored = storedCount(db);
    if ((performance.now() - started) / 1000 > 300) {
      for (const child of children.values()) child.kill("SIGKILL");
      throw new Error(`the Kafka run stored ${stored} of ${EVENTS} events in 5 minutes`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const brokerCpu = cpuSecondsOf(brokerPid) - brokerCpuBefore;
  for (const child of children.values()) child.kill("SIGTERM");
  await Promise.all([...children.values()].map((child) => child.exited));
  const run: Run = { seconds, cpu: new Map(), rssMb: rss };
  cpuOf(children, run);
  run.cpu.set("broker (Java)", (brokerCpu * 1e6) / EVENTS);
  return run;
}

const dir = mkdtempSync(join(tmpdir(), "bench-kafka-"));
const broker = await ensureBroker();
try {
  const records = rawRecords();
  const rawFile = join(dir, "raw.ndjson");
  writeFileSync(rawFile, records.join("\n") + "\n");
  // Interleaved so that a change in the machine's load touches each topology alike.
  const pipe: Run[] = [];
  const one: Run[] = [];
  const two: Run[] = [];
  for (let round = 1; round <= 2; round++) {
    say(`round ${round}: pipe`);
    pipe.push(await pipeRun(rawFile, dir));
    say(`round ${round}: Kafka, 1 enrich`);
    one.push(await kafkaRun(broker, records, dir, 1));
    say(`round ${round}: Kafka, 2 enrich in one group`);
    two.push(await kafkaRun(broker, records, dir, 2));
  }
  const best = (runs: Run[]) => runs.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const rate = (run: Run) => Math.round(EVENTS / run.seconds);
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const baseline = best(pipe);
  for (const [label, runs] of [["1 enrich", one], ["2 enrich in one group", two]] as const) {
    const run = best(runs);
    console.log(JSON.stringify({
      area: "kafka",
      metric: `events/s, raw topic → enrich → enriched topic → sink-good (SQLite), ${label}`,
      value: rate(run),
      baseline_name: "enrich | sink-good over a pipe",
      baseline: rate(baseline),
      ratio: Number((rate(run) / rate(baseline)).toFixed(2)),
      peak_rss_mb: Math.round(Math.max(...run.rssMb.values())),
      target: `informational (load average ${load})`,
    }));
    for (const [stage, micros] of run.cpu) {
      const pipeMicros = baseline.cpu.get(stage.replace(/-\d$/, ""));
      console.log(JSON.stringify({
        area: "kafka",
        metric: `CPU µs/event, ${stage} (${label})`,
        value: Number(micros.toFixed(1)),
        ...(pipeMicros === undefined ? {} : { baseline_name: `${stage.replace(/-\d$/, "")} over a pipe`, baseline: Number(pipeMicros.toFixed(1)) }),
        peak_rss_mb: Math.round(run.rssMb.get(stage) ?? 0),
        target: "informational",
      }));
    }
  }
} finally {
  if (broker.started) Bun.spawnSync([join(ROOT, "scripts/kafka.sh"), "stop"], { env: { ...process.env, KAFKA_PORT: broker.port } });
  rmSync(dir, { recursive: true, force: true });
}
