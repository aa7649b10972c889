/**
 * The stages on a real Kafka broker, Snowplow's formats on the topics: the real node tracker → collect →
 * raw topic (Thrift) → enrich → enriched topic (TSV) and bad topic (JSON) → sink-good and sink-bad into
 * SQLite. Every event answered 200 is stored exactly once. kcat, a Kafka client that is not ours (librdkafka),
 * reads what our stages wrote and writes a Thrift payload our enrich takes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { storedInSqlite, TrackerLoad, until } from "../supervise/harness";
import { decodeCollectorPayload, encodeCollectorPayload } from "../../stages/kafka/collector-payload";
import { ENRICHED_FIELDS } from "../../stages/enrich/event";
import { collectPort, kafkaUrl, newTopics, stagesSaid, startCollect, startEnrich, startSink, tempDir, type PipelineOptions, type Stage } from "./harness";

let pipeline: PipelineOptions;
let stages: Stage[] = [];

async function kcat(args: string[]): Promise<Buffer> {
  const child = Bun.spawn(["kcat", "-b", pipeline.broker, ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).arrayBuffer(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`kcat ${args.join(" ")} exited ${code}: ${stderr}`);
  return Buffer.from(stdout);
}

beforeAll(async () => {
  const broker = await kafkaUrl();
  const dir = tempDir();
  pipeline = { broker, topics: await newTopics(broker, 3), dir, db: join(dir, "telemetry.db") };
  stages = await Promise.all([startCollect(pipeline), startEnrich(pipeline), startSink(pipeline, "good"), startSink(pipeline, "bad")]);
}, 120_000);

afterAll(async () => {
  for (const stage of stages) if (stage.child.exitCode === null) await stage.stop();
});

describe("collect → Kafka → enrich → Kafka → sinks", () => {
  test("every event from the node tracker, GET and POST, stored once; no bad row", async () => {
    const port = collectPort(stages[0]!);
    const get = new TrackerLoad(port, { method: "get", trackers: 4 });
    const post = new TrackerLoad(port, { method: "post", trackers: 4 });
    await Promise.all([get.send(400, 400), post.send(400, 400)]);
    await Promise.all([get.drain(), post.drain()]);
    const answered = [...get.answered, ...post.answered];
    expect(answered).toHaveLength(800);
    await until("the store to hold every answered event", async () => (await storedInSqlite(pipeline.db)).good.length >= answered.length, 120_000, stagesSaid);
    const stored = await storedInSqlite(pipeline.db);
    expect(stored.good.sort()).toEqual(answered.sort());
    expect(stored.bad).toBe(0);
  }, 180_000);

  test("kcat reads Thrift CollectorPayloads keyed by a UUID on the raw topic, and 131-column TSV on the enriched one", async () => {
    const keys = (await kcat(["-C", "-t", pipeline.topics.raw, "-o", "beginning", "-e", "-q", "-f", "%k\n"])).toString().trim().split("\n");
    // One record per GET request (400) and one per POST request (several events each).
    expect(keys.length).toBeGreaterThan(400);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // One message written to a file by kcat (-D "" keeps the raw bytes together); it decodes as a payload.
    const first = await kcat(["-C", "-t", pipeline.topics.raw, "-p", "0", "-o", "beginning", "-c", "1", "-e", "-q", "-D", ""]);
    const payload = decodeCollectorPayload(first);
    expect(payload.schema).toBe("iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0");
    expect(payload.collector).toStartWith("telemetry-collect-");
    const enriched = (await kcat(["-C", "-t", pipeline.topics.enriched, "-o", "beginning", "-e", "-q"])).toString().split("\n").filter((line) => line !== "");
    expect(enriched).toHaveLength(800);
    for (const line of enriched) expect(line.split("\t")).toHaveLength(ENRICHED_FIELDS.length);
  }, 60_000);

  test("a Thrift payload produced by kcat is enriched and stored; one that is not Thrift becomes a bad row", async () => {
    const eventId = randomUUID();
    const thrift = encodeCollectorPayload({
      schema: "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0",
      timestamp: Date.now(),
      ipAddress: "198.51.100.4",
      encoding: "UTF-8",
      collector: "ssc-3.5.0-kafka",
      path: "/i",
      querystring: `e=pv&eid=${eventId}&p=web&tv=js-3.5.0&aid=kcat&url=${encodeURIComponent("https://kcat.example/")}`,
      headers: [],
      userAgent: "kcat",
    });
    const file = join(pipeline.dir, "payload.thrift");
    writeFileSync(file, thrift);
    await kcat(["-P", "-t", pipeline.topics.raw, "-k", randomUUID(), file]);
    writeFileSync(file, "not thrift at all");
    await kcat(["-P", "-t", pipeline.topics.raw, "-k", randomUUID(), file]);
    await until("the kcat event and a bad row in the store", async () => {
      const stored = await storedInSqlite(pipeline.db);
      return stored.good.includes(eventId) && stored.bad >= 1;
    }, 60_000, stagesSaid);
    const stored = await storedInSqlite(pipeline.db);
    expect(stored.bad).toBe(1);
  }, 90_000);

  test("each stage stops on SIGTERM with exit 0, having committed what it handled", async () => {
    for (const stage of stages) expect(await stage.stop()).toBe(0);
    // Started again in the same groups, nothing is read twice: the store gains nothing, no bad row is added.
    const before = await storedInSqlite(pipeline.db);
    const again = await Promise.all([startEnrich(pipeline), startSink(pipeline, "good"), startSink(pipeline, "bad")]);
    stages = again;
    await Bun.sleep(3000);
    const after = await storedInSqlite(pipeline.db);
    expect(after.good.length).toBe(before.good.length);
    expect(after.bad).toBe(before.bad);
    for (const stage of again) expect(await stage.stop()).toBe(0);
    for (const stage of again) expect(stage.stderr()).toMatch(/stopped \(total in 0 out 0 bad 0\)/);
  }, 90_000);
});
