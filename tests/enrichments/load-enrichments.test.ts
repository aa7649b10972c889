import { describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../stages/shared/config-error";
import { Resolver } from "../../stages/iglu/resolver";
import { loadEnrichments } from "../../stages/enrich/enrichments";
import { CHROME_WINDOWS, context, loadFrom, sdConfig } from "./helpers";

const CONFIGS = join(import.meta.dir, "configs");
const ANON_IP = "iglu:com.snowplowanalytics.snowplow/anon_ip/jsonschema/1-0-1";

async function configError(files: Record<string, object | string>): Promise<string> {
  const error = await loadFrom(files).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as Error).message;
}

describe("loadEnrichments", () => {
  test("with no directory: the four Snowplow Mini enrichments, in processing order", async () => {
    const enrichments = await loadEnrichments();
    expect(enrichments.map((enrichment) => enrichment.name)).toEqual(["ua_parser_config", "referer_parser", "campaign_attribution", "event_fingerprint_config"]);
    expect(enrichments.map((enrichment) => enrichment.schemaKey)).toContain("iglu:com.snowplowanalytics.snowplow/event_fingerprint_config/jsonschema/1-0-0");
  });

  test("the Mini defaults enrich a page view: ua context, search referer, utm fields, MD5 fingerprint without eid and stm", async () => {
    const ctx = context(
      {
        useragent: CHROME_WINDOWS,
        page_url: "https://www.example.com/landing?utm_source=google&utm_medium=cpc",
        page_urlhost: "www.example.com",
        page_referrer: "https://www.google.com/search?q=example+shoes",
      },
      { parameters: { e: "pv", eid: "1f6ad9bd-0f5c-4a8a-b0b5-1e9b1f1e0c11", stm: "1764300000123", tv: "js-4.8.0" } },
    );
    for (const enrichment of await loadEnrichments()) await enrichment.apply(ctx);
    expect(ctx.derived.map((entity) => entity.schema)).toEqual(["iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0"]);
    expect([ctx.event.refr_medium, ctx.event.refr_source, ctx.event.refr_term]).toEqual(["search", "Google", "example shoes"]);
    expect([ctx.event.mkt_source, ctx.event.mkt_medium]).toEqual(["google", "cpc"]);
    expect(ctx.event.event_fingerprint).toBe(new Bun.CryptoHasher("md5").update("e\u001fpv\u001ftv\u001fjs-4.8.0\u001f").digest("hex"));
  });

  test("a directory of real Snowplow config files: every enabled one, in Snowplow's order; disabled and non-JSON files skipped", async () => {
    const enrichments = await loadEnrichments(CONFIGS);
    expect(enrichments.map((enrichment) => enrichment.name)).toEqual([
      "iab_spiders_and_robots_enrichment",
      "ua_parser_config",
      "referer_parser",
      "campaign_attribution",
      "event_fingerprint_config",
      "cookie_extractor_config",
      "http_header_extractor_config",
      "ip_lookups",
      "javascript_script_config",
      "anon_ip",
      "pii_enrichment_config",
    ]);
  });

  test("the full chain runs on one event: geo from the real address before anon_ip masks it, JS entity, PII last", async () => {
    const ctx = context(
      { app_id: "shop", user_id: "jane", useragent: CHROME_WINDOWS, user_ipaddress: "128.101.101.101", page_urlhost: "www.example.com" },
      { headers: ["Cookie: sp=abc-123", "X-Forwarded-For: 128.101.101.101"], parameters: { e: "pv" } },
    );
    for (const enrichment of await loadEnrichments(CONFIGS)) await enrichment.apply(ctx);
    expect(ctx.event.geo_city).toBe("Minneapolis");
    expect(ctx.event.user_ipaddress).toBe("128.101.x.x");
    expect(ctx.event.user_id).toBe(new Bun.CryptoHasher("sha1").update("janepepper123").digest("hex"));
    expect(ctx.derived.map((entity) => entity.schema)).toEqual([
      "iglu:com.iab.snowplow/spiders_and_robots/jsonschema/1-0-0",
      "iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0",
      "iglu:org.ietf/http_cookie/jsonschema/1-0-0",
      "iglu:org.ietf/http_header/jsonschema/1-0-0",
      "iglu:com.acme/app/jsonschema/1-0-0",
    ]);
  });

  test("the config's own schema is checked when the resolver has it", async () => {
    const registry = await mkdtemp(join(tmpdir(), "telemetry-registry-"));
    try {
      const schemaDir = join(registry, "schemas", "com.snowplowanalytics.snowplow", "anon_ip", "jsonschema");
      await mkdir(schemaDir, { recursive: true });
      await writeFile(
        join(schemaDir, "1-0-1"),
        JSON.stringify({
          $schema: "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
          self: { vendor: "com.snowplowanalytics.snowplow", name: "anon_ip", format: "jsonschema", version: "1-0-1" },
          type: "object",
          properties: { vendor: { type: "string" }, name: { type: "string" }, enabled: { type: "boolean" }, parameters: { type: "object" } },
          required: ["vendor", "name", "enabled", "parameters"],
          additionalProperties: false,
        }),
      );
      const resolver = await Resolver.load(registry);
      const configs = join(registry, "enrichments");
      await mkdir(configs);
      // Our own parameter checks accept this; only the schema knows "vendor" is required.
      await writeFile(join(configs, "anon_ip.json"), JSON.stringify({ schema: ANON_IP, data: { name: "anon_ip", enabled: true, parameters: { anonOctets: 1 } } }));
      await expect(loadEnrichments(configs, resolver)).rejects.toThrow(`${join(configs, "anon_ip.json")} does not match its schema ${ANON_IP}`);
      await writeFile(join(configs, "anon_ip.json"), JSON.stringify(sdConfig(ANON_IP, { anonOctets: 1 })));
      expect((await loadEnrichments(configs, resolver)).map((enrichment) => enrichment.name)).toEqual(["anon_ip"]);
    } finally {
      await rm(registry, { recursive: true, force: true });
    }
  });
});

