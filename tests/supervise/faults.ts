/**
 * The fault scenarios of issue #10, shared by the SQLite and the Elasticsearch suites: `telemetry up` under
 * a steady load from node trackers and logback, one fault injected once a third of the events have been
 * sent, then exact counts: every event answered 200 stored once, none lost, none doubled, no bad row,
 * every log line stored once.
 */
import { expect } from "bun:test";
import { Database } from "bun:sqlite";
import { countsLine, startLogLoad, startUp, storedInElasticsearch, storedInSqlite, TrackerLoad, until, type Stored, type Up } from "./harness";

export interface Fault {
  /** What is done to the running pipeline, as the report says it. */
  name: string;
  /** Extra `telemetry up` flags the fault needs. */
  upArgs?: string[];
  /** Called once a third of the events are answered; resolves when the fault is over. */
  inject(up: Up, store: StoreUnderTest): Promise<void>;
}

export interface StoreUnderTest {
  kind: "sqlite" | "elasticsearch";
  upArgs(up: { data: string }): string[];
  stored(up: Up): Promise<Stored>;
}

export const sqliteStore: StoreUnderTest = {
  kind: "sqlite",
  upArgs: () => [],
  stored: (up) => storedInSqlite(`${up.data}/telemetry.db`),
};

export function elasticsearchStore(url: string): StoreUnderTest {
  return { kind: "elasticsearch", upArgs: () => ["--es", url], stored: () => storedInElasticsearch(url) };
}

const EVENTS = 2400;
const EVENTS_PER_SECOND = 400;
const LOGS = 600;
const LOGS_PER_SECOND = 100;

export async function runFault(fault: Fault, store: StoreUnderTest): Promise<string> {
  const up = await startUp([...store.upArgs({ data: "" }), ...(fault.upArgs ?? [])]);
  const run = Math.random().toString(36).slice(2, 8);
  const load = new TrackerLoad(up.collectPort, { method: "get" });
  const logs = startLogLoad(up.logsPort, run, LOGS, LOGS_PER_SECOND);
  let injected: Promise<void> | undefined;
  // Injected once a third of the events are sent and the collector has answered some: mid-load.
  const inject = () => {
    if (injected === undefined && load.sent >= EVENTS / 3 && load.answered.size > 0) injected = fault.inject(up, store);
  };
  await load.send(EVENTS, EVENTS_PER_SECOND, inject);
  await until("the collector's first answers", () => (inject(), injected !== undefined), 120_000, up.logs);
  await injected;
  await load.drain();
  expect(await logs.done).toBe(0);
  await until(
    "the store to hold every answered event and every log line",
    async () => {
      const stored = await store.stored(up);
      return stored.good.length >= load.answered.size && stored.logs.length >= LOGS;
    },
    180_000,
    up.logs,
  );
  expect(await up.stop()).toBe(0);
  const stored = await store.stored(up);
  const report = countsLine(`${fault.name} (${store.kind})`, load, stored, LOGS);
  // What the supervisor said about the fault (restarts, lines sent again) belongs in the report too.
  const said = up.stderr().split("\n").filter((line) => /exited|dropped|archived|not finished|kept/.test(line));
  console.log([report, ...said.map((line) => `  ${line}`)].join("\n"));
  expect(load.answered.size).toBe(EVENTS);
  expect([...new Set(stored.good)].sort()).toEqual([...load.answered].sort());
  expect(stored.good).toHaveLength(load.answered.size);
  expect(stored.bad).toBe(0);
  expect(stored.logs.sort()).toEqual(Array.from({ length: LOGS }, (_, i) => `log ${run} ${i}`).sort());
  return report;
}

/** The pid of a stage as the supervisor's status file has it, once it is running. */
async function pidOf(up: Up, stage: string): Promise<number> {
  await until(`${stage} to run`, () => up.stage(stage).state === "running" && up.stage(stage).pid !== null, 60_000, up.logs);
  return up.stage(stage).pid!;
}

