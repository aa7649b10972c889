/**
 * The two stores behind the collector: the bounded output queue and the --archive segments.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RawArchive } from "../../stages/collect/archive";
import { parseQueueCapacity, RecordQueue } from "../../stages/collect/record-queue";
import { tempDir } from "./helpers";

const SEGMENT = /^raw-\d{8}T\d{6}Z-\d{6}\.ndjson$/;

describe("RecordQueue", () => {
  test("capacity is a record count, or bytes with a unit", () => {
    expect(parseQueueCapacity("10000")).toEqual({ records: 10000 });
    expect(parseQueueCapacity("32MiB")).toEqual({ bytes: 32 * 1024 * 1024 });
    expect(parseQueueCapacity("500KB")).toEqual({ bytes: 500_000 });
    expect(parseQueueCapacity("0")).toBeUndefined();
    expect(parseQueueCapacity("lots")).toBeUndefined();
  });

  test("a byte capacity refuses what does not fit, but never a record arriving at an empty queue", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const written: string[] = [];
    const queue = new RecordQueue({ writeLine: async (line) => void (await gate, written.push(line)) }, { bytes: 10 });
    const offer = (line: string) => {
      const room = queue.reserve([line.length]);
      room?.commit([line]);
      return room !== undefined;
    };
    expect(offer("a".repeat(50))).toBe(true);
    expect(offer("b")).toBe(false);
    expect(queue.isHealthy).toBe(false);
    release();
    await queue.drain();
    expect(queue.isHealthy).toBe(true);
    expect(offer("c".repeat(6))).toBe(true);
    expect(offer("d".repeat(6))).toBe(false);
    await queue.drain();
    expect(written).toEqual(["a".repeat(50), "c".repeat(6)]);
  });

  test("reserved room counts against the capacity before its records are committed, and a cancel gives it back", async () => {
    const written: string[] = [];
    const queue = new RecordQueue({ writeLine: async (line) => void written.push(line) }, { records: 3 });
    const first = queue.reserve([1, 1])!;
    const second = queue.reserve([1])!;
    expect(queue.reserve([1])).toBeUndefined();
    expect(written).toEqual([]);
    first.cancel();
    first.commit(["ignored once cancelled"]);
    second.commit(["kept"]);
    await queue.drain();
    expect(written).toEqual(["kept"]);
    expect(queue.isHealthy).toBe(true);
    expect(queue.reserve([1, 1, 1])).toBeDefined();
  });
});

describe("RawArchive", () => {
  test("concurrent appends resolve once on disk; segments rotate by size and are renamed when finished", async () => {
    const dir = tempDir();
    const archive = await RawArchive.open(dir, { segmentBytes: 100, segmentSeconds: 3600 });
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ n: i, pad: "x".repeat(20) }));
    // Two waves of concurrent appends: each wave is one group commit, and the second starts a new segment.
    await Promise.all(lines.slice(0, 20).map((line) => archive.append([line])));
    await Promise.all(lines.slice(20).map((line) => archive.append([line])));
    const whileOpen = readdirSync(dir).sort();
    expect(whileOpen.filter((name) => name.endsWith(".ndjson.open"))).toHaveLength(1);
    await archive.close();
    const names = readdirSync(dir).sort();
    expect(names.length).toBeGreaterThan(1);
    for (const name of names) expect(name).toMatch(SEGMENT);
    const content = names.map((name) => readFileSync(join(dir, name), "utf8")).join("");
    expect(content).toBe(lines.map((line) => line + "\n").join(""));
  });

  test("a segment is rotated by age even when no record arrives", async () => {
    const dir = tempDir();
    let now = new Date("2026-01-02T03:04:05Z");
    const archive = await RawArchive.open(dir, { segmentBytes: 1 << 20, segmentSeconds: 60, now: () => now });
    await archive.append(['{"a":1}']);
    now = new Date("2026-01-02T03:05:06Z");
    await archive.append(['{"a":2}']);
    await archive.close();
    expect(readdirSync(dir).sort()).toEqual(["raw-20260102T030405Z-000000.ndjson", "raw-20260102T030506Z-000001.ndjson"]);
  });

  test("on open, a segment a crash left open is finished without its unacknowledged partial line", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "raw-20260101T000000Z-000007.ndjson.open"), '{"a":1}\n{"a":2}\n{"a":');
    writeFileSync(join(dir, "raw-20260101T000001Z-000008.ndjson.open"), '{"partial');
    const archive = await RawArchive.open(dir, { segmentBytes: 1 << 20, segmentSeconds: 3600 });
    await archive.append(['{"b":1}']);
    await archive.close();
    const names = readdirSync(dir).sort();
    expect(names[0]).toBe("raw-20260101T000000Z-000007.ndjson");
    expect(readFileSync(join(dir, names[0]!), "utf8")).toBe('{"a":1}\n{"a":2}\n');
    expect(names).toHaveLength(2);
    expect(names[1]).toMatch(/-000009\.ndjson$/);
  });

  test("the oldest finished segments are removed while the archive is over maxBytes, and those past maxAgeSeconds", async () => {
    const dir = tempDir();
    let now = new Date();
    const line = JSON.stringify({ pad: "x".repeat(90) }); // 101 bytes with its newline
    const archive = await RawArchive.open(dir, { segmentBytes: 1, segmentSeconds: 3600, maxBytes: 350, now: () => now });
    for (let i = 0; i < 6; i++) await archive.append([line]);
    await archive.close();
    // Each append finished the segment before it; at most 350 bytes (three segments) are kept, the newest.
    expect(archive.removed).toEqual([0, 1, 2].map((n) => expect.stringMatching(new RegExp(`-00000${n}\\.ndjson$`))));
    expect(readdirSync(dir).sort().map((name) => name.slice(-13))).toEqual(["000003.ndjson", "000004.ndjson", "000005.ndjson"]);

    // Age: by when a segment was last written. Eight days on, all three are past a 7-day limit; six days on, none.
    now = new Date(Date.now() + 6 * 86_400_000);
    const sixDaysOn = await RawArchive.open(dir, { segmentBytes: 1 << 20, segmentSeconds: 3600, maxAgeSeconds: 7 * 86_400, now: () => now });
    expect(sixDaysOn.removed).toEqual([]);
    await sixDaysOn.close();
    now = new Date(Date.now() + 8 * 86_400_000);
    const eightDaysOn = await RawArchive.open(dir, { segmentBytes: 1 << 20, segmentSeconds: 3600, maxAgeSeconds: 7 * 86_400, now: () => now });
    expect(eightDaysOn.removed).toHaveLength(3);
    await eightDaysOn.close();
    expect(readdirSync(dir)).toEqual([]);
  });
});
