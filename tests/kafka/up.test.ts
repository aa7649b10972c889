/**
 * `telemetry up --kafka` on a real broker: the supervisor runs collect, enrich, sink-good and sink-bad on
 * topics (created at start) instead of pipes, under a steady load from the real node tracker; enrich killed
 * with SIGKILL mid-load is started again by the supervisor, reads on from its group's committed offsets,
 * and the store still holds every event exactly once.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Admin } from "@platformatic/kafka";
import { killUps, startUp, storedInSqlite, TrackerLoad, until, type Up } from "../supervise/harness";
import { kafkaUrl, telemetry } from "./harness";

const EVENTS = 1500;
const PER_SECOND = 250;
let up: Up | undefined;

afterEach(async () => {
  if (up && up.child.exitCode === null) await up.stop();
  up = undefined;
  await killUps();
});
afterAll(killUps);

/** Messages of `group` committed, summed over the partitions (none committed: 0). */
async function committedOffsets(broker: string, group: string): Promise<number> {
  const admin = new Admin({ clientId: "up-test", bootstrapBrokers: [broker] });
  try {
    const [listed] = await admin.listConsumerGroupOffsets({ groups: [group] });
    let total = 0;
    for (const topic of listed?.topics ?? []) for (const partition of topic.partitions) total += Math.max(0, Number(partition.committedOffset));
    return total;
  } finally {
    await admin.close();
  }
}

describe("telemetry up --kafka", () => {
  test("node tracker events through the topics, enrich killed once mid-load: every event stored once", async () => {
    const broker = await kafkaUrl();
    const run = Math.random().toString(36).slice(2, 10);
    const topics = { raw: `up-raw-${run}`, enriched: `up-enriched-${run}`, bad: `up-bad-${run}` };
    up = await startUp([
      "--kafka", broker,
      "--kafka-raw-topic", topics.raw, "--kafka-enriched-topic", topics.enriched, "--kafka-bad-topic", topics.bad,
      "--kafka-group-prefix", `up-${run}-`,
      "--sink-batch-ms", "100",
    ]);
    const current = up;
    const db = join(current.data, "telemetry.db");
    expect(current.stderr()).toContain(`created ${topics.raw}, ${topics.enriched}, ${topics.bad}`);

    // The Kafka stages, and only they, are marked so; raw and good are topics, not hops.
    const status = current.status();
    expect(status.stages.filter((stage) => stage.kafka).map((stage) => stage.name).sort()).toEqual(["collect", "enrich", "sink-bad", "sink-good"]);
    expect(status.hops.map((hop) => hop.name).sort()).toEqual(["bad", "logs", "pii"]);
    const enrichPid = current.stage("enrich").pid!;
    const group = `up-${run}-enrich`;

    const load = new TrackerLoad(current.collectPort, { method: "get", trackers: 6 });
    let killed: Promise<number> | undefined;
    let committedAtKill = 0;
    await load.send(EVENTS, PER_SECOND, (sent) => {
      if (killed !== undefined || sent < EVENTS / 3) return;
      killed = (async () => {
        // Enrich must have done part of the work, or killing it proves nothing.
        await until("the first events to be stored", async () => (await storedInSqlite(db)).good.length > 0, 60_000, current.logs);
        // It commits while the load goes on, so that its replacement reads on from there rather than from the start.
        await until("enrich to commit offsets under load", async () => (committedAtKill = await committedOffsets(broker, group)) > 0, 30_000, current.logs);
        const storedBefore = (await storedInSqlite(db)).good.length;
        process.kill(enrichPid, "SIGKILL");
        return storedBefore;
      })();
    });
    const storedAtKill = await killed!;
    await load.drain();
    expect(load.answered.size).toBe(EVENTS);
    await until("the supervisor to start enrich again", () => current.stage("enrich").restarts >= 1 && current.stage("enrich").state === "running", 60_000, current.logs);
    expect(current.stage("enrich").lastExit?.signal).toBe("SIGKILL");
    await until("the store to hold every answered event", async () => (await storedInSqlite(db)).good.length >= EVENTS, 180_000, current.logs);

    const stored = await storedInSqlite(db);
    expect(storedAtKill).toBeLessThan(EVENTS);
    expect([...stored.good].sort()).toEqual([...load.answered].sort());
    expect(stored.good).toHaveLength(EVENTS);
    expect(stored.bad).toBe(0);

    // `telemetry status` still answers, with "kafka" where the supervisor does not count the lines.
    const said = Bun.spawnSync([telemetry, "status", "--data", current.data], { stdout: "pipe", stderr: "pipe" });
    const table = said.stdout.toString() + said.stderr.toString();
    expect(table).toMatch(/^enrich\s+up\s+\d+\s+1\s+kafka\s+kafka/m);
    expect(table).toContain(`good ${EVENTS}`);

    expect(await current.stop()).toBe(0);
    console.log(
      `telemetry up --kafka: ${EVENTS} events answered 200, enrich killed with SIGKILL when ${storedAtKill} were stored (${committedAtKill} raw records committed by its group before) and started again; ` +
        `${stored.good.length} stored (${new Set(stored.good).size} distinct), ${stored.bad} bad rows`,
    );
  }, 420_000);
});
