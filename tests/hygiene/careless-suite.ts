/**
 * Run only by leftovers.test.ts (its name does not end in .test.ts, so `bun test` does not pick it up):
 * tests that start processes and never stop them — one passes, one fails, one times out, one started
 * before any test — each a real `telemetry sink` given a line that becomes a bad row in its default
 * ./telemetry-bad.ndjson. The preloaded cleanup (tests/fixtures/cleanup.ts) must leave none running and
 * tests/fixtures/processes.ts none of those files in the repository. PIDS_FILE receives each child's pid.
 */
import { beforeAll, expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { resolve } from "node:path";
import { spawnChild } from "../fixtures/processes";

const telemetry = resolve(import.meta.dir, "../../bin/telemetry");

function startSink(): void {
  const child = spawnChild([telemetry, "sink", "--db", "store.db", "--stats-interval", "0"], { stdin: "pipe", stderr: "ignore" });
  child.stdin.write("not json\n");
  child.stdin.flush();
  appendFileSync(process.env.PIDS_FILE!, `${child.pid}\n`);
}

beforeAll(startSink);

test("passes, leaving its sink running", () => {
  startSink();
});

test("fails, leaving its sink running", () => {
  startSink();
  expect("this test").toBe("failing on purpose");
});

test("times out, leaving its sink running", async () => {
  startSink();
  await new Promise(() => {});
}, 2000);

test.if(process.env.HANG === "1")("hangs until the runner is stopped", async () => {
  startSink();
  await new Promise(() => {});
}, 600_000);
