/**
 * Running `telemetry up` for the fault tests: the real supervisor and stages on free ports in a temporary
 * folder, a steady load from the real @snowplow/node-tracker and from logback (LogstashTcpSocketAppender),
 * and exact counts of what the store holds afterwards.
 */
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPageView, newTracker, type Tracker } from "@snowplow/node-tracker";
import { newInMemoryEventStore } from "@snowplow/tracker-core";
import type { SupervisorStatus } from "../../stages/supervise/status";
import { collectText } from "../fixtures/collect-text";

const repo = join(import.meta.dir, "../..");
const telemetry = join(repo, "bin/telemetry");

/** Distinct free ports: every listener stays open until all are picked. */
export function freePorts(count: number): number[] {
  const listeners = Array.from({ length: count }, () => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const ports = listeners.map((listener) => listener.port);
  for (const listener of listeners) listener.stop(true);
  return ports;
}

export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000, explain: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve(condition()).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${explain()}`);
    await Bun.sleep(100);
  }
}

export interface Up {
  data: string;
  collectPort: number;
  logsPort: number;
  child: ReturnType<typeof Bun.spawn>;
  stderr(): string;
  status(): SupervisorStatus;
  stage(name: string): SupervisorStatus["stages"][number];
  logs(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number>;
}

const running = new Set<ReturnType<typeof Bun.spawn>>();

/** For afterEach/afterAll: no `telemetry up` a failed test started stays running (its stages die with their pipes). */
export async function killUps(): Promise<void> {
  for (const child of running) {
    if (child.exitCode === null) child.kill("SIGTERM");
    const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(60_000).then(() => false)]);
    if (!exited) child.kill("SIGKILL");
  }
  running.clear();
}

export interface StartOptions {
  /** A data folder to use again (another run's); default a new one. */
  data?: string;
  /** When the run counts as started; default every stage running. */
  started?: (status: SupervisorStatus) => boolean;
}

export async function startUp(args: string[] = [], options: StartOptions = {}): Promise<Up> {
  const data = options.data ?? mkdtempSync(join(tmpdir(), "telemetry-up-"));
  const started = options.started ?? ((status: SupervisorStatus) => status.stages.every((stage) => stage.state === "running"));
  const [collectPort, logsPort, igluPort] = freePorts(3);
  const defaults: Record<string, string> = {
    "--collect-port": String(collectPort),
    "--logs-port": String(logsPort),
    "--iglu-port": String(igluPort),
    "--dashboard-port": "0",
    "--drain-timeout": "5",
    "--restart-max-delay": "2",
  };
  const chosen = Object.entries(defaults).filter(([flag]) => !args.includes(flag)).flat();
  const child = Bun.spawn(
    [telemetry, "up", "--data", data, ...chosen, ...args],
    { cwd: data, stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  running.add(child);
  const stderr = collectText(child.stderr as ReadableStream<Uint8Array>);
  const statusFile = join(data, "run", "status.json");
  const status = () => JSON.parse(readFileSync(statusFile, "utf8")) as SupervisorStatus;
  const logs = () =>
    readdirSync(data)
      .filter((name) => name.endsWith(".log"))
      .map((name) => `--- ${name}\n${readFileSync(join(data, name), "utf8").slice(-3000)}`)
      .join("\n") + `\n--- telemetry up\n${stderr.text()}`;
  await until(
    "every stage to run and the collector to answer",
    async () => {
      if (child.exitCode !== null) return true;
      return (
      existsSync(statusFile) &&
      status().state === "running" &&
      started(status()) &&
      (await fetch(`http://127.0.0.1:${collectPort}/health`)).ok
      );
    },
    120_000,
    logs,
  );
  if (child.exitCode !== null) throw new Error(`telemetry up exited with ${child.exitCode}:\n${stderr.text()}`);
  return {
    data,
    collectPort: collectPort!,
    logsPort: logsPort!,
    child,
    stderr: stderr.text,
    status,
    stage: (name) => status().stages.find((stage) => stage.name === name)!,
    logs,
    async stop() {
      child.kill("SIGTERM");
      const code = await child.exited;
      await stderr.done;
      running.delete(child);
      return code;
    },
  };
}

/** Events sent by node trackers at a steady rate; `answered` holds the event ids the collector answered 200. */
export class TrackerLoad {
  readonly answered = new Set<string>();
  readonly statuses = new Map<number, number>();
  private readonly trackers: { tracker: Tracker; store: ReturnType<typeof newInMemoryEventStore> }[] = [];
  sent = 0;

  constructor(port: number, options: { method: "get" | "post"; trackers?: number }) {
    for (let i = 0; i < (options.trackers ?? 8); i++) {
      const store = newInMemoryEventStore({});
      const tracker = newTracker(
        { namespace: `load${i}`, appId: "fault-test", encodeBase64: true },
        {
          endpoint: "127.0.0.1",
          port,
          protocol: "http",
          eventMethod: options.method,
          bufferSize: options.method === "post" ? 10 : 1,
          eventStore: store,
          onRequestSuccess: (batch) => {
            this.count(200);
            for (const payload of batch) this.answered.add(String(payload.eid));
          },
          onRequestFailure: (failure) => this.count(failure.status ?? -1),
        },
      );
      this.trackers.push({ tracker, store });
    }
  }

