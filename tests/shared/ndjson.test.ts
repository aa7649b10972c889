import { describe, expect, test } from "bun:test";
import { readRecords, lineProblemBadRow, type LineProblem } from "../../stages/shared/ndjson";
import { badRowType } from "../../stages/shared/bad-rows";
import { validateBadRow } from "../fixtures/bad-row-schema";

const processor = { artifact: "telemetry-test", version: "0.0.0" };

async function* chunksOf(text: string) {
  yield new TextEncoder().encode(text);
}

describe("readRecords", () => {
  test("parses each JSON line and reports the others with their line numbers", async () => {
    const problems: LineProblem[] = [];
    const values: unknown[] = [];
    for await (const record of readRecords(chunksOf('{"a":1}\n{nope\n[2]\n'), {
      maxLineBytes: 100,
      onProblem: (p) => void problems.push(p),
    })) {
      values.push(record.value);
    }
    expect(values).toEqual([{ a: 1 }, [2]]);
    expect(problems.map((p) => [p.kind, p.number])).toEqual([["invalid_json", 2]]);
  });

  test("onRecord is told about each record before the consumer sees it, and not about bad lines", async () => {
    let told = 0;
    const seenAt: number[] = [];
    for await (const _record of readRecords(chunksOf('{"a":1}\n{nope\n[2]\n'), {
      maxLineBytes: 100,
      onProblem: () => {},
      onRecord: () => void told++,
    })) {
      seenAt.push(told);
    }
    expect(seenAt).toEqual([1, 2]);
  });
});

describe("lineProblemBadRow", () => {
  test("an over-long line becomes a size_violation with both sizes, its head as the payload string", async () => {
    const row = lineProblemBadRow({ kind: "oversized", number: 3, bytes: 500, head: '{"big":"xx' }, processor, 100);
    expect(badRowType(row)).toBe("size_violation");
    expect(row.data.failure).toMatchObject({ maximumAllowedSizeBytes: 100, actualSizeBytes: 500 });
    expect(String(row.data.failure.expectation)).toContain("stdin:3");
    expect(row.data.payload).toBe('{"big":"xx');
    expect(await validateBadRow(row)).toMatchObject({ ok: true });
  });

  test("invalid JSON becomes a generic_error whose payload is the original line as a string", async () => {
    const row = lineProblemBadRow({ kind: "invalid_json", number: 7, text: "{x", error: "boom" }, processor, 100);
    expect(badRowType(row)).toBe("generic_error");
    expect(row.data.payload).toBe("{x");
    expect((row.data.failure.errors as string[])[0]).toContain("stdin:7");
    expect(await validateBadRow(row)).toMatchObject({ ok: true });
  });

  test("invalid UTF-8 becomes a generic_error whose payload is the line's base64", async () => {
    const base64 = Buffer.from([0xff, 0xfe, 0x41]).toString("base64");
    const row = lineProblemBadRow({ kind: "invalid_utf8", number: 2, base64 }, processor, 100);
    expect(badRowType(row)).toBe("generic_error");
    expect(row.data.payload).toBe(base64);
    expect(await validateBadRow(row)).toMatchObject({ ok: true });
  });
});
