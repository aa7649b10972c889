/**
 * Oversized POST batches are split as the Snowplow collector splits them (reference/snowplow-pipeline.md §1.6):
 * the split function on its own, the collector around it (queue, archive, bad rows), and the real
 * `@snowplow/node-tracker` → `bin/telemetry collect` → `bin/telemetry enrich` pipe with a small limit.
 */
import { describe, expect, test } from "bun:test";
import { buildPageView, buildSelfDescribingEvent, newTracker } from "@snowplow/node-tracker";
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Collector } from "../../stages/collect/collector";
import { collectorConfig } from "../../stages/collect/config";
import { buildRawRecord } from "../../stages/collect/raw-record";
import { RecordQueue } from "../../stages/collect/record-queue";
import { splitOversizedRecord } from "../../stages/collect/split-batch";
import type { RawRecord } from "../../stages/shared/raw-record";
import { Resolver } from "../../stages/iglu/resolver";
import { BadRowList, type BadRow } from "../../stages/shared/bad-rows";
import { StageCounters } from "../../stages/shared/counters";
import { startCollector, telemetry, tempDir, validateRawRecord } from "./helpers";

const TP2 = "/com.snowplowanalytics.snowplow/tp2";
const PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4";
const NUID = "2bd8c4a5-4c0f-4a4b-9d0c-6c7f1d1e9b11";
const SIZE_VIOLATION = "iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0";

/**
 * Text whose JSON escaping costs more than its length, twice over once it sits in a body inside a record:
 * quotes, a backslash, a newline, a control character, two- and four-byte UTF-8.
 */
function awkwardText(units: number): string {
  return 'a "quoted" \\ back\nslash \u0001 café 🎉 '.repeat(units);
}

type TrackerEvent = Record<string, string>;

function trackerEvent(n: number, units: number): TrackerEvent {
  return {
    e: "ue",
    p: "srv",
    tv: "test-0",
    eid: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    ue_pr: JSON.stringify({
      schema: "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
      data: { schema: "iglu:com.acme/note/jsonschema/1-0-0", data: { text: awkwardText(units) } },
    }),
  };
}

function batchBody(events: unknown[], schema = PAYLOAD_DATA): string {
  return JSON.stringify({ schema, data: events });
}

function rawRecord(body: string | undefined, querystring = "", userAgent = 'Mozilla/5.0 "quoted" é'): RawRecord {
  return buildRawRecord({
    id: crypto.randomUUID(),
    timestamp: 1_700_000_000_000,
    ipAddress: "203.0.113.9",
    collectorName: "telemetry-collect-test",
    path: body === undefined ? "/i" : TP2,
    querystring,
    hostname: "collector.test",
    headers: new Headers({ "content-type": "application/json; charset=UTF-8", "user-agent": userAgent }),
    body,
    networkUserId: NUID,
    anonymous: false,
  });
}

function split(record: RawRecord, maxRecordBytes: number, maxSplitBytes = 1_048_576) {
  const line = JSON.stringify(record);
  const bytes = Buffer.byteLength(line);
  expect(bytes).toBeGreaterThan(maxRecordBytes);
  return { line, recordBytes: bytes, ...splitOversizedRecord(record, line, bytes, { maxRecordBytes, maxSplitBytes }, () => crypto.randomUUID()) };
}

/** The line of `record` carrying exactly `events` (with some fresh id), as a part would be written. */
function lineWith(record: RawRecord, events: unknown[]): string {
  return JSON.stringify({ ...record, id: crypto.randomUUID(), body: batchBody(events) });
}

function eventsIn(lines: string[]): unknown[] {
  return lines.flatMap((line) => JSON.parse(JSON.parse(line).body).data);
}

