/**
 * Every event type of the real @snowplow/node-tracker (4.x, tracker-core's builders), sent to `telemetry
 * collect` and enriched by `telemetry enrich` with its default configuration: no bad rows, Iglu Central (a
 * local stand-in that counts requests) never asked, and each self-describing key the tracker sends enriched.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as node from "@snowplow/node-tracker";
import { startCollector, type RunningCollector } from "../collect/helpers";
import { removeDir } from "../iglu/serve-process";
import { startStaticRegistry, type StaticRegistry } from "../iglu/static-http-registry";
import { expectAllValid, keys, trackerEvents } from "./tracker-schemas";

const dir = mkdtempSync(join(tmpdir(), "node-tracker-schemas-"));
let collector: RunningCollector;
let igluCentral: StaticRegistry;

beforeAll(async () => {
  collector = await startCollector(["--bad", join(dir, "collect-bad.ndjson")]);
  igluCentral = startStaticRegistry();
});
afterAll(async () => {
  await igluCentral?.stop();
  if (collector) expect(await collector.stop()).toBe(0);
  removeDir(dir);
  if (igluCentral) removeDir(igluCentral.dir);
});

describe("@snowplow/node-tracker → collect → enrich (defaults): no bad rows", () => {
  for (const method of ["post", "get"] as const) {
    test(`every event type, sent with ${method.toUpperCase()}`, async () => {
      const before = collector.lines.length;
      const answers: number[] = [];
      const tracker = node.newTracker(
        { namespace: `schemas-${method}`, appId: "node-schemas", encodeBase64: method === "get" },
        {
          endpoint: "127.0.0.1",
          port: collector.port,
          protocol: "http",
          eventMethod: method,
          bufferSize: method === "post" ? 5 : 1,
          onRequestSuccess: (batch) => answers.push(...batch.map(() => 200)),
          onRequestFailure: (failure) => answers.push(failure.status ?? -1),
        },
      );
      const page = { schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", data: { id: "6b8f3b5e-5b1a-4d2e-9a3f-2f1c0e7d9a10" } };
      const events = [
        node.buildPageView({ pageUrl: "https://shop.example.com/", pageTitle: "Home", referrer: "https://example.org/" }),
        node.buildPagePing({ pageUrl: "https://shop.example.com/", minXOffset: 0, maxXOffset: 10, minYOffset: 0, maxYOffset: 300 }),
        node.buildStructEvent({ category: "cart", action: "add", label: "sku-1", property: "colour", value: 2 }),
        node.buildSelfDescribingEvent({ event: { schema: "iglu:com.snowplowanalytics.snowplow/timing/jsonschema/1-0-0", data: { category: "load", variable: "db", timing: 12 } } }),
        node.buildScreenView({ name: "home", id: "6b8f3b5e-5b1a-4d2e-9a3f-2f1c0e7d9a11" }),
        node.buildLinkClick({ targetUrl: "https://example.com/", elementId: "a1", elementClasses: ["cta"], elementTarget: "_blank", elementContent: "go" }),
        node.buildAdImpression({ impressionId: "i1", costModel: "cpm", cost: 0.5, targetUrl: "https://example.com/ad", bannerId: "b1", zoneId: "z1", advertiserId: "ad1", campaignId: "c1" }),
        node.buildAdClick({ targetUrl: "https://example.com/ad", clickId: "k1", costModel: "cpc", cost: 0.2, bannerId: "b1", zoneId: "z1", impressionId: "i1", advertiserId: "ad1", campaignId: "c1" }),
        node.buildAdConversion({ conversionId: "v1", costModel: "cpa", cost: 3, category: "signup", action: "done", property: "p", initialValue: 10, advertiserId: "ad1", campaignId: "c1" }),
        node.buildSocialInteraction({ action: "like", network: "mastodon", target: "post-1" }),
        node.buildAddToCart({ sku: "P-1", quantity: 1, name: "Lamp", category: "home", unitPrice: 25, currency: "EUR" }),
        node.buildRemoveFromCart({ sku: "P-1", quantity: 1, name: "Lamp", category: "home", unitPrice: 25, currency: "EUR" }),
        node.buildFormFocusOrChange({ schema: "focus_form", formId: "f1", elementId: "email", nodeName: "INPUT", type: "email", elementClasses: ["wide"], value: "someone@example.com" }),
        node.buildFormFocusOrChange({ schema: "change_form", formId: "f1", elementId: "size", nodeName: "SELECT", value: "m" }),
        node.buildFormSubmission({ formId: "f1", formClasses: ["signup"], elements: [{ name: "email", value: "someone@example.com", nodeName: "INPUT", type: "email" }] }),
        node.buildSiteSearch({ terms: ["lamp"], filters: { colour: "red", stock: true }, totalResults: 12, pageResults: 6 }),
        node.buildEcommerceTransaction({ orderId: "T-1", total: 25, affiliation: "web", tax: 5, shipping: 3, city: "Lyon", state: "ARA", country: "FR", currency: "EUR" }),
        node.buildEcommerceTransactionItem({ orderId: "T-1", sku: "P-1", price: 25, name: "Lamp", category: "home", quantity: 1, currency: "EUR" }),
      ];
      for (const event of events) tracker.track(event, [page]);
      // The consent builders make an event and an entity of their own (the consent document).
      const granted = node.buildConsentGranted({ id: "doc-1", version: "1.0", name: "terms", description: "site terms", expiry: "2030-01-01T00:00:00Z" });
      tracker.track(granted.event, granted.context);
      const withdrawn = node.buildConsentWithdrawn({ all: false, id: "doc-1", version: "1.0", name: "terms", description: "site terms" });
      tracker.track(withdrawn.event, withdrawn.context);
      tracker.flush();
      const sentCount = events.length + 2;
      for (let waited = 0; answers.length < sentCount && waited < 20_000; waited += 50) await Bun.sleep(50);
      expect(answers).toEqual(Array(sentCount).fill(200));
      let lines = collector.lines.slice(before);
      for (let waited = 0; lines.flatMap(trackerEvents).length < sentCount && waited < 10_000; waited += 50) {
        await Bun.sleep(50);
        lines = collector.lines.slice(before);
      }
      const SP = "iglu:com.snowplowanalytics.snowplow";
      const { good } = await expectAllValid(lines, [
        ...keys(SP, ["web_page", "timing", "screen_view", "ad_impression", "ad_click", "ad_conversion", "social_interaction", "add_to_cart",
          "remove_from_cart", "focus_form", "change_form", "submit_form", "site_search", "consent_document", "consent_granted", "consent_withdrawn"]),
        `${SP}/link_click/jsonschema/1-0-1`,
      ], dir, `node-${method}`, igluCentral);
      expect(good.map((event) => event.event).sort()).toEqual(
        ["page_view", "page_ping", "struct", "transaction", "transaction_item", ...Array(15).fill("unstruct")].sort(),
      );
    }, 60_000);
  }
});