  private count(status: number): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  /** Sends `total` page views at about `perSecond`, round-robin over the trackers. */
  async send(total: number, perSecond: number, onProgress?: (sent: number) => void): Promise<void> {
    const started = Date.now();
    while (this.sent < total) {
      const due = Math.min(total, Math.ceil(((Date.now() - started) / 1000) * perSecond));
      for (; this.sent < due; this.sent++) {
        const { tracker } = this.trackers[this.sent % this.trackers.length]!;
        tracker.track(buildPageView({ pageUrl: `https://shop.example.com/item/${this.sent}`, pageTitle: `Item ${this.sent}` }));
      }
      onProgress?.(this.sent);
      await Bun.sleep(20);
    }
  }

  /** Flushes every tracker until none holds an event (each retry of a 503 happens here). */
  async drain(timeoutMs = 180_000): Promise<void> {
    await until(
      "the trackers to have every event answered",
      async () => {
        let left = 0;
        for (const { tracker, store } of this.trackers) {
          const count = await store.count();
          if (count > 0) {
            tracker.flush();
            left += count;
          }
        }
        return left === 0;
      },
      timeoutMs,
      () => `statuses ${JSON.stringify([...this.statuses])}`,
    );
  }
}

const javaDir = join(repo, "tests/supervise/java");
const classpathJars = ["logback-classic", "logback-core", "logstash-logback-encoder", "slf4j-api", "jackson-core", "jackson-databind", "jackson-annotations", "disruptor"].map(
  (name) => `/usr/share/java/${name}.jar`,
);
let compiledClasses: string | undefined;

/** Starts a JVM that logs `count` lines ("log <run> <n>") through LogstashTcpSocketAppender at about `perSecond`. */
export function startLogLoad(port: number, run: string, count: number, perSecond: number): { done: Promise<number> } {
  if (compiledClasses === undefined) {
    compiledClasses = mkdtempSync(join(tmpdir(), "log-load-"));
    const javac = Bun.spawnSync(["javac", "-d", compiledClasses, "-cp", classpathJars.join(":"), join(javaDir, "LogLoad.java")], { stderr: "pipe" });
    if (javac.exitCode !== 0) throw new Error(`javac failed: ${javac.stderr.toString()}`);
  }
  const child = Bun.spawn(
    ["java", "-cp", [...classpathJars, compiledClasses].join(":"), `-DLOGS_DESTINATION=127.0.0.1:${port}`,
      `-Dlogback.configurationFile=${join(javaDir, "logback.xml")}`, "example.LogLoad", run, String(count), String(perSecond)],
    { stdout: "ignore", stderr: "pipe" },
  );
  running.add(child);
  return { done: child.exited };
}

export interface Stored {
  good: string[];
  bad: number;
  logs: string[];
}

/** Event ids in `good`, the number of bad rows, and the messages of the logs, straight from the store. */
export async function storedInSqlite(db: string): Promise<Stored> {
  if (!existsSync(db)) return { good: [], bad: 0, logs: [] };
  const database = new Database(db, { readonly: true });
  try {
    database.run("PRAGMA busy_timeout = 5000");
    const tables = new Set((database.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name));
    const good = tables.has("good") ? (database.query("SELECT id FROM good").all() as { id: string }[]).map((row) => row.id) : [];
    const bad = tables.has("bad") ? (database.query("SELECT count(*) AS n FROM bad").get() as { n: number }).n : 0;
    const logs = tables.has("logs") ? (database.query("SELECT doc ->> '$.message' AS m FROM logs").all() as { m: string }[]).map((row) => row.m) : [];
    return { good, bad, logs };
  } finally {
    database.close();
  }
}

export async function storedInElasticsearch(url: string): Promise<Stored> {
  const search = async (index: string, field?: string) => {
    await fetch(`${url}/${index}/_refresh?ignore_unavailable=true&allow_no_indices=true`, { method: "POST" });
    const response = await fetch(`${url}/${index}/_search?ignore_unavailable=true&allow_no_indices=true&size=10000`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ _source: field ? [field] : false, query: { match_all: {} }, track_total_hits: true }),
    });
    return (await response.json()) as { hits: { total: { value: number }; hits: { _id: string; _source?: Record<string, string> }[] } };
  };
  const good = await search("good");
  const bad = await search("bad");
  const logs = await search("logs-*", "message");
  return {
    good: good.hits.hits.map((hit) => hit._id),
    bad: bad.hits.total.value,
    logs: logs.hits.hits.map((hit) => hit._source!.message!),
  };
}

/** What a fault test reports: which fault, what it counted. */
export function countsLine(fault: string, load: TrackerLoad, stored: Stored, logsSent: number): string {
  const storedIds = new Set(stored.good);
  const lost = [...load.answered].filter((id) => !storedIds.has(id)).length;
  const extra = stored.good.length - (stored.good.length - [...storedIds].filter((id) => !load.answered.has(id)).length);
  return (
    `${fault}: ${load.sent} events sent, ${load.answered.size} answered 200 (${JSON.stringify(Object.fromEntries(load.statuses))} answers), ` +
    `${stored.good.length} stored: ${lost} lost, ${stored.good.length - storedIds.size} duplicated, ${extra} not answered 200; ` +
    `${stored.bad} bad rows; ${logsSent} logs sent, ${stored.logs.length} stored (${new Set(stored.logs).size} distinct)`
  );
}