describe("a broken config is one clear sentence naming the file", () => {
  test("not JSON", async () => {
    expect(await configError({ "anon_ip.json": "{ \"schema\": " })).toMatch(/anon_ip\.json is not a readable JSON enrichment config \(.+\)\.$/);
  });

  test("not self-describing, or without enabled", async () => {
    expect(await configError({ "x.json": { data: {} } })).toMatch(/x\.json is not a valid enrichment config: it has no "schema" string/);
    expect(await configError({ "x.json": { schema: ANON_IP, data: { parameters: {} } } })).toMatch(/x\.json is not a valid enrichment config: data\.enabled must be true or false\.$/);
  });

  test("a parameter of the wrong type names the parameter", async () => {
    const message = await configError({ "campaign.json": sdConfig("iglu:com.snowplowanalytics.snowplow/campaign_attribution/jsonschema/1-0-1", { fields: { mktMedium: "utm_medium" } }) });
    expect(message).toMatch(/campaign\.json is not a valid campaign_attribution config: parameters\.fields\.mktMedium must be a list of strings\.$/);
  });

  test("an enabled enrichment telemetry does not implement, or one nobody knows", async () => {
    const weather = sdConfig("iglu:com.snowplowanalytics.snowplow.enrichments/weather_enrichment_config/jsonschema/1-0-0", { apiKey: "k" });
    expect(await configError({ "weather.json": weather })).toContain("weather.json enables the weather_enrichment_config enrichment, which telemetry does not implement");
    expect(await configError({ "mine.json": sdConfig("iglu:com.acme/my_enrichment/jsonschema/1-0-0", {}) })).toContain("which is not a Snowplow enrichment telemetry knows");
  });

  test("a schema version this implementation does not read", async () => {
    const message = await configError({ "ip.json": sdConfig("iglu:com.snowplowanalytics.snowplow/ip_lookups/jsonschema/1-0-0", { geo: { database: "GeoLiteCity.dat", uri: "http://x" } }) });
    expect(message).toContain("ip.json uses schema version 1-0-0 of com.snowplowanalytics.snowplow/ip_lookups; telemetry reads iglu:com.snowplowanalytics.snowplow/ip_lookups/jsonschema/2-*-*");
  });

  test("two files enabling the same enrichment", async () => {
    const anon = sdConfig(ANON_IP, { anonOctets: 1 });
    expect(await configError({ "a.json": anon, "b.json": anon })).toMatch(/b\.json and .*a\.json both configure anon_ip; keep one\.$/);
  });

  test("a directory that does not exist", async () => {
    await expect(loadEnrichments("/nonexistent/enrichments")).rejects.toThrow("The enrichments directory /nonexistent/enrichments cannot be read (ENOENT).");
  });

  test("a disabled config for an unimplemented enrichment is fine", async () => {
    const disabled = { ...sdConfig("iglu:com.snowplowanalytics.snowplow/user_agent_utils_config/jsonschema/1-0-0", {}), data: { vendor: "com.snowplowanalytics.snowplow", name: "user_agent_utils_config", enabled: false, parameters: {} } };
    expect(await loadFrom({ "uau.json": disabled })).toEqual([]);
  });
});

test("config/enrichments, loaded as a directory, gives the same enrichments as the built-in defaults", async () => {
  const fromFiles = await loadEnrichments(join(import.meta.dir, "..", "..", "config", "enrichments"));
  const builtIn = await loadEnrichments();
  expect(fromFiles.map((enrichment) => enrichment.schemaKey)).toEqual(builtIn.map((enrichment) => enrichment.schemaKey));
});
