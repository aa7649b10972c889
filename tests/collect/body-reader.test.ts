/**
 * Body reads share one timer: a stalled body times out, while bodies that arrive (before or after it
 * began) are read in full, and a body over the limit is refused.
 */
import { expect, test } from "bun:test";
import { BodyReader } from "../../stages/collect/body-reader";

/** A POST whose body stream sends `text` and then either ends or stays open forever. */
function post(text: string, stalls: boolean): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      if (!stalls) controller.close();
    },
  });
  return new Request("http://collector.test/a/b", { method: "POST", body });
}

test("stalled reads time out at their deadline; reads that finish are unaffected; over-limit is refused", async () => {
  const reader = new BodyReader(10, 150);
  const first = reader.read(post("{}", true));
  const second = reader.read(post('{"a":1}', false));
  await Bun.sleep(60);
  const third = reader.read(post("{}", true));
  const fourth = reader.read(post("x".repeat(11), false));
  const fifth = reader.read(post("é", false));

  expect(await second).toEqual({ kind: "text", text: '{"a":1}' });
  expect(await fourth).toEqual({ kind: "too-large" });
  expect(await fifth).toEqual({ kind: "text", text: "é" });
  const [firstResult, thirdResult] = await Promise.all([first, third]);
  expect(firstResult).toEqual({ kind: "timeout" });
  expect(thirdResult).toEqual({ kind: "timeout" });
});

test("a declared length over the limit is refused without reading", async () => {
  const reader = new BodyReader(10, 1000);
  const request = new Request("http://collector.test/a/b", { method: "POST", body: "x", headers: { "Content-Length": "11" } });
  expect(await reader.read(request)).toEqual({ kind: "too-large" });
});
