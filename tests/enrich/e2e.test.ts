/**
 * End to end: the real `@snowplow/node-tracker` → the real `bin/telemetry collect` → the real
 * `bin/telemetry enrich`, every event type, by POST (plain JSON) and by GET (base64 ue_px / cx).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  buildEcommerceTransaction,
  buildEcommerceTransactionItem,
  buildPagePing,
  buildPageView,
  buildSelfDescribingEvent,
  buildStructEvent,
  newTracker,
  type PayloadBuilder,
} from "@snowplow/node-tracker";
import { startCollector, telemetry, type RunningCollector } from "../collect/helpers";

const WEB_PAGE = { schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", data: { id: "0b9a1e2c-3d4f-4a5b-8c6d-7e8f9a0b1c2d" } };
const LINK_CLICK = { schema: "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", data: { targetUrl: "https://shop.example.com/checkout" } };

let collector: RunningCollector;
beforeAll(async () => {
  collector = await startCollector(["--bad", "/dev/null"]);
});
afterAll(async () => {
  expect(await collector.stop()).toBe(0);
});

/** Sends every event type through one tracker and returns the raw records the collector wrote for them. */
async function collect(method: "get" | "post", encodeBase64: boolean): Promise<string[]> {
  const before = collector.lines.length;
  let answered = 0;
  const t = newTracker(
    { namespace: `e2e-${method}`, appId: "e2e", encodeBase64 },
    { endpoint: "127.0.0.1", port: collector.port, protocol: "http", eventMethod: method, bufferSize: method === "post" ? 6 : 1, onRequestSuccess: () => answered++ },
  );
  const events: PayloadBuilder[] = [
    buildPageView({ pageUrl: "https://shop.example.com/p?utm_source=mail&utm_medium=email", pageTitle: "Product", referrer: "https://www.bing.com/search?q=shoes" }),
    buildPagePing({ pageUrl: "https://shop.example.com/p", minXOffset: 0, maxXOffset: 10, minYOffset: 20, maxYOffset: 400 }),
    buildStructEvent({ category: "cart", action: "add", label: "sku-1", property: "size", value: 2 }),
    buildSelfDescribingEvent({ event: LINK_CLICK }),
    buildEcommerceTransaction({ orderId: "order-1", total: 40, tax: 4, shipping: 5, currency: "EUR", city: "Paris" }),
    buildEcommerceTransactionItem({ orderId: "order-1", sku: "sku-1", price: 20, quantity: 2, name: "Shoe", currency: "EUR" }),
  ];
  for (const event of events) t.track(event, [WEB_PAGE]);
  const requests = method === "post" ? 1 : events.length;
  for (let waited = 0; answered < requests && waited < 10_000; waited += 20) await Bun.sleep(20);
  expect(answered).toBe(requests);
  return (await collector.waitForLines(before + requests)).slice(before, before + requests);
}

async function enrich(rawLines: string[]): Promise<{ events: Record<string, any>[]; badRows: string }> {
  const bad = `${collector.child.pid}-${Date.now()}-bad.ndjson`;
  const child = Bun.spawn([telemetry, "enrich", "--stats-interval", "0", "--bad", `/tmp/${bad}`], {
    stdin: new Blob([rawLines.join("\n") + "\n"]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  expect(code).toBe(0);
  const badFile = Bun.file(`/tmp/${bad}`);
  const badRows = (await badFile.exists()) ? await badFile.text() : "";
  if (await badFile.exists()) await badFile.delete();
  return { events: stdout.trim().split("\n").map((line) => JSON.parse(line)), badRows };
}

function checkEveryType(events: Record<string, any>[]): void {
  expect(events.map((event) => event.event)).toEqual(["page_view", "page_ping", "struct", "unstruct", "transaction", "transaction_item"]);
  const [pv, pp, se, ue, tr, ti] = events;
  for (const event of events) {
    expect(event.app_id).toBe("e2e");
    expect(event.platform).toBe("srv");
    expect(event.v_tracker).toMatch(/^node-4\./);
    expect(event.v_collector).toStartWith("telemetry-collect-");
    expect(event.user_ipaddress).toBe("127.0.0.1");
    expect(event.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.contexts_com_snowplowanalytics_snowplow_web_page_1).toEqual([WEB_PAGE.data]);
    expect(Date.parse(event.derived_tstamp)).toBeLessThanOrEqual(Date.parse(event.collector_tstamp));
    expect(event.event_fingerprint).toMatch(/^[0-9a-f]{32}$/);
  }
  expect(new Set(events.map((event) => event.event_id)).size).toBe(6);
  expect([pv!.page_urlhost, pv!.page_urlpath, pv!.page_title, pv!.refr_urlhost]).toEqual(["shop.example.com", "/p", "Product", "www.bing.com"]);
  expect([pv!.mkt_source, pv!.mkt_medium]).toEqual(["mail", "email"]);
  expect([pv!.refr_medium, pv!.refr_source]).toEqual(["search", "Bing"]);
  expect([pp!.pp_xoffset_max, pp!.pp_yoffset_min, pp!.pp_yoffset_max]).toEqual([10, 20, 400]);
  expect([se!.se_category, se!.se_action, se!.se_label, se!.se_property, se!.se_value]).toEqual(["cart", "add", "sku-1", "size", 2]);
  expect(ue!.unstruct_event_com_snowplowanalytics_snowplow_link_click_1).toEqual(LINK_CLICK.data);
  expect([ue!.event_vendor, ue!.event_name, ue!.event_version]).toEqual(["com.snowplowanalytics.snowplow", "link_click", "1-0-1"]);
  expect([tr!.tr_orderid, tr!.tr_total, tr!.tr_tax, tr!.tr_shipping, tr!.tr_currency, tr!.tr_city]).toEqual(["order-1", 40, 4, 5, "EUR", "Paris"]);
  expect([ti!.ti_orderid, ti!.ti_sku, ti!.ti_price, ti!.ti_quantity, ti!.ti_name, ti!.ti_currency]).toEqual(["order-1", "sku-1", 20, 2, "Shoe", "EUR"]);
}

describe("@snowplow/node-tracker → telemetry collect → telemetry enrich", () => {
  test("POST batch with plain JSON: every event type enriched, no bad rows", async () => {
    const { events, badRows } = await enrich(await collect("post", false));
    expect(badRows).toBe("");
    checkEveryType(events);
  });

  test("GET pixels with base64 ue_px and cx: every event type enriched, no bad rows", async () => {
    const raw = await collect("get", true);
    expect(raw.some((line) => JSON.parse(line).querystring.includes("cx="))).toBe(true);
    const { events, badRows } = await enrich(raw);
    expect(badRows).toBe("");
    checkEveryType(events);
  });

  test("replaying the same raw records gives the same events", async () => {
    const raw = await collect("post", false);
    const first = (await enrich(raw)).events;
    const second = (await enrich(raw)).events;
    expect(second.map((event) => event.event_id)).toEqual(first.map((event) => event.event_id));
    expect(second.map((event) => event.event_fingerprint)).toEqual(first.map((event) => event.event_fingerprint));
  });
});