describe("splitOversizedRecord", () => {
  test("a batch over the limit becomes several complete raw records, each within it, the events in order", () => {
    const events = Array.from({ length: 12 }, (_, n) => trackerEvent(n, 3 + n));
    const record = rawRecord(batchBody(events));
    const max = Math.ceil(Buffer.byteLength(JSON.stringify(record)) / 3);
    const { lines, bytes, violations } = split(record, max);

    expect(violations).toEqual([]);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(eventsIn(lines)).toEqual(events);
    const ids = new Set<string>();
    lines.forEach((line, i) => {
      expect(Buffer.byteLength(line)).toBeLessThanOrEqual(max);
      expect(bytes[i]).toBe(Buffer.byteLength(line));
      const part = JSON.parse(line);
      expect(validateRawRecord(part)).toEqual([]);
      expect({ ...part, id: "", body: "" }).toEqual(JSON.parse(JSON.stringify({ ...record, id: "", body: "" })));
      expect(JSON.parse(part.body).schema).toBe(PAYLOAD_DATA);
      ids.add(part.id);
    });
    expect(ids.size).toBe(lines.length);
    expect(ids.has(record.id)).toBe(false);
    // Greedy packing: no part could have taken the next part's first event.
    const parts = lines.map((line) => JSON.parse(JSON.parse(line).body).data as unknown[]);
    for (let i = 0; i + 1 < parts.length; i++) {
      expect(Buffer.byteLength(lineWith(record, [...parts[i]!, parts[i + 1]![0]]))).toBeGreaterThan(max);
    }
  });

  test("the accounting is exact to the byte, escaping included: a limit of exactly a two-event line packs two", () => {
    const events = Array.from({ length: 4 }, (_, n) => trackerEvent(n, 20));
    const record = rawRecord(batchBody(events));
    const twoEventBytes = Buffer.byteLength(lineWith(record, events.slice(0, 2)));

    const exact = split(record, twoEventBytes);
    expect(exact.bytes).toEqual([twoEventBytes, twoEventBytes]);
    expect(exact.lines.map((line) => JSON.parse(JSON.parse(line).body).data.length)).toEqual([2, 2]);

    const oneLess = split(record, twoEventBytes - 1);
    expect(oneLess.lines).toHaveLength(4);
    expect(eventsIn(oneLess.lines)).toEqual(events);
  });

  test("an event too large alone is a size violation of its own; the others still go through, in order", () => {
    const small = [trackerEvent(1, 2), trackerEvent(2, 3)];
    const huge = trackerEvent(3, 200);
    const after = [trackerEvent(4, 2), trackerEvent(5, 1)];
    const record = rawRecord(batchBody([...small, huge, ...after]));
    const max = Buffer.byteLength(lineWith(record, [huge])) - 1;
    const { lines, violations } = split(record, max);

    expect(eventsIn(lines)).toEqual([...small, ...after]);
    for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(max);
    expect(violations).toHaveLength(1);
    expect(violations[0]!.actualSizeBytes).toBe(max + 1);
    expect(violations[0]!.text).toBe(JSON.stringify(huge));
    expect(violations[0]!.expectation).toContain("event 3 of 5");
  });

  test("what cannot be split is one violation carrying the whole record, saying why", () => {
    const events = [trackerEvent(1, 30), trackerEvent(2, 30)];
    const max = 2000;
    const cases: { name: string; record: RawRecord; reason: string; maxSplitBytes?: number }[] = [
      { name: "GET", record: rawRecord(undefined, "e=pv&url=" + "x".repeat(3000)), reason: "without a body" },
      { name: "not JSON", record: rawRecord("e=pv&" + "x".repeat(3000)), reason: "not JSON" },
      {
        name: "a self-describing batch that is not payload_data",
        record: rawRecord(batchBody(events, "iglu:com.acme/batch/jsonschema/1-0-0")),
        reason: "not a payload_data",
      },
      { name: "a JSON array", record: rawRecord(JSON.stringify(events)), reason: "not a payload_data" },
      {
        name: "payload_data whose data is not an array",
        record: rawRecord(JSON.stringify({ schema: PAYLOAD_DATA, data: events[0] })),
        reason: "not a payload_data",
      },
      {
        name: "payload_data without events",
        record: rawRecord(JSON.stringify({ schema: PAYLOAD_DATA, data: [], note: "x".repeat(3000) })),
        reason: "no events",
      },
      { name: "metadata alone over the limit", record: rawRecord(batchBody(events), "", "agent ".repeat(400)), reason: "without its events" },
      { name: "over the split limit", record: rawRecord(batchBody(events)), reason: "not split", maxSplitBytes: 2500 },
    ];
    for (const { name, record, reason, maxSplitBytes } of cases) {
      const { line, recordBytes, lines, violations } = split(record, max, maxSplitBytes);
      expect([name, lines]).toEqual([name, []]);
      expect([name, violations.length]).toEqual([name, 1]);
      expect(violations[0]!.actualSizeBytes).toBe(recordBytes);
      expect(violations[0]!.text).toBe(line);
      expect(violations[0]!.expectation).toStartWith("oversized collector payload: the raw record is");
      expect([name, violations[0]!.expectation]).toEqual([name, expect.stringContaining(reason)]);
    }
  });
});

