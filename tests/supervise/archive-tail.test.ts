/** What a dead collector owed: the archived records after the last one the supervisor received. */
import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { archivedAfter, archiveSegments } from "../../stages/supervise/archive-tail";

const record = (id: string) => JSON.stringify({ schema: "iglu:dev.telemetry/raw_record/jsonschema/1-0-0", id, body: `{"id":"${id}-not-this"}` });

test("the records after the last one received, across segments, whole lines only; older segments are left alone", async () => {
  const dir = mkdtempSync(join(tmpdir(), "archive-tail-"));
  writeFileSync(join(dir, "raw-20260101T000000Z-000001.ndjson"), record("old") + "\n");
  const before = await archiveSegments(dir);
  writeFileSync(join(dir, "raw-20260101T000100Z-000002.ndjson"), [record("a"), record("b"), record("c")].join("\n") + "\n");
  writeFileSync(join(dir, "raw-20260101T000200Z-000003.ndjson.open"), [record("d"), record("e")].join("\n") + '\n{"schema":"iglu:dev.tel');
  const ids = async (lastId: string | undefined) => (await archivedAfter(dir, lastId, before)).map((line) => JSON.parse(line).id);
  expect(await ids("b")).toEqual(["c", "d", "e"]);
  expect(await ids("e")).toEqual([]);
  expect(await ids(undefined)).toEqual(["a", "b", "c", "d", "e"]);
  // An id the archive no longer has (its segment removed): everything since the start, to be safe.
  expect(await ids("gone")).toEqual(["a", "b", "c", "d", "e"]);
  // "b-not-this" in a body is not the record b.
  expect(await ids("b-not-this")).toEqual(["a", "b", "c", "d", "e"]);
});
