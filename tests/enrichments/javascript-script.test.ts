import { describe, expect, test } from "bun:test";
import { EnrichmentError } from "../../stages/enrich/enrichments/types";
import { CHROME_WINDOWS, context, failureOf, run, single } from "./helpers";

const CONFIG = "iglu:com.snowplowanalytics.snowplow/javascript_script_config/jsonschema/1-0-0";
const base64 = (script: string) => Buffer.from(script, "utf8").toString("base64");

/** The kind of script Snowplow's documentation shows: reads the event through getters, returns entities. */
const APP_CONTEXT = `
function process(event) {
  var appId = event.getApp_id();
  if (appId == null) return [];
  event.setUser_id(appId + ":" + event.getUser_id());
  return [{
    schema: "iglu:com.acme/app_owner/jsonschema/1-0-0",
    data: { appId: appId, ua: event.useragent, collectedAt: event.getCollector_tstamp() }
  }];
}`;

describe("javascript_script_config", () => {
  test("process(event) sees the columns, its entities become derived contexts, and its edits are kept", async () => {
    const enrichment = await single(CONFIG, { script: base64(APP_CONTEXT) });
    const ctx = await run(enrichment, context({ app_id: "shop", user_id: "u-42", useragent: CHROME_WINDOWS, collector_tstamp: Date.UTC(2025, 10, 28, 3, 20, 0, 5) }));
    expect(ctx.derived).toEqual([
      { schema: "iglu:com.acme/app_owner/jsonschema/1-0-0", data: { appId: "shop", ua: CHROME_WINDOWS, collectedAt: "2025-11-28 03:20:00.005" } },
    ]);
    expect(ctx.event.user_id).toBe("shop:u-42");
    expect(ctx.event.app_id).toBe("shop");
  });

  test("typed columns come back typed: a number, a boolean and a timestamp set by the script", async () => {
    const script = `function process(event) {
      event.setSe_value("12.5"); event.br_cookies = true; event.setTrue_tstamp("2025-01-02 03:04:05.678"); return [];
    }`;
    const { event } = await run(await single(CONFIG, { script: base64(script) }), context());
    expect(event.se_value).toBe(12.5);
    expect(event.br_cookies).toBe(true);
    expect(event.true_tstamp).toBe(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
  });

  test("a timestamp outside years 0–9999 set by the script fails the event instead of reaching the output", async () => {
    for (const value of ["1e20", "-1e20", `"99999-01-01 00:00:00.000"`]) {
      const script = `function process(event) { event.setTrue_tstamp(${value}); return []; }`;
      const failure = await failureOf(await single(CONFIG, { script: base64(script) }), context());
      expect((failure as Error).message).toContain("true_tstamp");
    }
  });

  test("params (parameters.config) and the request headers are passed as Snowplow passes them", async () => {
    const script = `function process(event, params, headers) {
      return [{ schema: "iglu:com.acme/seen/jsonschema/1-0-0", data: { region: params.region, headers: headers.length } }];
    }`;
    const ctx = await run(await single(CONFIG, { script: base64(script), config: { region: "eu" } }), context({}, { headers: ["Host: a", "Accept: */*"] }));
    expect(ctx.derived[0]!.data).toEqual({ region: "eu", headers: 2 });
  });

  test("a throw becomes an EnrichmentError with the config's schema key and the message", async () => {
    const script = `function process(event) { throw new Error("no app id for " + event.getEvent_id()); }`;
    const failure = await failureOf(await single(CONFIG, { script: base64(script) }), context({ event_id: "e-1" }));
    expect(failure).toBeInstanceOf(EnrichmentError);
    expect((failure as EnrichmentError).enrichment).toEqual({ schemaKey: CONFIG, identifier: "Javascript enrichment" });
    expect((failure as Error).message).toContain("no app id for e-1");
  });

  test("a return value that is not an array of self-describing JSONs is a failure", async () => {
    for (const returned of [`{ schema: "x" }`, `[{ data: 1 }]`, `[{ schema: "not-iglu", data: {} }]`]) {
      const enrichment = await single(CONFIG, { script: base64(`function process() { return ${returned}; }`) });
      expect(await failureOf(enrichment, context())).toBeInstanceOf(EnrichmentError);
    }
  });

  test("an endless loop is stopped by the timeout and fails that event only", async () => {
    const script = `function process(event) { if (event.getApp_id() === "loop") { while (true) {} } return []; }`;
    const enrichment = await single(CONFIG, { script: base64(script) });
    expect(((await failureOf(enrichment, context({ app_id: "loop" }))) as Error).message).toContain("timed out");
    expect((await run(enrichment, context({ app_id: "fine" }))).derived).toEqual([]);
  });

  test("work deferred to promises counts against the event's time, and the next event runs normally", async () => {
    const script = `function process(event) {
      if (event.getApp_id() === "defer") Promise.resolve().then(function () { while (true) {} });
      return [{ schema: "iglu:com.acme/seen/jsonschema/1-0-0", data: { app: event.getApp_id() } }];
    }`;
    const enrichment = await single(CONFIG, { script: base64(script) });
    expect(((await failureOf(enrichment, context({ app_id: "defer" }))) as Error).message).toContain("timed out");
    expect((await run(enrichment, context({ app_id: "fine" }))).derived[0]!.data).toEqual({ app: "fine" });
  });

  test("what vm's timeout does not cover is cut off too: a thrown value whose message never ends to read", async () => {
    const script = `function process(event) {
      if (event.getApp_id() === "trap") throw { get message() { while (true) {} } };
      return [{ schema: "iglu:com.acme/seen/jsonschema/1-0-0", data: { app: event.getApp_id() } }];
    }`;
    const enrichment = await single(CONFIG, { script: base64(script) });
    expect(((await failureOf(enrichment, context({ app_id: "trap" }))) as Error).message).toContain("timed out");
    // The stuck thread was replaced by one that evaluated the script afresh.
    expect((await run(enrichment, context({ app_id: "fine" }))).derived[0]!.data).toEqual({ app: "fine" });
  });

  test("a script that replaces JSON.stringify or leaves FinalizationRegistry callbacks gets no hold on enrich", async () => {
    const script = `var registry = typeof FinalizationRegistry;
      function process(event) {
        if (event.getApp_id() === "json") JSON.stringify = function () { return { not: "text" }; };
        return [{ schema: "iglu:com.acme/seen/jsonschema/1-0-0", data: { registry: registry } }];
      }`;
    const enrichment = await single(CONFIG, { script: base64(script) });
    expect((await run(enrichment, context())).derived[0]!.data).toEqual({ registry: "undefined" });
    expect(((await failureOf(enrichment, context({ app_id: "json" }))) as Error).message).toContain("returned no text");
  });

  test("the script cannot reach our process, modules or globals", async () => {
    const script = `function process() {
      var reach = {
        process: typeof process === "function" ? "own" : typeof process,
        require: typeof require, bun: typeof Bun, fetch: typeof fetch, console: typeof console,
        // The classic escapes reach a realm's Function; ours would see Bun and an object-typed process.
        viaGlobalConstructor: this.constructor.constructor("return typeof Bun + '/' + typeof globalThis.process")(),
        viaObjectConstructor: ({}).constructor.constructor("return typeof Bun + '/' + typeof globalThis.process")()
      };
      return [{ schema: "iglu:com.acme/reach/jsonschema/1-0-0", data: reach }];
    }`;
    const ctx = await run(await single(CONFIG, { script: base64(script) }), context());
    expect(ctx.derived[0]!.data).toEqual({
      process: "own", require: "undefined", bun: "undefined", fetch: "undefined", console: "undefined",
      viaGlobalConstructor: "undefined/function", viaObjectConstructor: "undefined/function",
    });
    expect(typeof globalThis.process.exit).toBe("function");
  });

  test("contexts are readable as Snowplow's wrapped JSON string but cannot be replaced", async () => {
    const reads = `function process(event) { var c = JSON.parse(event.getContexts()); return [{ schema: "iglu:com.acme/count/jsonschema/1-0-0", data: { n: c.data.length, wrapper: c.schema } }]; }`;
    const entity = { schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", data: { id: "0b8f3f0c-1d3c-4f0e-9d50-3b8a0c0f9c11" } };
    const ctx = await run(await single(CONFIG, { script: base64(reads) }), context({ contexts: [entity] }));
    expect(ctx.derived[0]!.data).toEqual({ n: 1, wrapper: "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0" });
    const writes = `function process(event) { event.setContexts("{}"); return []; }`;
    expect(((await failureOf(await single(CONFIG, { script: base64(writes) }), context())) as Error).message).toContain("contexts cannot be replaced");
  });

  test("a script that does not compile, or is empty, is a config error", async () => {
    await expect(single(CONFIG, { script: base64("function process( {") })).rejects.toThrow("parameters.script does not run");
    await expect(single(CONFIG, { script: "" })).rejects.toThrow("parameters.script is empty");
  });
});
