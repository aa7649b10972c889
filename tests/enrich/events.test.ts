import { describe, expect, test } from "bun:test";
import type { Enrichment } from "../../stages/enrich/enrichments/types";
import {
  base64url,
  COLLECTOR_TSTAMP,
  entities,
  ETL_TIME,
  getRecord,
  goodEvent,
  goodEvents,
  postRecord,
  rawRecord,
  selfDescribingEvent,
} from "./helpers";

const LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1";
const WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0";
const PAGE_ID = "0b9a1e2c-3d4f-4a5b-8c6d-7e8f9a0b1c2d";
const base = { p: "web", tv: "js-3.5.0" };

describe("every event type", () => {
  test("pv: page view", async () => {
    const event = await goodEvent(getRecord({ ...base, e: "pv", url: "https://shop.example.com/", page: "Home" }));
    expect([event.event, event.event_vendor, event.event_name, event.event_format, event.event_version]).toEqual([
      "page_view", "com.snowplowanalytics.snowplow", "page_view", "jsonschema", "1-0-0",
    ]);
    expect(event.page_title).toBe("Home");
  });

  test("pp: page ping with scroll offsets", async () => {
    const event = await goodEvent(getRecord({ ...base, e: "pp", pp_mix: "0", pp_max: "10", pp_miy: "20", pp_may: "300" }));
    expect([event.event, event.event_name, event.pp_xoffset_max, event.pp_yoffset_max]).toEqual(["page_ping", "page_ping", 10, 300]);
  });

  test("se: structured event", async () => {
    const event = await goodEvent(getRecord({ ...base, e: "se", se_ca: "shop", se_ac: "add", se_va: "3.5" }));
    expect([event.event, event.event_vendor, event.event_name, event.se_category, event.se_value]).toEqual([
      "struct", "com.google.analytics", "event", "shop", 3.5,
    ]);
  });

  test("ue: self-describing event from ue_pr, and from base64 ue_px", async () => {
    const payload = selfDescribingEvent(LINK_CLICK, { targetUrl: "https://example.com/" });
    for (const parameters of [{ ue_pr: payload }, { ue_px: base64url(payload) }] as Record<string, string>[]) {
      const event = await goodEvent(getRecord({ ...base, e: "ue", ...parameters }));
      expect(event.unstruct_event).toEqual({ schema: LINK_CLICK, data: { targetUrl: "https://example.com/" } });
      expect([event.event, event.event_vendor, event.event_name, event.event_format, event.event_version]).toEqual([
        "unstruct", "com.snowplowanalytics.snowplow", "link_click", "jsonschema", "1-0-1",
      ]);
    }
  });

  test("tr and ti: transaction and its item", async () => {
    const [transaction, item] = await goodEvents(
      postRecord([
        { ...base, e: "tr", tr_id: "o-1", tr_tt: "40.00", tr_cu: "EUR" },
        { ...base, e: "ti", ti_id: "o-1", ti_sk: "sku", ti_pr: "20.00", ti_qu: "2" },
      ]),
    );
    expect([transaction!.event, transaction!.event_name, transaction!.tr_total, transaction!.tr_currency]).toEqual(["transaction", "transaction", 40, "EUR"]);
    expect([item!.event, item!.event_name, item!.ti_sku, item!.ti_quantity]).toEqual(["transaction_item", "transaction_item", "sku", 2]);
  });

  test("entities from co and from base64 cx", async () => {
    const co = entities({ schema: WEB_PAGE, data: { id: PAGE_ID } });
    for (const parameters of [{ co }, { cx: Buffer.from(co).toString("base64") }] as Record<string, string>[]) {
      const event = await goodEvent(getRecord({ ...base, e: "pv", ...parameters }));
      expect(event.contexts).toEqual([{ schema: WEB_PAGE, data: { id: PAGE_ID } }]);
    }
  });
});