/**
 * collect killed while its queue holds records it has archived and answered 200 but not written out: enrich
 * is stopped (SIGSTOP) first so the queue fills, then collect is killed. Those records must come from its archive.
 */
export const killCollectWithQueue: Fault = {
  name: "collect killed with SIGKILL while its queue holds answered records",
  upArgs: ["--hold-bytes", "64KiB"],
  async inject(up) {
    const enrich = await pidOf(up, "enrich");
    const collect = await pidOf(up, "collect");
    process.kill(enrich, "SIGSTOP");
    try {
      // Its stdout is blocked once the hop stops reading it; what it answers 200 after that waits in its queue.
      const raw = () => up.status().hops.find((hop) => hop.name === "raw")!;
      await until("the raw hop to fill", () => raw().heldBytes >= 64 * 1024, 120_000, up.logs);
      // The hop has stopped taking collect's output once its count holds still for a second; lines that were
      // already on their way when it filled may still arrive first, so each poll compares with the last one.
      let arrived = raw().arrived;
      await until("collect to answer records it cannot write out", async () => {
        await Bun.sleep(1000);
        const before = arrived;
        arrived = raw().arrived;
        return arrived === before;
      });
      process.kill(collect, "SIGKILL");
      await until("collect to be started again", () => up.stage("collect").restarts > 0 && up.stage("collect").state === "running", 60_000, up.logs);
    } finally {
      process.kill(enrich, "SIGCONT");
    }
    expect(up.stderr()).toMatch(/collect had archived \d+ records? it had not written out/);
  },
};

export function killStage(stage: string): Fault {
  return {
    name: `${stage} killed with SIGKILL mid-load`,
    async inject(up) {
      const before = up.stage(stage).restarts;
      process.kill(await pidOf(up, stage), "SIGKILL");
      await until(`${stage} to be started again`, () => up.stage(stage).restarts > before && up.stage(stage).state === "running", 60_000, up.logs);
      expect(up.stderr()).toContain(`${stage} exited (killed by SIGKILL)`);
    },
  };
}

export function stopElasticsearch(node: { stop(): Promise<void>; startAgain(): Promise<void> }): Fault {
  return {
    name: "Elasticsearch stopped for 30 s and started again",
    async inject() {
      await node.stop();
      await Bun.sleep(30_000);
      await node.startAgain();
    },
  };
}

export const lockSqlite: Fault = {
  name: "the SQLite file held locked (BEGIN EXCLUSIVE) for 10 s",
  async inject(up) {
    const db = new Database(`${up.data}/telemetry.db`);
    db.run("PRAGMA busy_timeout = 30000");
    db.run("BEGIN EXCLUSIVE");
    const before = (await storedInSqlite(`${up.data}/telemetry.db`)).good.length;
    await Bun.sleep(10_000);
    // Readers still work in WAL mode: nothing was stored while the lock was held.
    expect((await storedInSqlite(`${up.data}/telemetry.db`)).good.length).toBe(before);
    db.run("COMMIT");
    db.close();
  },
};

/** enrich stopped (SIGSTOP): the raw hop fills, then collect's stdout blocks, then its queue fills and trackers get 503. */
export const blockCollectOutput: Fault = {
  name: "collect's stdout blocked (enrich stopped with SIGSTOP) until its queue is full",
  upArgs: ["--hold-bytes", "64KiB", "--collect-queue-size", "100"],
  async inject(up) {
    const enrich = await pidOf(up, "enrich");
    process.kill(enrich, "SIGSTOP");
    try {
      await until(
        "collect's queue to be full (/sink-health 503)",
        async () => (await fetch(`http://127.0.0.1:${up.collectPort}/sink-health`)).status === 503,
        120_000,
        up.logs,
      );
    } finally {
      process.kill(enrich, "SIGCONT");
    }
  },
};
