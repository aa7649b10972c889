import { describe, expect, test } from "bun:test";
import { logRecordsFromLine, sourceJson, type RecordContext } from "../../stages/logs-listen/log-record";

const source = { address: "192.0.2.7", port: 51234, transport: "tcp" as const };
const RECEIVED = "2026-01-02T03:04:05.006Z";
/** What a record made from a line fed alone (sequence 1, or n for the n-th element of an array) carries. */
const event = (sequence = 1) => ({ created: RECEIVED, sequence });

function recordsOf(line: string): string[] {
  let sequence = 0;
  const context: RecordContext = { sourceJson: sourceJson(source), receivedAt: () => RECEIVED, nextSequence: () => ++sequence };
  const out: string[] = [];
  logRecordsFromLine(line, context, (json) => out.push(json));
  return out;
}
const parsed = (line: string) => recordsOf(line).map((json) => JSON.parse(json));

describe("logRecordsFromLine", () => {
  test("a JSON object keeps its fields as sent and gains source", () => {
    const line = '{"@timestamp":"2026-05-01T10:00:00.123+02:00","@version":"1","message":"hi","level":"INFO","user":"ada"}';
    expect(parsed(line)).toEqual([{ ...JSON.parse(line), source, event: event() }]);
  });

  test("the client's text is kept verbatim: numbers beyond 2^53, key order and escapes", () => {
    const line = '{"z":1,"id":12345678901234567890,"a":"\\u00e9\\n","@timestamp":"2026-05-01T10:00:00Z"}';
    const [json] = recordsOf(line);
    expect(json!.startsWith(line.slice(0, -1) + ",")).toBe(true);
    expect(json).toContain("12345678901234567890");
  });

  test("@timestamp is added as the receipt time when missing, also to an empty object", () => {
    expect(parsed('{"message":"x"}')[0]!["@timestamp"]).toBe("2026-01-02T03:04:05.006Z");
    expect(parsed("{}")).toEqual([{ "@timestamp": RECEIVED, source, event: event() }]);
    expect(parsed('  {"a":1}  ')[0]).toMatchObject({ a: 1, source });
  });

  test("a numeric @timestamp (UNIX_TIMESTAMP_AS_NUMBER) is kept", () => {
    expect(parsed('{"@timestamp":1764300000123}')[0]!["@timestamp"]).toBe(1764300000123);
  });

  test("an @timestamp that is not a time is kept under _@timestamp and tagged, as Logstash does", () => {
    const [record] = parsed('{"@timestamp":"yesterday-ish","tags":["app"],"n":1}');
    expect(record).toEqual({
      "@timestamp": "2026-01-02T03:04:05.006Z",
      "_@timestamp": "yesterday-ish",
      tags: ["app", "_timestampparsefailure"],
      n: 1,
      source,
      event: event(),
    });
    expect(parsed('{"@timestamp":null}')[0]!.tags).toEqual(["_timestampparsefailure"]);
  });

  test("fields the client sent itself (source, event, exception) are not overwritten", () => {
    const [record] = parsed('{"source":"billing","event":{"kind":"audit"},"exception":{"class":"mine"},"stack_trace":"java.lang.Error: x\\n\\tat a.B.c(B.java:1)"}');
    expect(record!.source).toBe("billing");
    expect(record!.event).toEqual({ kind: "audit" });
    expect(record!.exception).toEqual({ class: "mine" });
  });

  test("a stack_trace gains an exception summary of its root cause", () => {
    const trace = "java.lang.RuntimeException: wrap\n\tat a.B.c(B.java:1)\nCaused by: java.io.IOException: disk\n\tat a.D.e(D.java:2)\n";
    const [record] = parsed(JSON.stringify({ message: "failed", stack_trace: trace }));
    expect(record!.exception).toEqual({ class: "java.io.IOException", message: "disk", top_frame: "a.D.e(D.java:2)" });
    expect(record!.stack_trace).toBe(trace);
  });

  test("a JSON array of objects is one record per element", () => {
    expect(parsed('[{"a":1},{"b":2}]')).toEqual([
      { a: 1, "@timestamp": RECEIVED, source, event: event(1) },
      { b: 2, "@timestamp": RECEIVED, source, event: event(2) },
    ]);
    expect(recordsOf("[]")).toEqual([]);
  });

  test("plain text, broken JSON and JSON that is not an event are kept raw and tagged _jsonparsefailure", () => {
    for (const line of ["GET /health 200", '{"a":', "42", '"just a string"', "null", '[{"a":1},2]']) {
      expect(parsed(line)).toEqual([
        { "@timestamp": RECEIVED, message: line, tags: ["_jsonparsefailure"], source, event: event() },
      ]);
    }
  });

  test("control characters and quotes in a raw line stay valid JSON", () => {
    const line = 'a "quoted" \u0000\u001b[31m red \\ back';
    expect(parsed(line)[0]!.message).toBe(line);
  });
});
