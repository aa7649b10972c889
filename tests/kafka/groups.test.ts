/**
 * Consumer groups on a real broker, under a steady load from the real node tracker: a member killed with
 * SIGKILL mid-load loses nothing, because offsets are committed only for what its output acknowledged, and
 * what it had read but not committed is read again by the member that takes its partitions; the stable event
 * ids make the store keep each event once.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { storedInSqlite, TrackerLoad, until } from "../supervise/harness";
import { collectPort, kafkaUrl, killStage, newTopics, stagesSaid, startCollect, startEnrich, startSink, tempDir, totalIn, type PipelineOptions, type Stage } from "./harness";

const EVENTS = 1800;
const PER_SECOND = 300;
let stages: Stage[] = [];

afterEach(async () => {
  for (const stage of stages) if (stage.child.exitCode === null) await stage.stop();
  stages = [];
});

async function newPipeline(): Promise<PipelineOptions> {
  const broker = await kafkaUrl();
  const dir = tempDir();
  return { broker, topics: await newTopics(broker, 3), dir, db: join(dir, "telemetry.db") };
}

/** Sends the load; `fault` runs once a third is sent; then every event must be stored exactly once. */
async function loadWithFault(pipeline: PipelineOptions, collect: Stage, fault: () => Promise<void>): Promise<string> {
  const load = new TrackerLoad(collectPort(collect), { method: "get", trackers: 6 });
  let injected: Promise<void> | undefined;
  await load.send(EVENTS, PER_SECOND, (sent) => {
    if (injected === undefined && sent >= EVENTS / 3) injected = fault();
  });
  await injected;
  await load.drain();
  expect(load.answered.size).toBe(EVENTS);
  await until("the store to hold every answered event", async () => (await storedInSqlite(pipeline.db)).good.length >= EVENTS, 180_000, stagesSaid);
  const stored = await storedInSqlite(pipeline.db);
  expect([...stored.good].sort()).toEqual([...load.answered].sort());
  expect(stored.good).toHaveLength(EVENTS);
  expect(stored.bad).toBe(0);
  return `${EVENTS} events answered 200, ${stored.good.length} stored (${new Set(stored.good).size} distinct), ${stored.bad} bad rows`;
}

describe("consumer groups: SIGKILL mid-load loses nothing", () => {
  test("two enrich processes in one group on a 3-partition topic, one killed: every event stored once", async () => {
    const pipeline = await newPipeline();
    const [collect, first, second, sink] = await Promise.all([
      startCollect(pipeline),
      startEnrich(pipeline, "enrich-1"),
      startEnrich(pipeline, "enrich-2"),
      startSink(pipeline, "good"),
    ]);
    stages = [collect!, first!, second!, sink!];
    const report = await loadWithFault(pipeline, collect!, async () => {
      // Both members must have had partitions, or the kill proves nothing.
      await until("both enrich processes to have taken records", () => totalIn(first!) > 0 && totalIn(second!) > 0, 60_000, stagesSaid);
      await killStage(second!);
    });
    console.log(`enrich-2 killed after ${totalIn(second!)} records: ${report}; enrich-1 read ${totalIn(first!)} in all`);
    expect(totalIn(first!)).toBeGreaterThan(0);
  }, 300_000);

  test("sink-good killed mid-load and started again in its group: every event stored once", async () => {
    const pipeline = await newPipeline();
    const [collect, enrich, sink] = await Promise.all([startCollect(pipeline), startEnrich(pipeline), startSink(pipeline, "good")]);
    stages = [collect!, enrich!, sink!];
    let restarted: Stage | undefined;
    const report = await loadWithFault(pipeline, collect!, async () => {
      await until("sink-good to have stored some events", async () => (await storedInSqlite(pipeline.db)).good.length > 0, 60_000, stagesSaid);
      await killStage(sink!);
      restarted = await startSink(pipeline, "good");
      stages.push(restarted);
    });
    console.log(`sink-good killed and restarted: ${report}; the restarted sink read ${totalIn(restarted!)}`);
  }, 300_000);
});
