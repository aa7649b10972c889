import { describe, expect, test } from "bun:test";
import { adapt, apiOf } from "../../stages/enrich/adapters";
import { parseQuerystring } from "../../stages/enrich/querystring";
import type { RawRecord } from "../../stages/shared/raw-record";
import { badRows, badRowType, embeddedResolver, entities, getRecord, goodEvent, goodEvents, postRecord, rawRecord, base64url } from "./helpers";

async function adapted(raw: RawRecord) {
  const api = apiOf(raw.path);
  if (api === null) throw new Error(`no api for ${raw.path}`);
  return adapt(api, { raw, querystring: parseQuerystring(raw.querystring), resolver: await embeddedResolver() });
}

const LINK_CLICK = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1";
const WEB_PAGE = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0";
const PAGE_ID = "0b9a1e2c-3d4f-4a5b-8c6d-7e8f9a0b1c2d";

describe("routing by path", () => {
  test("ice paths are tp1, /vendor/version is read as such, anything else is not an api", () => {
    expect(apiOf("/i")).toEqual({ vendor: "com.snowplowanalytics.snowplow", version: "tp1" });
    expect(apiOf("/ice.png")).toEqual({ vendor: "com.snowplowanalytics.snowplow", version: "tp1" });
    expect(apiOf("/com.snowplowanalytics.snowplow/tp2")).toEqual({ vendor: "com.snowplowanalytics.snowplow", version: "tp2" });
    expect(apiOf("/r/tp2")).toEqual({ vendor: "r", version: "tp2" });
    expect(apiOf("/favicon.ico")).toBeNull();
    expect(apiOf("/a/b/c")).toBeNull();
  });

  test("an unknown vendor/version is an adapter failure naming the combination", async () => {
    const [row] = await badRows(getRecord({ e: "pv" }, { path: "/com.acme/v9" }));
    expect(badRowType(row!)).toBe("adapter_failures");
    const failure = row!.data.failure as { vendor: string; version: string; messages: { value: string }[] };
    expect([failure.vendor, failure.version]).toEqual(["com.acme", "v9"]);
    expect(failure.messages[0]!.value).toBe("com.acme/v9");
  });
});

describe("tp1", () => {
  test.each(["/i", "/ice.png", "/com.snowplowanalytics.snowplow/tp1"])("%s carries one event in its querystring", async (path) => {
    const event = await goodEvent(getRecord({ e: "pv", p: "web", tv: "js-3.5.0", aid: "shop" }, { path }));
    expect([event.event, event.app_id, event.v_tracker]).toEqual(["page_view", "shop", "js-3.5.0"]);
  });

  test("an empty querystring is an adapter failure", async () => {
    const [row] = await badRows(rawRecord({ path: "/i", querystring: "" }));
    expect(badRowType(row!)).toBe("adapter_failures");
    expect((row!.data.failure as { messages: { field: string }[] }).messages[0]!.field).toBe("querystring");
  });
});