describe("what Enrich fills in itself", () => {
  test("collector time, etl time and version, v_collector, user agent and address from the raw record", async () => {
    const event = await goodEvent(getRecord({ ...base, e: "pv" }));
    expect(event.collector_tstamp).toBe(COLLECTOR_TSTAMP);
    expect(event.etl_tstamp).toBe(ETL_TIME.getTime());
    expect(event.v_etl).toBe("telemetry-enrich-0.1.0");
    expect(event.v_collector).toBe("telemetry-collect-0.1.0");
    expect(event.useragent).toBe("Mozilla/5.0 (X11; Linux x86_64)");
    expect(event.user_ipaddress).toBe("203.0.113.9");
  });

  test("the client address comes from X-Forwarded-For, then Forwarded, then the collector; `ip` overrides all", async () => {
    const xff = await goodEvent(getRecord({ ...base, e: "pv" }, { headers: ["X-Forwarded-For: 198.51.100.1, 10.0.0.1", "Forwarded: for=192.0.2.1"] }));
    expect(xff.user_ipaddress).toBe("198.51.100.1");
    const forwarded = await goodEvent(getRecord({ ...base, e: "pv" }, { headers: ['Forwarded: for="[2001:db8::7]:4711";proto=https'] }));
    expect(forwarded.user_ipaddress).toBe("2001:db8::7");
    const overridden = await goodEvent(getRecord({ ...base, e: "pv", ip: "192.0.2.99" }, { headers: ["X-Forwarded-For: 198.51.100.1"] }));
    expect(overridden.user_ipaddress).toBe("192.0.2.99");
  });

  test("network_userid: the collector's cookie, then nuid, then tnuid", async () => {
    const cookie = "33333333-3333-4333-8333-333333333333";
    expect((await goodEvent(getRecord({ ...base, e: "pv" }, { networkUserId: cookie }))).network_userid).toBe(cookie);
    expect((await goodEvent(getRecord({ ...base, e: "pv", nuid: "n" }, { networkUserId: cookie }))).network_userid).toBe("n");
    expect((await goodEvent(getRecord({ ...base, e: "pv", nuid: "n", tnuid: "t" }, { networkUserId: cookie }))).network_userid).toBe("t");
  });

  test("page URL parts, with the Referer header standing in for a missing url", async () => {
    const event = await goodEvent(getRecord({ ...base, e: "pv", url: "http://shop.example.com:8080/p/a?x=1&y=2#top" }));
    expect([event.page_urlscheme, event.page_urlhost, event.page_urlport, event.page_urlpath, event.page_urlquery, event.page_urlfragment]).toEqual([
      "http", "shop.example.com", 8080, "/p/a", "x=1&y=2", "top",
    ]);
    const fallback = await goodEvent(getRecord({ ...base, e: "pv" }, { refererUri: "https://blog.example.org/post" }));
    expect([fallback.page_url, fallback.page_urlhost, fallback.page_urlport, fallback.page_urlpath]).toEqual([
      "https://blog.example.org/post", "blog.example.org", 443, "/post",
    ]);
  });

  test("referrer URL parts, and the cross-domain linker _sp", async () => {
    const event = await goodEvent(
      getRecord({ ...base, e: "pv", url: "https://shop.example.com/?_sp=abc-123.1764299999000", refr: "https://www.google.com/search?q=shoes" }),
    );
    expect([event.refr_urlscheme, event.refr_urlhost, event.refr_urlport, event.refr_urlpath, event.refr_urlquery]).toEqual([
      "https", "www.google.com", 443, "/search", "q=shoes",
    ]);
    expect([event.refr_domain_userid, event.refr_dvce_tstamp]).toEqual(["abc-123", 1764299999000]);
  });

  test("derived_tstamp: true time, else collector time minus the device's send delay, else collector time", async () => {
    const withTrue = await goodEvent(getRecord({ ...base, e: "pv", ttm: "1000", dtm: "2000", stm: "3000" }));
    expect(withTrue.derived_tstamp).toBe(1000);
    const corrected = await goodEvent(getRecord({ ...base, e: "pv", dtm: "1764299000000", stm: "1764299060000" }));
    expect(corrected.derived_tstamp).toBe(COLLECTOR_TSTAMP - 60000);
    const createdAfterSent = await goodEvent(getRecord({ ...base, e: "pv", dtm: "1764299060000", stm: "1764299000000" }));
    expect(createdAfterSent.derived_tstamp).toBe(COLLECTOR_TSTAMP);
    expect((await goodEvent(getRecord({ ...base, e: "pv" }))).derived_tstamp).toBe(COLLECTOR_TSTAMP);
  });

  test("event ids: the tracker's (lower-cased), else derived from the raw record id and position, the same on replay", async () => {
    const given = await goodEvent(getRecord({ ...base, e: "pv", eid: "ABCDEF01-2345-4678-89AB-CDEF01234567" }));
    expect(given.event_id).toBe("abcdef01-2345-4678-89ab-cdef01234567");
    const raw = postRecord([{ ...base, e: "pv" }, { ...base, e: "pv" }]);
    const first = await goodEvents(raw);
    const replayed = await goodEvents(raw);
    expect(first.map((event) => event.event_id)).toEqual(replayed.map((event) => event.event_id));
    expect(first[0]!.event_id).not.toBe(first[1]!.event_id);
    expect(first[0]!.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const other = await goodEvents({ ...raw, id: "99999999-0000-4000-8000-000000000000" });
    expect(other[0]!.event_id).not.toBe(first[0]!.event_id);
  });

  test("a raw record without an id gets ids from its content, stable across replays", async () => {
    const raw: Record<string, unknown> = { ...getRecord({ ...base, e: "pv" }) };
    delete raw.id;
    expect((await goodEvent(raw)).event_id).toBe((await goodEvent(raw)).event_id);
  });
});

describe("configured enrichments", () => {
  test("run in order after Enrich's own steps, see the raw record and parameters, and add derived entities", async () => {
    const seen: string[] = [];
    const enrichments: Enrichment[] = [
      {
        name: "first",
        schemaKey: "iglu:com.acme/first/jsonschema/1-0-0",
        apply: ({ event, parameters, raw }) => {
          seen.push(`first:${event.page_urlhost}:${event.derived_tstamp}:${parameters.aid}:${raw.path}`);
        },
      },
      {
        name: "second",
        schemaKey: "iglu:com.acme/second/jsonschema/1-0-0",
        apply: async ({ event, derived }) => {
          seen.push(`second:${event.event_name}`);
          derived.push({ schema: WEB_PAGE, data: { id: PAGE_ID } });
        },
      },
    ];
    const event = await goodEvent(getRecord({ ...base, e: "pv", aid: "shop", url: "https://a.example/" }), enrichments);
    expect(seen).toEqual([`first:a.example:${COLLECTOR_TSTAMP}:shop:/com.snowplowanalytics.snowplow/tp2`, "second:page_view"]);
    expect(event.derived_contexts).toEqual([{ schema: WEB_PAGE, data: { id: PAGE_ID } }]);
  });

  test("a raw record is used as given: the tp1 ice path with a body ignores the body", async () => {
    const event = await goodEvent(rawRecord({ path: "/i", querystring: "e=pv&p=web&tv=js", body: "ignored", contentType: "text/plain" }));
    expect(event.event).toBe("page_view");
  });
});