function setup(maxRecordBytes: number, queueRecords = 1000) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let gated = false;
  const written: string[] = [];
  const archived: string[] = [];
  const queue = new RecordQueue(
    {
      writeLine: async (line) => {
        if (gated) await gate;
        written.push(line);
      },
    },
    { records: queueRecords },
  );
  const bad = new BadRowList();
  const counters = new StageCounters();
  const collector = new Collector(collectorConfig({ maxRecordBytes }), {
    output: queue,
    bad,
    archive: { append: async (lines) => void archived.push(...lines) },
    counters,
    processor: { artifact: "telemetry-collect", version: "0.0.0-test" },
  });
  const send = async (path: string, init: RequestInit = {}) => {
    const response = await collector.handle(new Request("http://collector.test:8000" + path, init), "198.51.100.7");
    if (!gated) await queue.drain();
    return response;
  };
  const post = (body: string) => send(TP2, { method: "POST", body, headers: { "Content-Type": "application/json" } });
  const hold = () => (gated = true);
  return { send, post, written, archived, bad, counters, queue, hold, release };
}

let resolver: Resolver | undefined;

async function expectValidSizeViolation(row: BadRow): Promise<void> {
  resolver ??= await Resolver.load();
  expect(row.schema).toBe(SIZE_VIOLATION);
  expect(await resolver.validate(row.schema, row.data)).toMatchObject({ ok: true });
}

describe("the collector with a sink limit", () => {
  test("a POST batch over the limit is answered 200 and written as several records; the archive holds the same lines", async () => {
    const { post, written, archived, bad, counters } = setup(3000);
    const events = Array.from({ length: 10 }, (_, n) => trackerEvent(n, 8));
    const response = await post(batchBody(events));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
    expect(written.length).toBeGreaterThan(1);
    for (const line of written) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(3000);
    expect(eventsIn(written)).toEqual(events);
    expect(archived).toEqual(written);
    expect(counters.in).toBe(written.length);
    expect(bad.rows).toEqual([]);
  });

  test("an event too large alone is a valid size_violation bad row; the rest are written", async () => {
    const { post, written, bad, counters } = setup(3000);
    const events = [trackerEvent(1, 5), trackerEvent(2, 120), trackerEvent(3, 5)];
    expect((await post(batchBody(events))).status).toBe(200);
    expect(eventsIn(written)).toEqual([events[0], events[2]]);
    expect(bad.rows).toHaveLength(1);
    const row = bad.rows[0]!;
    await expectValidSizeViolation(row);
    expect(row.data.failure.maximumAllowedSizeBytes).toBe(3000);
    expect(row.data.failure.actualSizeBytes as number).toBeGreaterThan(3000);
    expect(row.data.payload).toBe(JSON.stringify(events[1]).slice(0, 300));
    expect(counters.bad).toBe(1);
  });

  test("a GET, a non-JSON body and a JSON body that is not payload_data each stay one valid size_violation", async () => {
    const { send, post, written, archived, bad, counters } = setup(3000);
    const events = Array.from({ length: 10 }, (_, n) => trackerEvent(n, 8));
    const statuses = [
      (await send("/i?e=pv&url=" + "x".repeat(4000))).status,
      (await post("not json " + "x".repeat(4000))).status,
      (await post(batchBody(events, "iglu:com.acme/batch/jsonschema/1-0-0"))).status,
    ];
    expect(statuses).toEqual([200, 200, 200]);
    expect(written).toEqual([]);
    expect(archived).toEqual([]);
    expect(bad.rows).toHaveLength(3);
    for (const row of bad.rows) {
      await expectValidSizeViolation(row);
      expect(row.data.payload).toStartWith('{"schema":"iglu:com.snowplowanalytics.snowplow/CollectorPayload');
    }
    expect(counters.bad).toBe(3);
  });

  test("a split request is queued whole or refused whole: 503 and no bad row when its parts do not fit", async () => {
    const { send, post, written, bad, counters, hold, release, queue } = setup(3000, 2);
    hold();
    expect((await send("/i?e=pv")).status).toBe(200);
    const events = [trackerEvent(1, 8), trackerEvent(2, 120), ...Array.from({ length: 8 }, (_, n) => trackerEvent(3 + n, 8))];
    expect((await post(batchBody(events))).status).toBe(503);
    expect(bad.rows).toEqual([]);
    release();
    await queue.drain();
    expect(written.map((line) => JSON.parse(line).querystring)).toEqual(["e=pv"]);
    expect(counters.in).toBe(1);
  });
});

