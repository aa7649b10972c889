/**
 * The real collector process fed by the real `@snowplow/node-tracker` (v4: `newTracker` with an emitter
 * configuration; v3's `gotEmitter` no longer exists). Every record it writes must match the raw_record schema.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildPageView, buildSelfDescribingEvent, buildStructEvent, newTracker } from "@snowplow/node-tracker";
import { startCollector, validateRawRecord, type RunningCollector } from "./helpers";

let collector: RunningCollector;
beforeAll(async () => {
  collector = await startCollector(["--bad", "/dev/null"]);
});
afterAll(async () => {
  expect(await collector.stop()).toBe(0);
});

function tracker(method: "get" | "post", bufferSize: number, statuses: number[]) {
  return newTracker(
    { namespace: `ns-${method}`, appId: "collect-test", encodeBase64: false },
    {
      endpoint: "127.0.0.1",
      port: collector.port,
      protocol: "http",
      eventMethod: method,
      bufferSize,
      onRequestSuccess: (_batch, response) => statuses.push(response.status),
      onRequestFailure: (failure) => statuses.push(failure.status ?? -1),
    },
  );
}

/** The tracker sends in the background (track() does not wait for the event store); wait for its callbacks. */
async function waitForResponses(statuses: number[], count: number): Promise<number[]> {
  for (let waited = 0; statuses.length < count && waited < 10_000; waited += 20) await Bun.sleep(20);
  return statuses;
}

const sdEvent = {
  event: { schema: "iglu:com.acme/checkout/jsonschema/1-0-0", data: { total: 42, currency: "EUR" } },
};

describe("@snowplow/node-tracker → telemetry collect", () => {
  test("POST, batched: three events in one payload_data body on tp2", async () => {
    const before = collector.lines.length;
    const statuses: number[] = [];
    const t = tracker("post", 3, statuses);
    t.track(buildPageView({ pageUrl: "https://shop.example.com/", pageTitle: "Home" }));
    t.track(buildStructEvent({ category: "cart", action: "add", label: "sku-1", value: 2 }));
    t.track(buildSelfDescribingEvent(sdEvent));
    expect(await waitForResponses(statuses, 1)).toEqual([200]);
    const [line] = (await collector.waitForLines(before + 1)).slice(before);
    const record = JSON.parse(line!);
    expect(validateRawRecord(record)).toEqual([]);
    expect(record.path).toBe("/com.snowplowanalytics.snowplow/tp2");
    expect(record.contentType).toStartWith("application/json");
    expect(record.ipAddress).toBe("127.0.0.1");
    const body = JSON.parse(record.body);
    expect(body.schema).toStartWith("iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-");
    expect(body.data.map((event: Record<string, string>) => event.e)).toEqual(["pv", "se", "ue"]);
    expect(body.data[0].url).toBe("https://shop.example.com/");
    expect(body.data[1]).toMatchObject({ se_ca: "cart", se_ac: "add", se_la: "sku-1", se_va: "2" });
    expect(JSON.parse(body.data[2].ue_pr).data).toEqual(sdEvent.event);
    for (const event of body.data) expect(event).toMatchObject({ aid: "collect-test", p: "srv", tna: "ns-post" });
    expect(body.data[0].tv).toMatch(/^node-4\./);
  });

  test("GET: one event per request, in the querystring of the /i pixel", async () => {
    const before = collector.lines.length;
    const statuses: number[] = [];
    const t = tracker("get", 1, statuses);
    t.track(buildPageView({ pageUrl: "https://shop.example.com/a?b=c", pageTitle: "A & B" }));
    t.track(buildStructEvent({ category: "video", action: "play" }));
    expect(await waitForResponses(statuses, 2)).toEqual([200, 200]);
    const records = (await collector.waitForLines(before + 2)).slice(before).map((line) => JSON.parse(line));
    for (const record of records) {
      expect(validateRawRecord(record)).toEqual([]);
      expect(record.body).toBeUndefined();
      expect(record.path).toBe("/i");
    }
    const params = records.map((record) => new URLSearchParams(record.querystring));
    expect(params.map((p) => p.get("e"))).toEqual(["pv", "se"]);
    expect(params[0]!.get("url")).toBe("https://shop.example.com/a?b=c");
    expect(params[0]!.get("page")).toBe("A & B");
    expect(params[1]!.get("se_ca")).toBe("video");
  });

  test("server anonymisation (SP-Anonymous from the tracker): zero nuid and ip unknown", async () => {
    const before = collector.lines.length;
    const t = newTracker(
      { namespace: "anon", appId: "collect-test" },
      { endpoint: "127.0.0.1", port: collector.port, protocol: "http", bufferSize: 1, serverAnonymization: true },
    );
    t.track(buildPageView({ pageUrl: "https://shop.example.com/private" }));
    const record = JSON.parse((await collector.waitForLines(before + 1))[before]!);
    expect(record.networkUserId).toBe("00000000-0000-0000-0000-000000000000");
    expect(record.ipAddress).toBe("unknown");
    expect(record.headers).toContain("Sp-Anonymous: *");
  });
});
