/**
 * `telemetry up` on SQLite survives its faults with exact counts (issue #10): each test injects one fault
 * under a steady load from node trackers and logback, and prints what it counted.
 */
import { afterEach, describe, test } from "bun:test";
import { blockCollectOutput, killCollectWithQueue, killStage, lockSqlite, runFault, sqliteStore } from "./faults";
import { killUps } from "./harness";

afterEach(killUps, 120_000);

describe("telemetry up on SQLite, under load", () => {
  for (const fault of [killStage("enrich"), killStage("sink-good"), killCollectWithQueue, lockSqlite, blockCollectOutput]) {
    test(`${fault.name}: every event answered 200 stored once, every log line once`, () => runFault(fault, sqliteStore).then(() => {}), 400_000);
  }
});
