/**
 * The Snowplow-Micro-compatible API over a store filled through the real pipeline, on SQLite and on the
 * real Elasticsearch, with the requests Micro's documentation shows, checked field by field against
 * what the sinks stored.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { ENRICHED_FIELDS } from "../../stages/enrich/event";
import { telemetry, uniqueName } from "../sink/helpers";
import { filledStore, LINK_CLICK, UNKNOWN_SCHEMA, WEB_PAGE, type Filled } from "./fill";
import { startDashboard, stopStartedDashboards, storeArgs, storesToTest, type RunningDashboard } from "./helpers";

const CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0";
const UNSTRUCT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0";

let filled: Filled;
beforeAll(async () => {
  filled = await filledStore();
}, 180_000);
afterAll(stopStartedDashboards);

async function call(base: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const response = await fetch(base + path, body === undefined ? {} : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  const text = await response.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // plain text answers (reset) are checked as text
  }
  return { status: response.status, json, text };
}

const typeOf = (row: Record<string, any>) => /badrows\/([^/]+)\//.exec(row.schema)![1]!;

for (const store of storesToTest()) {
  describe(`Micro API on ${store}`, () => {
    let dashboard: RunningDashboard;
    beforeAll(async () => {
      dashboard = await startDashboard(storeArgs(filled, store), filled.work);
    }, 30_000);
    afterAll(async () => {
      await dashboard?.stop();
    });

    test("/micro/all counts what the sinks stored; reset is refused without --allow-reset; unknown paths name the endpoints", async () => {
      expect((await call(dashboard.base, "/micro/all")).json).toEqual({ total: filled.good.length + filled.bad.length, good: filled.good.length, bad: filled.bad.length });
      const reset = await call(dashboard.base, "/micro/reset");
      expect(reset.status).toBe(403);
      expect(reset.json.error).toContain("--allow-reset");
      expect((await call(dashboard.base, "/micro/all")).json.good).toBe(filled.good.length);
      const unknown = await call(dashboard.base, "/micro/nothing");
      expect(unknown.status).toBe(404);
      expect(unknown.json.error).toContain("/micro/good");
    });

    test("GET /micro/good: every event newest first, each a GoodEvent whose event has all 131 fields as stored", async () => {
      const { json: events } = await call(dashboard.base, "/micro/good");
      expect(events).toHaveLength(filled.good.length);
      const stored = new Map(filled.good.map((doc) => [doc.event_id, doc]));
      const times = events.map((event: any) => Date.parse(event.event.collector_tstamp));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      for (const event of events) {
        expect(Object.keys(event)).toEqual(["rawEvent", "eventType", "schema", "contexts", "event"]);
        expect(Object.keys(event.event)).toEqual([...ENRICHED_FIELDS]);
        const doc = stored.get(event.event.event_id)!;
        for (const field of ENRICHED_FIELDS) {
          if (field === "contexts" || field === "derived_contexts" || field === "unstruct_event") continue;
          expect([field, event.event[field]]).toEqual([field, doc[field] ?? null]);
        }
        expect(event.eventType).toBe(doc.event);
        expect(event.schema).toBe(`iglu:${doc.event_vendor}/${doc.event_name}/${doc.event_format}/${doc.event_version}`);
        expect(event.rawEvent.api).toEqual({ vendor: "com.snowplowanalytics.snowplow", version: "tp2" });
        expect(event.rawEvent.parameters.eid).toBe(doc.event_id);
        expect(event.rawEvent.parameters.aid).toBe(doc.app_id);
        // Entities: the tracker's in `contexts` (full URIs), the enrichments' in `derived_contexts`.
        const webPages = doc.contexts_com_snowplowanalytics_snowplow_web_page_1 ?? [];
        expect(event.contexts).toEqual(webPages.map(() => WEB_PAGE));
        expect(event.event.contexts).toEqual(webPages.length ? { schema: CONTEXTS, data: webPages.map((data: unknown) => ({ schema: WEB_PAGE, data })) } : {});
        const derived = event.event.derived_contexts;
        if (doc.contexts_com_snowplowanalytics_snowplow_ua_parser_context_1) {
          expect(derived.schema).toBe(CONTEXTS);
          expect(derived.data.map((entity: any) => entity.schema)).toContain("iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0");
        } else expect(derived).toEqual({});
      }
      const click = events.find((event: any) => event.event.app_id === "shop-web" && event.eventType === "unstruct");
      expect(click.schema).toBe(LINK_CLICK);
      expect(click.event.unstruct_event).toEqual({ schema: UNSTRUCT, data: { schema: LINK_CLICK, data: { targetUrl: "https://example.com/docs" } } });
      expect(JSON.parse(click.rawEvent.parameters.ue_pr)).toEqual(click.event.unstruct_event);
      expect(click.rawEvent.parameters.e).toBe("ue");
      const view = events.find((event: any) => event.eventType === "page_view");
      expect(view.event.unstruct_event).toBeNull();
      expect(view.rawEvent.parameters.e).toBe("pv");
      expect(view.rawEvent.parameters.url).toBe(view.event.page_url);
    });

    test("POST /micro/good with Micro's filters: event_type, schema, contexts (all of them), limit", async () => {
      const pageViews = (await call(dashboard.base, "/micro/good", { event_type: "page_view" })).json;
      expect(pageViews).toHaveLength(filled.good.filter((doc) => doc.event === "page_view").length);
      expect(pageViews.every((event: any) => event.eventType === "page_view")).toBe(true);
      const clicks = (await call(dashboard.base, "/micro/good", { schema: LINK_CLICK })).json;
      expect(clicks.map((event: any) => event.event.app_id).sort()).toEqual(["shop-app", "shop-web"]);
      const clicksOnPages = (await call(dashboard.base, "/micro/good", { schema: LINK_CLICK, contexts: [WEB_PAGE], limit: 10 })).json;
      expect(clicksOnPages.map((event: any) => event.event.app_id)).toEqual(["shop-web"]);
      expect((await call(dashboard.base, "/micro/good", { contexts: [WEB_PAGE, UNKNOWN_SCHEMA] })).json).toEqual([]);
      const newest = (await call(dashboard.base, "/micro/good", { event_type: "page_view", limit: 1 })).json;
      expect(newest).toEqual([pageViews[0]]);
      expect((await call(dashboard.base, "/micro/good", {})).json).toHaveLength(filled.good.length);
      const wrong = await call(dashboard.base, "/micro/good", { limit: "ten" });
      expect(wrong.status).toBe(400);
    });

    test("GET and POST /micro/bad: BadEvents with the collector payload and raw event their rows carry", async () => {
      const { json: bad } = await call(dashboard.base, "/micro/bad");
      expect(bad).toHaveLength(filled.bad.length);
      const byType = (type: string) => bad.filter((event: any) => typeOf(JSON.parse(event.errors[1])) === type);
      const violation = byType("schema_violations").find((event: any) => event.errors[1].includes(UNKNOWN_SCHEMA));
      expect(violation.errors[0]).toBe("Error while validating the event.");
      const row = JSON.parse(violation.errors[1]);
      expect(filled.bad).toContainEqual(row);
      const raw = row.data.payload.raw;
      expect(violation.rawEvent.api).toEqual({ vendor: "com.snowplowanalytics.snowplow", version: "tp2" });
      expect(violation.rawEvent.parameters).toEqual(Object.fromEntries(raw.parameters.map((p: any) => [p.name, p.value])));
      expect(violation.rawEvent.context).toEqual({ timestamp: raw.timestamp, ipAddress: raw.ipAddress, useragent: raw.useragent, refererUri: raw.refererUri, headers: raw.headers, userId: raw.userId });
      expect(violation.collectorPayload.querystring).toEqual(raw.parameters.map((p: any) => `${p.name}=${p.value}`));

      const adapter = byType("adapter_failures");
      expect(adapter).toHaveLength(2);
      expect(adapter[0].rawEvent).toBeNull();
      expect(adapter[0].errors[0]).toStartWith("Error while extracting event(s)");
      expect(adapter[0].collectorPayload.api).toEqual({ vendor: "com.acme", version: "v1" });
      expect(adapter.map((event: any) => event.collectorPayload.querystring).sort()).toEqual([["a=1", "b=2"], ["a=3", "b=4"]]);
      const sized = byType("size_violation")[0];
      expect(sized.collectorPayload).toBeNull();
      expect(sized.rawEvent).toBeNull();

      // Micro: a bad event passes when its collector payload's api matches, or when it has none.
      const acme = (await call(dashboard.base, "/micro/bad", { vendor: "com.acme", version: "v1" })).json;
      const withoutPayload = bad.filter((event: any) => event.collectorPayload === null).length;
      expect(acme).toHaveLength(2 + withoutPayload);
      expect(acme.every((event: any) => event.collectorPayload === null || event.collectorPayload.api.vendor === "com.acme")).toBe(true);
      expect((await call(dashboard.base, "/micro/bad", { limit: 1 })).json).toHaveLength(1);
    });

    test("/micro/iglu: a schema the registry has, 404 with the lookup history for one it lacks, 404 for a bad version", async () => {
      const found = await call(dashboard.base, "/micro/iglu/com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1");
      expect(found.status).toBe(200);
      expect(found.json.self).toEqual({ vendor: "com.snowplowanalytics.snowplow", name: "link_click", format: "jsonschema", version: "1-0-1" });
      const missing = await call(dashboard.base, "/micro/iglu/com.acme/unknown/jsonschema/1-0-0");
      expect(missing.status).toBe(404);
      expect(missing.json.error).toBe("ResolutionError");
      expect(missing.json.lookupHistory.length).toBeGreaterThan(0);
      expect((await call(dashboard.base, "/micro/iglu/com.acme/unknown/jsonschema/one")).status).toBe(404);
    });
  });
}

describe("/micro/reset with --allow-reset", () => {
  test("empties good and bad on SQLite", async () => {
    const db = join(filled.work, "reset.db");
    copyFileSync(filled.db, db);
    const dashboard = await startDashboard(["--db", db, "--allow-reset"], filled.work);
    try {
      expect((await call(dashboard.base, "/micro/all")).json.good).toBe(filled.good.length);
      const reset = await call(dashboard.base, "/micro/reset", {});
      expect([reset.status, reset.text]).toEqual([200, "Reset completed"]);
      expect((await call(dashboard.base, "/micro/all")).json).toEqual({ total: 0, good: 0, bad: 0 });
    } finally {
      await dashboard.stop();
    }
  }, 30_000);

  test.if(Boolean(process.env.ES_URL))("empties good and bad on Elasticsearch (indices deleted, the sinks' templates kept)", async () => {
    const prefix = uniqueName("dash-reset");
    const url = process.env.ES_URL!;
    const good = filled.good.map((doc) => JSON.stringify(doc) + "\n").join("");
    const sunk = await telemetry(["sink", "--es", url, "--index", `${prefix}-good`, "--mapping", "good", "--bad", "/dev/null", "--stats-interval", "0"], good);
    expect(sunk.code).toBe(0);
    await fetch(`${url}/${prefix}-good/_refresh`, { method: "POST" });
    const dashboard = await startDashboard(["--es", url, "--good-index", `${prefix}-good`, "--bad-index", `${prefix}-bad`, "--allow-reset"], filled.work);
    try {
      expect((await call(dashboard.base, "/micro/all")).json.good).toBe(filled.good.length);
      expect((await call(dashboard.base, "/micro/reset")).text).toBe("Reset completed");
      expect((await call(dashboard.base, "/micro/all")).json).toEqual({ total: 0, good: 0, bad: 0 });
    } finally {
      await dashboard.stop();
    }
  }, 60_000);
});
