import { describe, expect, test } from "bun:test";
import { transform } from "snowplow-analytics-sdk";
import { ENRICHED_FIELDS, newEnrichedEvent, type EnrichedEvent } from "../../stages/enrich/event";
import { shreddedName, toAnalyticsJson, toPartiallyEnriched, toTsv, tsvTimestamp } from "../../stages/enrich/output";
import type { Enrichment } from "../../stages/enrich/enrichments/types";
import { embeddedResolver, entities, getRecord, goodEvent, goodEvents, postRecord, selfDescribingEvent } from "./helpers";

const WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0";
const LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1";
const PAGE_ID = "0b9a1e2c-3d4f-4a5b-8c6d-7e8f9a0b1c2d";
const base = { p: "web", tv: "js-3.5.0" };

/** Sets geo columns and a derived entity, as ip_lookups and ua_parser would. */
const geoAndEntity: Enrichment = {
  name: "test_geo",
  schemaKey: "iglu:com.acme/test_geo/jsonschema/1-0-0",
  apply: ({ event, derived }) => {
    event.geo_latitude = 48.8582;
    event.geo_longitude = 2.2945;
    event.geo_country = "FR";
    derived.push({ schema: WEB_PAGE, data: { id: "11111111-2222-4333-8444-555555555555" } });
  },
};

/** A mix covering every column kind: strings, integers, decimals, floats, booleans, timestamps, JSON columns. */
async function sampleEvents(): Promise<EnrichedEvent[]> {
  const co = entities({ schema: WEB_PAGE, data: { id: PAGE_ID } });
  return goodEvents(
    postRecord([
      { ...base, e: "pv", url: "https://shop.example.com/p?utm_source=news", page: "Tab\there", refr: "https://www.google.com/", co, res: "1920x1080", cookie: "1", f_pdf: "0", dtm: "1764299990000", stm: "1764299995000", ttm: "1764299980000", vid: "2" },
      { ...base, e: "ue", ue_pr: selfDescribingEvent(LINK_CLICK, { targetUrl: "https://a.example/ü" }), co },
      { ...base, e: "se", se_ca: "c", se_ac: "a", se_va: "0.25" },
      { ...base, e: "tr", tr_id: "o", tr_tt: "12.5", tr_tx: "1", tr_sh: "0" },
      { ...base, e: "ti", ti_id: "o", ti_sk: "s", ti_pr: "6.25", ti_qu: "2" },
      { ...base, e: "pp", pp_mix: "1", pp_max: "2", pp_miy: "3", pp_may: "4" },
    ]),
    [geoAndEntity],
  );
}

describe("TSV", () => {
  test("131 tab-separated columns in canonical order, Enrich's encodings", async () => {
    const [pageView] = await sampleEvents();
    const columns = toTsv(pageView!).split("\t");
    expect(columns).toHaveLength(131);
    const at = (name: string) => columns[ENRICHED_FIELDS.indexOf(name as never)];
    expect(at("collector_tstamp")).toBe("2025-11-28 03:20:00.000");
    expect(at("true_tstamp")).toBe(tsvTimestamp(1764299980000));
    expect([at("br_cookies"), at("br_features_pdf"), at("br_features_java")]).toEqual(["1", "0", ""]);
    expect([at("dvce_screenwidth"), at("domain_sessionidx")]).toEqual(["1920", "2"]);
    expect(at("page_title")).toBe("Tab    here");
    expect(JSON.parse(at("contexts")!)).toEqual({
      schema: "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1",
      data: [{ schema: WEB_PAGE, data: { id: PAGE_ID } }],
    });
    expect(JSON.parse(at("derived_contexts")!).data[0].schema).toBe(WEB_PAGE);
    expect(at("unstruct_event")).toBe("");
  });

  test("an empty event is 130 tabs", () => {
    expect(toTsv(newEnrichedEvent())).toBe("\t".repeat(130));
  });

  test("timestamps: yyyy-MM-dd HH:mm:ss.SSS in UTC", () => {
    expect(tsvTimestamp(Date.UTC(2013, 10, 26, 0, 2, 5, 123))).toBe("2013-11-26 00:02:05.123");
  });

  test("snowplow-analytics-sdk (npm) parses our TSV back to our JSON", async () => {
    for (const event of await sampleEvents()) {
      const parsed = transform(toTsv(event)) as unknown as Record<string, unknown>;
      // The npm SDK's known differences: it omits empty columns, keeps se_value a string, and names
      // column 122 refr_device_tstamp (snowplow-pipeline.md §3.5).
      if ("se_value" in parsed) parsed.se_value = Number(parsed.se_value);
      if ("refr_device_tstamp" in parsed) {
        parsed.refr_dvce_tstamp = parsed.refr_device_tstamp;
        delete parsed.refr_device_tstamp;
      }
      const ours = Object.fromEntries(Object.entries(toAnalyticsJson(event)).filter(([, value]) => value !== null));
      expect(parsed).toEqual(ours);
    }
  });
});

