import { describe, expect, test } from "bun:test";
import { lineEventChunks } from "../../stages/shared/line-input";
import { LineSplitter, type LineEvent } from "../../stages/shared/lines";

const encoder = new TextEncoder();

async function* chunksOf(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === "string" ? encoder.encode(part) : part;
}

/** Read to the end (no stop), so every event is a LineEvent. */
async function collect(chunks: AsyncIterable<Uint8Array>, maxLineBytes = 1024): Promise<LineEvent[]> {
  const events: LineEvent[] = [];
  for await (const some of lineEventChunks(chunks, { maxLineBytes })) events.push(...(some as LineEvent[]));
  return events;
}

const texts = (events: LineEvent[]) => events.map((e) => (e.kind === "line" ? e.text : e.kind));

describe("line splitting", () => {
  test("strips CRLF and keeps a last line that has no newline", async () => {
    expect(texts(await collect(chunksOf("a\r\nb\nc")))).toEqual(["a", "b", "c"]);
  });

  test("joins a line split across many chunks, including a CR and LF in separate chunks", async () => {
    expect(texts(await collect(chunksOf("{\"ke", "y\":", "1}\r", "\n{\"k\":2}\n")))).toEqual([
      '{"key":1}',
      '{"k":2}',
    ]);
  });

  test("skips blank lines without counting them", async () => {
    const events = await collect(chunksOf("a\n\n\r\nb\n"));
    expect(events.map((e) => e.number)).toEqual([1, 2]);
    expect(texts(events)).toEqual(["a", "b"]);
  });

  test("reports an over-long line with its size and first bytes, then goes on", async () => {
    const long = "x".repeat(5000);
    const events = await collect(chunksOf("ok\n", long.slice(0, 2000), long.slice(2000), "\nafter\n"), 100);
    expect(texts(events)).toEqual(["ok", "oversized", "after"]);
    const oversized = events[1] as Extract<LineEvent, { kind: "oversized" }>;
    expect(oversized.bytes).toBe(5000);
    expect(oversized.number).toBe(2);
    expect(oversized.head.length).toBeLessThanOrEqual(1024);
    expect(oversized.head.startsWith("xxxx")).toBe(true);
  });

  test("a line exactly at the limit passes, one byte more does not", async () => {
    const events = await collect(chunksOf("a".repeat(10) + "\r\n" + "b".repeat(11) + "\n"), 10);
    expect(texts(events)).toEqual(["a".repeat(10), "oversized"]);
  });

  test("invalid UTF-8 is reported with the raw bytes, not decoded into replacement characters", async () => {
    const bad = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a]);
    const events = await collect(chunksOf(bad, "fine\n"));
    expect(events[0]!.kind).toBe("invalid_utf8");
    expect(Buffer.from((events[0] as { base64: string }).base64, "base64")).toEqual(Buffer.from(bad.subarray(0, 4)));
    expect(texts(events.slice(1))).toEqual(["fine"]);
  });

  test("a multi-byte character split between chunks is decoded whole", async () => {
    const bytes = encoder.encode("é€\n");
    expect(texts(await collect(chunksOf(bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3))))).toEqual([
      "é€",
    ]);
  });

  test("does not keep references to chunks the producer may reuse", async () => {
    const buffer = encoder.encode("abc");
    async function* reused() {
      yield buffer;
      buffer.set(encoder.encode("XYZ"));
      yield encoder.encode("\n");
    }
    expect(texts(await collect(reused()))).toEqual(["abc"]);
  });

  test("the same events whether lines come in one chunk (decoded at once when ASCII) or byte by byte", async () => {
    const text = `{"a":1}\r\n\nplain ascii\n${"x".repeat(40)}\r\ncafé ☕\n{"b":2}\n\r\nlast`;
    const bytes = encoder.encode(text);
    const whole = await collect(chunksOf(bytes), 30);
    const byteByByte = await collect(chunksOf(...Array.from(bytes, (byte) => new Uint8Array([byte]))), 30);
    // An oversized line keeps only as much of its head as was buffered when it passed the limit.
    const withoutHead = (events: LineEvent[]) => events.map((event) => ({ ...event, head: undefined }));
    expect(withoutHead(whole)).toEqual(withoutHead(byteByByte));
    expect(texts(whole)).toEqual(['{"a":1}', "plain ascii", "oversized", "café ☕", '{"b":2}', "last"]);
    expect(whole[2]).toMatchObject({ kind: "oversized", bytes: 41, number: 3 });
    expect((whole[2] as { head: string }).head.startsWith("x".repeat(30))).toBe(true);
  });

  test("an unfinished line can be abandoned: it is never emitted, and its size and head are given for the report", () => {
    const splitter = new LineSplitter({ maxLineBytes: 100, oversizedHeadBytes: 8 });
    const events: LineEvent[] = [];
    splitter.push(encoder.encode('{"whole":1}\n\n{"cut'), (event) => events.push(event));
    splitter.push(encoder.encode("-short"), (event) => events.push(event));
    expect([splitter.lineEnds, splitter.bufferedBytes]).toEqual([2, 11]);
    expect(splitter.abandon()).toEqual({ number: 2, bytes: 11, head: '{"cut-sh' });
    expect(splitter.bufferedBytes).toBe(0);
    splitter.end((event) => events.push(event));
    expect(texts(events)).toEqual(['{"whole":1}']);
    expect(splitter.abandon()).toBeNull();
    // Past the limit only the head is held; abandoning tells the whole size seen.
    splitter.push(encoder.encode("y".repeat(150)), (event) => events.push(event));
    expect(splitter.bufferedBytes).toBe(8);
    expect(splitter.abandon()).toEqual({ number: 3, bytes: 150, head: "yyyyyyyy" });
  });
});
