import { describe, expect, test } from "bun:test";
import { EnrichmentError } from "../../stages/enrich/enrichments/types";
import { context, failureOf, run, single } from "./helpers";

const SCHEMA = "iglu:com.snowplowanalytics.snowplow/campaign_attribution/jsonschema/1-0-1";
const UTM = {
  mapping: "static",
  fields: {
    mktMedium: ["utm_medium", "medium"],
    mktSource: ["utm_source", "source"],
    mktTerm: ["utm_term"],
    mktContent: ["utm_content"],
    mktCampaign: ["utm_campaign", "cid"],
    mktClickId: { fbclid: "Facebook" },
  },
};

describe("campaign_attribution", () => {
  test("fills every mkt_* column from a real campaign URL, decoding values", async () => {
    const enrichment = await single(SCHEMA, UTM);
    const url = "https://shop.example.com/sale?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&utm_term=running+shoes&utm_content=hero-banner&gclid=EAIaIQobChMI";
    const { event } = await run(enrichment, context({ page_url: url, page_urlquery: url.split("?")[1]! }));
    expect(event.mkt_source).toBe("newsletter");
    expect(event.mkt_medium).toBe("email");
    expect(event.mkt_campaign).toBe("spring sale");
    expect(event.mkt_term).toBe("running shoes");
    expect(event.mkt_content).toBe("hero-banner");
    expect(event.mkt_clickid).toBe("EAIaIQobChMI");
    expect(event.mkt_network).toBe("Google");
  });

  test("the first listed parameter wins; a later fallback is used only when the first is absent", async () => {
    const enrichment = await single(SCHEMA, UTM);
    const both = await run(enrichment, context({ page_urlquery: "medium=cpc&utm_medium=display" }));
    expect(both.event.mkt_medium).toBe("display");
    const fallback = await run(enrichment, context({ page_urlquery: "cid=42&source=partner" }));
    expect(fallback.event.mkt_campaign).toBe("42");
    expect(fallback.event.mkt_source).toBe("partner");
    expect(fallback.event.mkt_medium).toBeNull();
  });

  test("default click ids and the config's own: msclkid → Microsoft, dclid → DoubleClick, fbclid → Facebook", async () => {
    const enrichment = await single(SCHEMA, UTM);
    for (const [query, network, id] of [
      ["msclkid=abc123", "Microsoft", "abc123"],
      ["dclid=CJ_s", "DoubleClick", "CJ_s"],
      ["fbclid=IwAR0x", "Facebook", "IwAR0x"],
    ] as const) {
      const { event } = await run(enrichment, context({ page_urlquery: query }));
      expect([event.mkt_clickid, event.mkt_network]).toEqual([id, network]);
    }
  });

  test("reads the querystring from page_url when enrich has not split it out", async () => {
    const enrichment = await single(SCHEMA, UTM);
    const { event } = await run(enrichment, context({ page_url: "http://example.com/?utm_source=twitter#top" }));
    expect(event.mkt_source).toBe("twitter");
  });

  test("a page without a querystring leaves the columns empty", async () => {
    const enrichment = await single(SCHEMA, UTM);
    const { event } = await run(enrichment, context({ page_url: "https://example.com/" }));
    expect(event.mkt_source).toBeNull();
    expect(event.mkt_clickid).toBeNull();
  });

  test("an undecodable page querystring is an enrichment failure carrying the config's schema key", async () => {
    const enrichment = await single(SCHEMA, UTM);
    const failure = await failureOf(enrichment, context({ page_urlquery: "utm_source=%E0%A4%A" }));
    expect(failure).toBeInstanceOf(EnrichmentError);
    expect((failure as EnrichmentError).enrichment).toEqual({ schemaKey: SCHEMA, identifier: "campaign-attribution" });
  });
});