describe("tp2", () => {
  test("GET: one event from the querystring", async () => {
    const result = await adapted(getRecord({ e: "se", p: "mob", tv: "t", se_ca: "c" }));
    expect(result).toEqual({ ok: true, events: [expect.objectContaining({ e: "se", se_ca: "c" })] });
  });

  test("POST: each event of the batch, with querystring parameters winning", async () => {
    const raw = postRecord(
      [
        { e: "pv", p: "web", tv: "js", aid: "from-body" },
        { e: "pp", p: "web", tv: "js", aid: "from-body" },
      ],
      { querystring: "aid=from-querystring" },
    );
    const events = await goodEvents(raw);
    expect(events.map((event) => event.event)).toEqual(["page_view", "page_ping"]);
    expect(events.map((event) => event.app_id)).toEqual(["from-querystring", "from-querystring"]);
  });

  const violation = async (raw: RawRecord) => {
    const rows = await badRows(raw);
    expect(rows.map(badRowType)).toEqual(["tracker_protocol_violations"]);
    const data = rows[0]!.data as unknown as { failure: { messages: Record<string, unknown>[] }; payload: Record<string, unknown> };
    expect(data.payload.vendor).toBe("com.snowplowanalytics.snowplow");
    expect(data.payload.body).toBe(raw.body ?? null);
    return data.failure.messages;
  };

  test("a content type Enrich does not accept", async () => {
    const [message] = await violation(postRecord([{ e: "pv", p: "web", tv: "js" }], { contentType: "text/plain" }));
    expect(message).toMatchObject({ field: "contentType", value: "text/plain" });
  });

  test("a body that is not JSON", async () => {
    const [message] = await violation(rawRecord({ body: "{nope", contentType: "application/json" }));
    expect(message).toMatchObject({ field: "body", value: "{nope" });
    expect(message!.error).toBeString();
  });

  test("a body that is not self-describing", async () => {
    const [message] = await violation(rawRecord({ body: '[{"e":"pv"}]', contentType: "application/json" }));
    expect(message).toEqual({ json: [{ e: "pv" }], error: "INVALID_DATA_PAYLOAD" });
  });

  test("a self-describing body that is not payload_data", async () => {
    const body = entities({ schema: WEB_PAGE, data: { id: "x" } });
    const [message] = await violation(rawRecord({ body, contentType: "application/json" }));
    expect(message).toEqual({
      schemaKey: "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
      schemaCriterion: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-*",
    });
  });

  test("payload_data 1-0-4 refuses keys it does not list (cv) and events without tv", async () => {
    const [unknownKey] = await violation(postRecord([{ e: "pv", p: "web", tv: "js", cv: "x" }]));
    expect(unknownKey).toMatchObject({ schemaKey: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", error: { error: "ValidationError" } });
    const [missingTv] = await violation(postRecord([{ e: "pv", p: "web" }]));
    expect((missingTv!.error as { dataReports: { message: string }[] }).dataReports.map((report) => report.message).join(" ")).toContain("tv");
  });

  test("a value that is not a string", async () => {
    const messages = await violation(
      rawRecord({
        body: JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-0", data: [{ e: "pv", p: "web", tv: "js", vid: 3 }] }),
        contentType: "application/json",
      }),
    );
    expect(JSON.stringify(messages)).toContain("vid");
  });

  test("an empty batch, and a request with neither body nor querystring", async () => {
    await violation(rawRecord({ body: JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-0", data: [] }), contentType: "application/json" }));
    const [message] = await violation(rawRecord({ querystring: "" }));
    expect(message).toMatchObject({ field: "body", value: null });
  });
});

describe("r/tp2 (click redirect)", () => {
  test("the target alone becomes a uri_redirect self-describing event", async () => {
    const event = await goodEvent(rawRecord({ path: "/r/tp2", querystring: "u=https%3A%2F%2Fexample.com%2Flanding" }));
    expect(event.event).toBe("unstruct");
    expect(event.v_tracker).toBe("r-tp2");
    expect(event.platform).toBe("web");
    expect(event.unstruct_event).toEqual({
      schema: "iglu:com.snowplowanalytics.snowplow/uri_redirect/jsonschema/1-0-0",
      data: { uri: "https://example.com/landing" },
    });
  });

  test("with an event type, the redirect is put first among the event's entities", async () => {
    const cx = base64url(entities({ schema: WEB_PAGE, data: { id: PAGE_ID } }));
    const event = await goodEvent(rawRecord({ path: "/r/tp2", querystring: `u=https%3A%2F%2Fexample.com&e=pv&p=mob&cx=${cx}` }));
    expect(event.event).toBe("page_view");
    expect(event.platform).toBe("mob");
    expect(event.contexts.map((entity) => entity.schema)).toEqual([
      "iglu:com.snowplowanalytics.snowplow/uri_redirect/jsonschema/1-0-0",
      WEB_PAGE,
    ]);
  });

  test("without a target it is a tracker protocol violation", async () => {
    const rows = await badRows(rawRecord({ path: "/r/tp2", querystring: "e=pv" }));
    expect(rows.map(badRowType)).toEqual(["tracker_protocol_violations"]);
    expect((rows[0]!.data.payload as { version: string }).version).toBe("tp2");
  });
});

describe("Iglu webhook (/com.snowplowanalytics.iglu/v1)", () => {
  const path = "/com.snowplowanalytics.iglu/v1";

  test("GET: schema from the querystring, the other fields as its data", async () => {
    const event = await goodEvent(rawRecord({ path, querystring: `schema=${encodeURIComponent(LINK_CLICK)}&targetUrl=http%3A%2F%2Fa.example&elementId=x` }));
    expect(event.event).toBe("unstruct");
    expect(event.v_tracker).toBe("com.snowplowanalytics.iglu-v1");
    expect(event.platform).toBe("app");
    expect(event.unstruct_event).toEqual({ schema: LINK_CLICK, data: { targetUrl: "http://a.example", elementId: "x" } });
    expect([event.event_vendor, event.event_name, event.event_version]).toEqual(["com.snowplowanalytics.snowplow", "link_click", "1-0-1"]);
  });

  test("POST: a self-describing JSON body; tracker parameters in the querystring are kept", async () => {
    const body = JSON.stringify({ schema: LINK_CLICK, data: { targetUrl: "http://b.example" } });
    const event = await goodEvent(rawRecord({ path, querystring: "aid=hook&p=srv", body, contentType: "application/json" }));
    expect([event.app_id, event.platform]).toEqual(["hook", "srv"]);
    expect(event.unstruct_event).toEqual({ schema: LINK_CLICK, data: { targetUrl: "http://b.example" } });
  });

  test("POST: a JSON array with the schema in the querystring makes one event per element", async () => {
    const body = JSON.stringify([{ targetUrl: "http://c.example" }, { targetUrl: "http://d.example" }]);
    const events = await goodEvents(rawRecord({ path, querystring: `schema=${encodeURIComponent(LINK_CLICK)}`, body, contentType: "application/json" }));
    expect(events.map((event) => (event.unstruct_event!.data as { targetUrl: string }).targetUrl)).toEqual(["http://c.example", "http://d.example"]);
    expect(new Set(events.map((event) => event.event_id)).size).toBe(2);
  });

  test("POST: a form body, platform srv", async () => {
    const event = await goodEvent(
      rawRecord({ path, querystring: `schema=${encodeURIComponent(LINK_CLICK)}`, body: "targetUrl=http%3A%2F%2Fe.example", contentType: "application/x-www-form-urlencoded" }),
    );
    expect(event.platform).toBe("srv");
    expect(event.unstruct_event!.data).toEqual({ targetUrl: "http://e.example" });
  });

  test("without a schema anywhere it is an adapter failure; data failing its schema is a schema violation", async () => {
    expect((await badRows(rawRecord({ path, querystring: "targetUrl=x" }))).map(badRowType)).toEqual(["adapter_failures"]);
    const invalid = await badRows(rawRecord({ path, querystring: `schema=${encodeURIComponent(LINK_CLICK)}&nonsense=1` }));
    expect(invalid.map(badRowType)).toEqual(["schema_violations"]);
  });
});
