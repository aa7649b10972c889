/**
 * Running stages on a real Kafka broker for the tests: the broker scripts/test.sh started (KAFKA_URL), or
 * one of their own started by scripts/kafka.sh on a free port when run alone; topics and groups with a
 * fresh name per test, so runs never see each other's messages; stage processes that are always stopped.
 */
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts, until } from "../supervise/harness";

const repo = join(import.meta.dir, "../..");
export const telemetry = join(repo, "bin/telemetry");

let ownBroker: { port: number } | undefined;

async function run(command: string[], env: Record<string, string> = {}): Promise<string> {
  const child = Bun.spawn(command, { cwd: repo, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${stdout.slice(-2000)}${stderr.slice(-2000)}`);
  return stdout;
}

/** host:port of the broker for this test file. */
export async function kafkaUrl(): Promise<string> {
  if (process.env.KAFKA_URL) return process.env.KAFKA_URL;
  if (!ownBroker) {
    const [port] = freePorts(1);
    const [controller] = freePorts(1);
    ownBroker = { port: port! };
    await run(["scripts/kafka.sh", "start"], { KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller) });
    process.env.KAFKA_URL = `127.0.0.1:${port}`;
  }
  return `127.0.0.1:${ownBroker.port}`;
}

afterAll(async () => {
  for (const stage of running) stage.child.kill("SIGKILL");
  if (ownBroker) {
    await run(["scripts/kafka.sh", "remove"], { KAFKA_PORT: String(ownBroker.port) });
    delete process.env.KAFKA_URL;
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const dirs: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kafka-test-"));
  dirs.push(dir);
  return dir;
}

export interface Topics {
  raw: string;
  enriched: string;
  bad: string;
  /** A suffix for group names, so each test's groups start with no committed offsets. */
  run: string;
}

/** Fresh raw, enriched and bad topics with `partitions` partitions each, made by `telemetry kafka-topics`. */
export async function newTopics(broker: string, partitions: number): Promise<Topics> {
  const run = Math.random().toString(36).slice(2, 10);
  const topics = { raw: `raw-${run}`, enriched: `enriched-${run}`, bad: `bad-${run}`, run };
  await run_(["--kafka", broker, "--topics", [topics.raw, topics.enriched, topics.bad].join(","), "--partitions", String(partitions)]);
  return topics;
}

async function run_(args: string[]): Promise<void> {
  await run([telemetry, "kafka-topics", ...args]);
}

export interface Stage {
  name: string;
  child: ReturnType<typeof Bun.spawn>;
  stderr(): string;
  /** SIGTERM, and the exit code once it has drained. */
  stop(): Promise<number>;
}

const running = new Set<Stage>();

/** Starts `telemetry <args>`; resolves once its stderr says `ready` (a regular expression). */
export async function startStage(name: string, args: string[], ready: RegExp): Promise<Stage> {
  const child = Bun.spawn([telemetry, ...args], { cwd: repo, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let text = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
  })();
  const stage: Stage = {
    name,
    child,
    stderr: () => text,
    async stop() {
      child.kill("SIGTERM");
      const code = await child.exited;
      running.delete(stage);
      return code;
    },
  };
  running.add(stage);
  await until(`${name} to start`, () => ready.test(text) || child.exitCode !== null, 60_000);
  if (!ready.test(text)) throw new Error(`${name} exited ${child.exitCode} before it was ready:\n${text}`);
  return stage;
}

/** Kills a stage with SIGKILL, as a crash would. */
export async function killStage(stage: Stage): Promise<void> {
  stage.child.kill("SIGKILL");
  await stage.child.exited;
  running.delete(stage);
}

/** Stderr of every stage still running, for a timeout's explanation. */
export function stagesSaid(): string {
  return [...running].map((stage) => `--- ${stage.name}\n${stage.stderr().slice(-3000)}`).join("\n");
}

/** The `total in N` of a stage's newest counter line (--stats-interval), 0 before the first. */
export function totalIn(stage: Stage): number {
  const totals = [...stage.stderr().matchAll(/total in (\d+)/g)];
  return totals.length === 0 ? 0 : Number(totals.at(-1)![1]);
}

/** The port in collect's startup line. */
export function collectPort(stage: Stage): number {
  return Number(/listening on http:\/\/[^:]+:(\d+)/.exec(stage.stderr())![1]);
}

export interface PipelineOptions {
  broker: string;
  topics: Topics;
  dir: string;
  db: string;
}

export function startCollect({ broker, topics, dir }: PipelineOptions): Promise<Stage> {
  return startStage(
    "collect",
    ["collect", "--kafka", broker, "--kafka-output-topic", topics.raw, "--port", "0", "--host", "127.0.0.1", "--bad", join(dir, "collect-bad.ndjson")],
    /listening on/,
  );
}

export function startEnrich({ broker, topics, dir }: PipelineOptions, name = "enrich"): Promise<Stage> {
  return startStage(
    name,
    [
      "enrich", "--kafka", broker,
      "--kafka-input-topic", topics.raw, "--kafka-output-topic", topics.enriched, "--kafka-bad-topic", topics.bad,
      "--kafka-group", `enrich-${topics.run}`, "--kafka-session-timeout-ms", "6000", "--stats-interval", "1",
    ],
    /reading raw records/,
  );
}

export function startSink({ broker, topics, dir, db }: PipelineOptions, kind: "good" | "bad"): Promise<Stage> {
  return startStage(
    `sink-${kind}`,
    [
      `sink-${kind}`, "--kafka", broker,
      "--kafka-input-topic", kind === "good" ? topics.enriched : topics.bad,
      "--kafka-group", `sink-${kind}-${topics.run}`, "--kafka-session-timeout-ms", "6000",
      "--db", db, "--batch-ms", "200", "--bad", join(dir, `sink-${kind}-bad.ndjson`), "--stats-interval", "1",
    ],
    /storing into/,
  );
}
