/** chunksUntilAborted: how a stdin stage stops reading on SIGTERM without dropping a chunk already read. */
import { describe, expect, test } from "bun:test";
import { chunksUntilAborted } from "../../cli/runtime";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (chunks: Uint8Array[]) => chunks.map((chunk) => new TextDecoder().decode(chunk)).join("");

/** A source whose reads are answered by hand, so a test decides what is under way when the signal comes. */
function manualSource() {
  const answers: ((result: IteratorResult<Uint8Array>) => void)[] = [];
  let reads = 0;
  const source: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        reads++;
        return new Promise<IteratorResult<Uint8Array>>((resolve) => answers.push(resolve));
      },
    }),
  };
  const answer = (chunk: string) => answers.shift()!({ value: bytes(chunk), done: false });
  return { source, answer, reads: () => reads };
}

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
}

describe("chunksUntilAborted", () => {
  test("a read under way when the signal comes still yields its chunk, then reading stops", async () => {
    const { source, answer, reads } = manualSource();
    const controller = new AbortController();
    const reading = collect(chunksUntilAborted(source, controller.signal));
    await Bun.sleep(5);
    answer("a\n");
    await Bun.sleep(5);
    controller.abort();
    await Bun.sleep(5);
    answer("b\n"); // the read that was under way completes after the abort
    expect(text(await reading)).toBe("a\nb\n");
    expect(reads()).toBe(2);
  });

  test("a read that stays idle after the signal does not hold the stage up", async () => {
    const { source, answer } = manualSource();
    const controller = new AbortController();
    const reading = collect(chunksUntilAborted(source, controller.signal));
    await Bun.sleep(5);
    answer("only\n");
    await Bun.sleep(5);
    controller.abort();
    expect(text(await reading)).toBe("only\n");
  });

  test("ends with the source", async () => {
    async function* source() {
      yield bytes("x\n");
      yield bytes("y\n");
    }
    expect(text(await collect(chunksUntilAborted(source(), new AbortController().signal)))).toBe("x\ny\n");
  });
});