describe("@snowplow/node-tracker → bin/telemetry collect (small limit) | bin/telemetry enrich", () => {
  const LIMIT = 6000;

  test("a batch of large self-describing events is split and every event comes out enriched", async () => {
    const dir = tempDir();
    const registry = join(dir, "registry");
    mkdirSync(join(registry, "com.acme/note/jsonschema"), { recursive: true });
    writeFileSync(
      join(registry, "com.acme/note/jsonschema/1-0-0"),
      JSON.stringify({
        $schema: "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
        self: { vendor: "com.acme", name: "note", format: "jsonschema", version: "1-0-0" },
        type: "object",
        properties: { text: { type: "string" }, n: { type: "integer" } },
        required: ["text", "n"],
        additionalProperties: false,
      }),
    );
    // collect's stdout → FIFO → enrich's stdin. The writing end is opened read-write so neither open blocks;
    // the test closes its copies, so enrich sees end of input when collect exits.
    const fifo = join(dir, "raw.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const writer = openSync(fifo, constants.O_RDWR);
    const reader = openSync(fifo, constants.O_RDONLY);
    const collectBad = join(dir, "collect-bad.ndjson");
    const enrichBad = join(dir, "enrich-bad.ndjson");
    const archive = join(dir, "archive");
    const enrich = Bun.spawn(
      [telemetry, "enrich", "--iglu", registry, "--bad", enrichBad, "--stats-interval", "0"],
      { stdin: reader, stdout: "pipe", stderr: "pipe" },
    );
    const collector = await startCollector(["--max-record-bytes", String(LIMIT), "--bad", collectBad, "--archive", archive], { stdout: writer }).catch(
      (error) => {
        enrich.kill();
        throw error;
      },
    );
    closeSync(writer);
    closeSync(reader);
    try {
      const sent: string[] = [];
      const statuses: number[] = [];
      let batchBytes = 0;
      const tracker = newTracker(
        { namespace: "split", appId: "split-test", encodeBase64: false },
        {
          endpoint: "127.0.0.1",
          port: collector.port,
          protocol: "http",
          eventMethod: "post",
          bufferSize: 9,
          onRequestSuccess: (batch, response) => {
            statuses.push(response.status);
            for (const payload of batch) sent.push(String(payload.eid));
            batchBytes += Buffer.byteLength(JSON.stringify(batch));
          },
          onRequestFailure: (failure) => statuses.push(failure.status ?? -1),
        },
      );
      tracker.track(buildPageView({ pageUrl: "https://shop.example.com/", pageTitle: "Home" }));
      for (let n = 0; n < 8; n++) {
        tracker.track(buildSelfDescribingEvent({ event: { schema: "iglu:com.acme/note/jsonschema/1-0-0", data: { text: awkwardText(10 + n * 4), n } } }));
      }
      for (let waited = 0; statuses.length === 0 && waited < 10_000; waited += 20) await Bun.sleep(20);
      expect(statuses).toEqual([200]);
      expect(sent).toHaveLength(9);
      // Unsplit, the request could not have been written at all.
      expect(batchBytes).toBeGreaterThan(LIMIT);

      // The tracker's one request arrived as several raw records; stopping collect ends enrich's input.
      expect(await collector.stop()).toBe(0);
      const [output, enrichCode] = await Promise.all([new Response(enrich.stdout).text(), enrich.exited]);
      expect(enrichCode).toBe(0);
      const enriched = output.trim().split("\n").map((line) => JSON.parse(line));
      expect(enriched.map((event) => event.event_id)).toEqual(sent);
      expect(enriched.filter((event) => event.event === "unstruct").map((event) => event.unstruct_event_com_acme_note_1.n)).toEqual(
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
      expect(new Set(enriched.map((event) => event.collector_tstamp)).size).toBe(1);
      expect(existsSync(collectBad)).toBe(false);
      expect(existsSync(enrichBad)).toBe(false);
      // What went down the pipe is what was archived: several records, each within the limit.
      const archived = readdirSync(archive).flatMap((name) => readFileSync(join(archive, name), "utf8").trimEnd().split("\n"));
      expect(archived.length).toBeGreaterThan(1);
      for (const line of archived) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(LIMIT);
      expect(eventsIn(archived).map((event) => (event as TrackerEvent).eid)).toEqual(sent);
    } finally {
      await collector.stop();
      if (enrich.exitCode === null) enrich.kill();
      await enrich.exited;
    }
  });
});
