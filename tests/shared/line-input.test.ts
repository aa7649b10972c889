/**
 * lineEventChunks: how every stdin stage stops reading on SIGTERM: without dropping a chunk already read,
 * and without ever cutting a line in two. Reads are answered by hand, so a test decides what is under way
 * when the stop comes.
 */
import { describe, expect, test } from "bun:test";
import { lineEventChunks, type LineInputOptions, type UnfinishedLine } from "../../stages/shared/line-input";
import type { LineEvent } from "../../stages/shared/lines";

const bytes = (text: string) => new TextEncoder().encode(text);

function manualSource() {
  const answers: ((result: IteratorResult<Uint8Array>) => void)[] = [];
  let reads = 0;
  let returned = false;
  const source: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        reads++;
        return new Promise<IteratorResult<Uint8Array>>((resolve) => answers.push(resolve));
      },
      return: async () => {
        returned = true;
        return { value: undefined, done: true };
      },
    }),
  };
  /** Answers the read under way, once one is. */
  const answer = async (chunk: string) => {
    while (answers.length === 0) await Bun.sleep(1);
    answers.shift()!({ value: bytes(chunk), done: false });
  };
  return { source, answer, reads: () => reads, returned: () => returned };
}

type Seen = LineEvent | UnfinishedLine;
const shown = (events: Seen[]) =>
  events.map((event) => (event.kind === "line" ? event.text : event.kind === "unfinished" ? `unfinished ${event.number}: ${event.head} (${event.bytes})` : event.kind));

async function collect(source: AsyncIterable<Uint8Array>, options: LineInputOptions): Promise<string[]> {
  const seen: Seen[] = [];
  for await (const events of lineEventChunks(source, options)) seen.push(...events);
  return shown(seen);
}

describe("lineEventChunks", () => {
  test("a read under way when the stop comes still gives its lines, then reading stops", async () => {
    const { source, answer, reads, returned } = manualSource();
    const stop = new AbortController();
    const reading = collect(source, { maxLineBytes: 100, stop: stop.signal });
    await answer("a\n");
    await Bun.sleep(5);
    stop.abort();
    await answer("b\n"); // the read that was under way completes after the stop
    expect(await reading).toEqual(["a", "b"]);
    expect(reads()).toBe(2);
    expect(returned()).toBe(false);
  });

  test("a read that stays idle after the stop does not hold the stage up", async () => {
    const { source, answer } = manualSource();
    const stop = new AbortController();
    const reading = collect(source, { maxLineBytes: 100, stop: stop.signal });
    await answer("only\n");
    await Bun.sleep(5);
    stop.abort();
    expect(await reading).toEqual(["only"]);
  });

  test("a stop in the middle of a line reads on until the line is whole, and no further", async () => {
    const { source, answer, reads } = manualSource();
    const stop = new AbortController();
    const reading = collect(source, { maxLineBytes: 100, stop: stop.signal });
    await answer('{"n":1}\n{"n":2,"half":');
    await Bun.sleep(5);
    stop.abort();
    await answer('"way"}\n{"n":3,"begun');
    await answer('":true}\n');
    expect(await reading).toEqual(['{"n":1}', '{"n":2,"half":"way"}', '{"n":3,"begun":true}']);
    expect(reads()).toBe(3);
  });

  test("a line whose rest does not come in time is reported unfinished, never given as a line", async () => {
    const { source, answer } = manualSource();
    const stop = new AbortController();
    const reading = collect(source, { maxLineBytes: 100, stop: stop.signal, unfinishedLineGraceMs: 20 });
    await answer('{"n":1}\n{"n":2,"cut":"he');
    await Bun.sleep(5);
    stop.abort();
    expect(await reading).toEqual(['{"n":1}', 'unfinished 2: {"n":2,"cut":"he (16)']);
  });

  test("without a stop the source is read to its end; a last line without newline is a line", async () => {
    async function* source() {
      yield bytes("x\n");
      yield bytes("y");
    }
    expect(await collect(source(), { maxLineBytes: 100 })).toEqual(["x", "y"]);
  });
});
