import { describe, expect, test } from "bun:test";
import { Writable } from "node:stream";
import { LineWriter } from "../../stages/shared/line-writer";

/** A writable whose consumer takes one chunk at a time only when `release()` is called. */
function gatedStream(highWaterMark: number) {
  const received: string[] = [];
  const waiting: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk, _encoding, callback) {
      received.push(chunk.toString());
      waiting.push(callback);
    },
  });
  return { stream, received, release: () => waiting.shift()?.() };
}

describe("LineWriter", () => {
  test("joins lines with newlines and flushes them on end()", async () => {
    const chunks: string[] = [];
    const stream = new Writable({ write: (c, _e, cb) => (chunks.push(c.toString()), cb()) });
    const writer = new LineWriter(stream);
    await writer.writeLine("a");
    await writer.writeRecord({ b: 1 });
    await writer.end();
    expect(chunks.join("")).toBe('a\n{"b":1}\n');
    expect(writer.linesWritten).toBe(2);
  });

  test("a write waits while the stream is full, and resumes when it drains", async () => {
    const { stream, received, release } = gatedStream(16);
    const writer = new LineWriter(stream, { batchBytes: 8 });
    let firstDone = false;
    let secondDone = false;
    // Over the high-water mark: the stream is now full and the writer must wait for it.
    const first = writer.writeLine("0123456789abcdef").then(() => (firstDone = true));
    const second = writer.writeLine("next-line-longer-than-batch").then(() => (secondDone = true));
    await Bun.sleep(20);
    expect(writer.isBlocked).toBe(true);
    expect([firstDone, secondDone]).toEqual([false, false]);
    expect(received.length).toBe(1);
    release();
    await first;
    await Bun.sleep(5);
    release();
    await second;
    expect(received.join("")).toBe("0123456789abcdef\nnext-line-longer-than-batch\n");
  });

  test("after the reader goes away, writes are dropped and `closed` resolves", async () => {
    const stream = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error("gone"), { code: "EPIPE" })) });
    const writer = new LineWriter(stream, { batchBytes: 1 });
    await writer.writeLine("x").catch(() => {});
    await writer.closed;
    expect(writer.isDownstreamClosed).toBe(true);
    await writer.writeLine("ignored");
  });

  test("writeLines queues several whole lines at once, in order with writeLine, and counts them", async () => {
    const chunks: string[] = [];
    const stream = new Writable({ write: (c, _e, cb) => (chunks.push(c.toString()), cb()) });
    const writer = new LineWriter(stream);
    await writer.writeLine("first");
    await writer.writeLines("a\nb\nc\n", 3);
    await writer.writeLines("", 0);
    await writer.writeLine("last");
    await writer.end();
    expect(chunks.join("")).toBe("first\na\nb\nc\nlast\n");
    expect(writer.linesWritten).toBe(5);
  });
});