describe("Analytics-SDK JSON", () => {
  test("non-empty atomic columns by name (empty ones left out), ISO timestamps, booleans, shredded self-describing data", async () => {
    const [pageView, linkClick] = await sampleEvents();
    const json = toAnalyticsJson(pageView!);
    expect(json.collector_tstamp).toBe("2025-11-28T03:20:00.000Z");
    expect([json.br_cookies, json.br_features_pdf]).toEqual([true, false]);
    // Empty columns are left out, as the Snowplow JS and Python Analytics SDKs do; the TSV keeps them.
    expect("br_features_java" in json).toBe(false);
    expect(Object.values(json)).not.toContain(null);
    expect(json.geo_location).toBe("48.8582,2.2945");
    expect(json.contexts).toBeUndefined();
    expect(json.derived_contexts).toBeUndefined();
    // The derived web_page entity replaces the tracker's under the same key, as the SDKs do.
    expect(json.contexts_com_snowplowanalytics_snowplow_web_page_1).toEqual([{ id: "11111111-2222-4333-8444-555555555555" }]);
    const click = toAnalyticsJson(linkClick!);
    expect(click.unstruct_event_com_snowplowanalytics_snowplow_link_click_1).toEqual({ targetUrl: "https://a.example/ü" });
  });

  test("every event is valid against schemas/dev.telemetry/enriched_event", async () => {
    const resolver = await embeddedResolver();
    for (const event of await sampleEvents()) {
      const outcome = await resolver.validate("iglu:dev.telemetry/enriched_event/jsonschema/1-0-0", toAnalyticsJson(event));
      expect(outcome.ok ? "valid" : JSON.stringify(outcome.igluError)).toBe("valid");
    }
  });

  test("column names follow the Scala SDK rule", () => {
    expect(shreddedName("iglu:com.acme/AddToCart/jsonschema/2-1-0")).toBe("com_acme_add_to_cart_2");
    expect(shreddedName("iglu:com.my-company/viewed_product/jsonschema/1-0-0")).toBe("com_my_company_viewed_product_1");
    expect(shreddedName("iglu:nl.basjes/yauaa_context/jsonschema/1-0-5")).toBe("nl_basjes_yauaa_context_1");
  });
});

describe("bad-row payload form", () => {
  test("booleans as 1/0, decimals and timestamps and JSON columns as strings", async () => {
    const event = await goodEvent(getRecord({ ...base, e: "se", se_va: "2.5", cookie: "1", co: entities({ schema: WEB_PAGE, data: { id: PAGE_ID } }) }));
    const partial = toPartiallyEnriched(event);
    expect([partial.br_cookies, partial.se_value, partial.collector_tstamp]).toEqual([1, "2.5", "2025-11-28 03:20:00.000"]);
    expect(JSON.parse(partial.contexts as string).data).toHaveLength(1);
  });
});
