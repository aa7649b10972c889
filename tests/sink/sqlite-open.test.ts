/**
 * `make up` starts three sinks on one new SQLite file at the same moment; none may fail to open it
 * ("database is locked" was seen when the busy timeout was set after the journal-mode switch).
 */
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const telemetry = join(import.meta.dir, "../../bin/telemetry");

const ROUNDS = 15;

test("three sinks opening one new database at once all start, store and exit 0", async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const db = join(mkdtempSync(join(tmpdir(), "telemetry-sqlite-open-")), "t.db");
    const sinks = ["good", "bad", "logs"].map((index) =>
      Bun.spawn([telemetry, "sink", "--index", index, "--db", db, "--bad", "/dev/null"], {
        stdin: new Blob([JSON.stringify({ n: round, index }) + "\n"]),
        stdout: "ignore",
        stderr: "pipe",
      }),
    );
    const results = await Promise.all(
      sinks.map(async (sink) => ({ code: await sink.exited, stderr: await new Response(sink.stderr).text() })),
    );
    for (const result of results) {
      expect(result.stderr).not.toContain("locked");
      expect(result.code).toBe(0);
    }
  }
  // A round takes about a quarter of a second on a quiet machine and several seconds on a loaded one; the
  // budget is per round so that a busy machine makes the test slower, not red.
}, ROUNDS * 30_000);
