/**
 * `telemetry up`'s supervision itself: a stage that cannot start is reported and tried at growing
 * intervals while the rest keeps working; `telemetry status` shows it; a stop while the store is
 * unavailable keeps what was not stored, and the next start stores it.
 */
import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { buildPageView, newTracker } from "@snowplow/node-tracker";
import { killUps, startUp, storedInSqlite, until } from "./harness";

const telemetry = join(import.meta.dir, "../../bin/telemetry");

afterEach(killUps, 120_000);

async function sendPageViews(port: number, count: number): Promise<Set<string>> {
  const answered = new Set<string>();
  const tracker = newTracker(
    { namespace: "supervision", appId: "supervision-test", encodeBase64: true },
    {
      endpoint: "127.0.0.1",
      port,
      protocol: "http",
      eventMethod: "post",
      bufferSize: 5,
      onRequestSuccess: (batch) => batch.forEach((payload) => answered.add(String(payload.eid))),
    },
  );
  for (let i = 0; i < count; i++) tracker.track(buildPageView({ pageUrl: `https://example.com/${i}` }));
  await until("every event answered 200", () => (tracker.flush(), answered.size === count));
  return answered;
}

test("a stage that cannot start is reported as crash-looping, tried at growing intervals, and the pipeline keeps storing", async () => {
  // Something else holds the Iglu port: iglu serve exits at once, every time.
  const squatter = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    const up = await startUp(["--iglu-port", String(squatter.port)], {
      started: (status) => status.stages.every((stage) => stage.name === "iglu" || stage.state === "running"),
    });
    await until("iglu to be reported as crash-looping", () => up.stage("iglu").state === "crash-looping", 120_000, up.logs);
    expect(up.stderr()).toContain("iglu has exited within 30 s of starting 5 times in a row; it is started again at most every 2 s");
    expect(up.stage("iglu").restarts).toBeGreaterThanOrEqual(4);
    const exits = up.logs().match(/iglu exited \(exit code 2\) after [\d.]+ s; starting it again in ([\d.]+) s/g) ?? [];
    expect(exits.slice(0, 4).map((line) => line.match(/again in ([\d.]+) s/)![1])).toEqual(["0.5", "1.0", "2.0", "2.0"]);

    const answered = await sendPageViews(up.collectPort, 20);
    await until("the events to be stored", async () => (await storedInSqlite(join(up.data, "telemetry.db"))).good.length === 20, 60_000, up.logs);
    expect(new Set((await storedInSqlite(join(up.data, "telemetry.db"))).good)).toEqual(answered);

    // status.json is rewritten each second, so its totals may trail the store by up to a second.
    await until("status.json to count the stored events", () => up.stage("sink-good").totals.out === 20, 60_000, up.logs);
    const table = Bun.spawnSync([telemetry, "status", "--data", up.data], { stdout: "pipe" }).stdout.toString();
    expect(table).toMatch(/^iglu\s+crash-looping\s+\S+\s+\d+/m);
    expect(table).toMatch(/^sink-good\s+up\s+\d+\s+0/m);
    expect(table).toContain("good 20");
    const json = JSON.parse(Bun.spawnSync([telemetry, "status", "--data", up.data, "--json"], { stdout: "pipe" }).stdout.toString());
    expect(json.storeCounts.good).toBe(20);
    // Documents only: the dashboard's roll-up tables are counts, not stored records.
    expect(Object.keys(json.storeCounts).filter((name) => name.includes("rollup"))).toEqual([]);
    expect(json.stages.find((stage: { name: string }) => stage.name === "sink-good").totals.out).toBe(20);

    squatter.stop(true);
    await until("iglu to answer once its port is free", async () => (await fetch(`http://127.0.0.1:${squatter.port}/api/meta/health`)).ok, 60_000, up.logs);
    expect(await up.stop()).toBe(0);
  } finally {
    squatter.stop(true);
  }
}, 300_000);

test("a stop while the store is locked keeps what was not stored in data/run/pending; the next start stores it", async () => {
  const first = await startUp();
  const db = new Database(join(first.data, "telemetry.db"));
  db.run("PRAGMA busy_timeout = 30000");
  db.run("BEGIN EXCLUSIVE");
  let answered: Set<string>;
  try {
    answered = await sendPageViews(first.collectPort, 30);
    await until("sink-good to have the events", () => first.stage("sink-good").totals.in === 0 && first.status().hops.find((hop) => hop.name === "good")!.heldLines === 30, 60_000, first.logs);
    expect(await first.stop()).toBe(0);
  } finally {
    db.run("COMMIT");
    db.close();
  }
  expect((await storedInSqlite(join(first.data, "telemetry.db"))).good).toEqual([]);
  expect(readdirSync(join(first.data, "run", "pending")).some((name) => name.startsWith("good."))).toBe(true);

  const second = await startUp([], { data: first.data });
  await until("the kept events to be stored", async () => (await storedInSqlite(join(second.data, "telemetry.db"))).good.length === 30, 60_000, second.logs);
  expect(new Set((await storedInSqlite(join(second.data, "telemetry.db"))).good)).toEqual(answered);
  expect(second.stderr()).toMatch(/sending on \d+ lines? of good kept by the last stop/);
  await until("the pending files to be removed once acknowledged", () => readdirSync(join(second.data, "run", "pending")).length === 0, 60_000, second.logs);
  expect(await second.stop()).toBe(0);
}, 300_000);
