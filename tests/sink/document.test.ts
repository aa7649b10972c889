import { describe, expect, test } from "bun:test";
import { bulkBody, readBulkResponse } from "../../stages/sink/bulk-request";
import { IndexPattern, routeByKind, toDocument, type SinkDocument } from "../../stages/sink/document";
import { makeBadRow } from "../../stages/shared/bad-rows";
import type { InputRecord } from "../../stages/shared/ndjson";
import { RAW_RECORD_SCHEMA } from "../../stages/shared/raw-record";

function input(value: unknown, text = JSON.stringify(value)): InputRecord {
  return { value, line: 1, text };
}

function documentFor(value: unknown, text?: string): SinkDocument {
  const document = toDocument(input(value, text), routeByKind());
  if ("problem" in document) throw new Error(document.problem);
  return document;
}

const processor = { artifact: "telemetry-test", version: "0" };

describe("document ids and routing", () => {
  test("an enriched event is stored under its event_id in good", () => {
    const document = documentFor({ event_id: "e-1", collector_tstamp: "2025-11-27T10:00:00.000Z", app_id: "a" });
    expect(document).toMatchObject({ id: "e-1", index: "good", family: "good", kind: "enriched" });
    expect(document.time?.toISOString()).toBe("2025-11-27T10:00:00.000Z");
  });

  test("a raw record is stored under its id in raw, dated by its timestamp", () => {
    const document = documentFor({ schema: RAW_RECORD_SCHEMA, id: "r-1", timestamp: 1764237600000 });
    expect(document).toMatchObject({ id: "r-1", index: "raw", kind: "raw" });
    expect(document.time?.getTime()).toBe(1764237600000);
  });

  test("a log goes to the daily logs index of its @timestamp, under a content hash", () => {
    const log = { "@timestamp": "2025-11-27T23:59:59.999Z", message: "hello", level: "INFO" };
    const document = documentFor(log);
    expect(document.index).toBe("logs-2025.11.27");
    expect(document.id).toBe(documentFor({ ...log }, JSON.stringify(log, null, 2).replace(/\n/g, "")).id);
    expect(document.id).not.toBe(documentFor({ ...log, message: "hello!" }).id);
  });

  test("a bad row's id ignores when it failed, so the same failure replayed later is the same document", () => {
    const failAt = (timestamp: string) =>
      makeBadRow("generic_error", processor, { timestamp, errors: ["boom"] }, "x");
    const first = documentFor(failAt("2025-11-27T10:00:00.000Z"));
    const later = documentFor(failAt("2025-11-28T10:00:00.000Z"));
    expect(first.index).toBe("bad");
    expect(first.id).toBe(later.id);
    expect(first.time?.toISOString()).toBe("2025-11-27T10:00:00.000Z");
    const other = documentFor(makeBadRow("generic_error", processor, { timestamp: "2025-11-27T10:00:00.000Z", errors: ["other"] }, "x"));
    expect(other.id).not.toBe(first.id);
  });

  test("an enriched event with coordinates gains a geo_location geo point; others are stored as they came", () => {
    const event = { event_id: "e-2", collector_tstamp: "2025-11-27T10:00:00Z", geo_latitude: 51.5, geo_longitude: -0.12 };
    expect(JSON.parse(documentFor(event).source).geo_location).toBe("51.5,-0.12");
    const text = '{"event_id":"e-3", "collector_tstamp":"2025-11-27T10:00:00Z"}';
    expect(documentFor(JSON.parse(text), text).source).toBe(text);
  });

  test("a JSON value that is not an object is a problem, not a document", () => {
    expect(toDocument(input([1, 2]), routeByKind())).toEqual({ problem: "line 1: a stored record must be a JSON object" });
  });
});

describe("IndexPattern", () => {
  test("fills %Y %m %d %H from the time in UTC and keeps %% as a percent sign", () => {
    const pattern = new IndexPattern("logs-%Y.%m.%d-%H-100%%");
    expect(pattern.nameFor(new Date("2025-01-02T03:04:05Z"))).toBe("logs-2025.01.02-03-100%");
    expect(pattern.wildcard).toBe("logs-*-100%");
  });

  test("names the family without its date, which is also the SQLite table", () => {
    expect(new IndexPattern("logs-%Y.%m.%d").family).toBe("logs");
    expect(new IndexPattern("good").family).toBe("good");
    expect(new IndexPattern("good").nameFor(null)).toBe("good");
  });

  test("refuses a placeholder it would not fill", () => {
    expect(() => new IndexPattern("logs-%y")).toThrow(/only %Y %m %d %H/);
  });
});

describe("bulk request", () => {
  test("one index action with the id per document, then the source line as it came", () => {
    const body = bulkBody([
      { id: 'a"1', index: "good", source: '{"x":1}' },
      { id: "b", index: "logs-2025.11.27", source: '{"y":"z"}' },
    ]);
    const lines = body.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe("");
    expect(JSON.parse(lines[0]!)).toEqual({ index: { _index: "good", _id: 'a"1' } });
    expect(lines[1]).toBe('{"x":1}');
    expect(JSON.parse(lines[2]!)).toEqual({ index: { _index: "logs-2025.11.27", _id: "b" } });
  });

  test("answers are matched to documents in order", () => {
    const outcome = readBulkResponse(
      {
        errors: true,
        items: [
          { index: { status: 201 } },
          { index: { status: 400, error: { type: "document_parsing_exception", reason: "bad" } } },
          { index: { status: 429, error: { type: "es_rejected_execution_exception", reason: "busy" } } },
        ],
      },
      3,
    );
    expect(outcome.kind).toBe("items");
    if (outcome.kind !== "items") return;
    expect(outcome.items.map((item) => item.kind)).toEqual(["done", "reject", "retry"]);
  });

  test("an answer that does not list every document is retried whole", () => {
    expect(readBulkResponse({ errors: false, items: [{ index: { status: 201 } }] }, 2).kind).toBe("retry");
    expect(readBulkResponse({ errors: false }, 1).kind).toBe("retry");
  });
});
