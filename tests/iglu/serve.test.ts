/** `telemetry iglu serve` as a real process over HTTP: reads, publishing rules, keys, validation. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Resolver } from "../../stages/iglu/resolver";
import { removeDir, startRegistry, temporaryRegistry, type RunningRegistry } from "./serve-process";

const SUPER = "0b5a3e0e-6c1f-4d62-9a57-2f0b8f6e9d11";
const META = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#";

function schemaFor(vendor: string, name: string, version: string, properties: object = { a: { type: "string" } }) {
  return {
    $schema: META,
    description: "test schema",
    self: { vendor, name, format: "jsonschema", version },
    type: "object",
    properties,
    additionalProperties: false,
  };
}

let registry: RunningRegistry;
let keys: { read: string; write: string };
let otherVendorKeys: { read: string; write: string };

async function call(method: string, path: string, options: { key?: string; body?: unknown } = {}) {
  const response = await fetch(`${registry.api}${path}`, {
    method,
    headers: { ...(options.key ? { apikey: options.key } : {}), "content-type": "application/json" },
    body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

beforeAll(async () => {
  registry = await startRegistry(temporaryRegistry("com.snowplowanalytics.self-desc", "com.snowplowanalytics.snowplow"), {
    TELEMETRY_SUPER_API_KEY: SUPER,
  });
  keys = (await call("POST", "/auth/keygen", { key: SUPER, body: { vendorPrefix: "com.acme" } })).json;
  otherVendorKeys = (await call("POST", "/auth/keygen", { key: SUPER, body: { vendorPrefix: "com.other" } })).json;
});

afterAll(async () => {
  await registry.stop();
  removeDir(registry.dir);
});

describe("iglu serve", () => {
  test("states the bound address on stderr and answers health", async () => {
    expect(registry.startupLine).toMatch(/http:\/\/127\.0\.0\.1:\d+\/api/);
    expect(registry.startupLine).not.toContain(":0/");
    const response = await fetch(`${registry.api}/meta/health`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("OK");
  });

  test("reads and lists the schemas of its folder", async () => {
    const one = await call("GET", "/schemas/com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1");
    expect(one.status).toBe(200);
    expect(one.json.self).toEqual({ vendor: "com.snowplowanalytics.snowplow", name: "link_click", format: "jsonschema", version: "1-0-1" });
    const model = await call("GET", "/schemas/com.snowplowanalytics.snowplow/payload_data/jsonschema/1");
    expect(model.json).toEqual([0, 1, 2, 3, 4].map((a) => `iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-${a}`));
    const all = await call("GET", "/schemas");
    expect(all.json).toContain("iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0");
    const meta = await call("GET", "/schemas/com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0?repr=meta");
    expect(meta.json.metadata.isPublic).toBe(true);
    expect((await call("GET", "/schemas/com.acme/none/jsonschema/1-0-0")).status).toBe(404);
  });

  test("keygen needs the super key; a malformed key is a 400", async () => {
    expect(keys.read).not.toBe(keys.write);
    expect((await call("POST", "/auth/keygen", { body: { vendorPrefix: "com.acme" } })).status).toBe(401);
    expect((await call("POST", "/auth/keygen", { key: keys.write, body: { vendorPrefix: "com.acme" } })).status).toBe(403);
    expect((await call("GET", "/schemas", { key: "not-a-uuid" })).status).toBe(400);
  });

  test("publishing is refused without a key, with a read key, and outside the key's vendor prefix", async () => {
    const schema = schemaFor("com.acme", "refused", "1-0-0");
    expect((await call("POST", "/schemas?isPublic=true", { body: schema })).status).toBe(401);
    expect((await call("POST", "/schemas?isPublic=true", { key: keys.read, body: schema })).status).toBe(403);
    expect((await call("POST", "/schemas?isPublic=true", { key: otherVendorKeys.write, body: schema })).status).toBe(403);
    expect(existsSync(join(registry.dir, "com.acme/refused"))).toBe(false);
  });

  test("a write key publishes; the schema is then on disk and resolvable over HTTP", async () => {
    const schema = schemaFor("com.acme.shop", "checkout", "1-0-0", { total: { type: "number" } });
    const created = await call("POST", "/schemas?isPublic=true", { key: keys.write, body: schema });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ message: "Schema created", location: "iglu:com.acme.shop/checkout/jsonschema/1-0-0" });
    const onDisk = JSON.parse(readFileSync(join(registry.dir, "com.acme.shop/checkout/jsonschema/1-0-0"), "utf8"));
    expect(onDisk).toEqual(schema);
    const leftovers = readdirSync(join(registry.dir, "com.acme.shop/checkout/jsonschema")).filter((f) => f !== "1-0-0");
    expect(leftovers).toEqual([]);

    const resolver = await Resolver.load(registry.api);
    expect((await resolver.validate("iglu:com.acme.shop/checkout/jsonschema/1-0-0", { total: 3 })).ok).toBe(true);
    const invalid = await resolver.validate("iglu:com.acme.shop/checkout/jsonschema/1-0-0", { total: "3" });
    expect(invalid.ok).toBe(false);
    if (!invalid.ok) expect(invalid.igluError.error).toBe("ValidationError");
  });

  test("PUT takes a bare JSON Schema and makes it self-describing; a mismatching self is a 400", async () => {
    const put = await call("PUT", "/schemas/com.acme/bare/jsonschema/1-0-0?isPublic=true", {
      key: keys.write,
      body: { type: "object", properties: { b: { type: "integer" } } },
    });
    expect(put.status).toBe(201);
    const stored = (await call("GET", "/schemas/com.acme/bare/jsonschema/1-0-0")).json;
    expect(stored.self.version).toBe("1-0-0");
    expect(stored.$schema).toBe(META);
    const mismatch = await call("PUT", "/schemas/com.acme/bare/jsonschema/1-0-1?isPublic=true", {
      key: keys.write,
      body: schemaFor("com.acme", "bare", "1-0-2"),
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json).toMatchObject({ uriSchemaKey: "iglu:com.acme/bare/jsonschema/1-0-1", payloadSchemaKey: "iglu:com.acme/bare/jsonschema/1-0-2" });
  });

  test("an invalid schema is a 400 with the reasons, and is not written", async () => {
    const bad = { ...schemaFor("com.acme", "broken", "1-0-0"), properties: { n: { type: "integer", minimum: 10, maximum: 1 } }, required: ["missing"] };
    const response = await call("POST", "/schemas", { key: keys.write, body: bad });
    expect(response.status).toBe(400);
    const linters = response.json.report.map((r: { message: string }) => r.message).join("\n");
    expect(linters).toContain("minimum is greater than maximum");
    expect(linters).toContain('required property "missing"');
    expect(existsSync(join(registry.dir, "com.acme/broken"))).toBe(false);
    const notJson = await call("POST", "/schemas", { key: keys.write, body: "{nope" });
    expect(notJson.status).toBe(400);
  });

  test("versions out of sequence and duplicates are refused", async () => {
    const post = (version: string) => call("POST", "/schemas?isPublic=true", { key: keys.write, body: schemaFor("com.acme", "seq", version) });
    expect((await post("1-0-1")).status).toBe(409);
    expect((await post("1-0-0")).status).toBe(201);
    expect((await post("1-0-0")).status).toBe(409);
    expect((await post("1-0-2")).status).toBe(409);
    expect((await post("2-0-0")).status).toBe(201);
    expect((await post("1-1-0")).status).toBe(201);
    // An addition to revision 1-0 after revision 1-1 exists is refused.
    expect((await post("1-0-1")).status).toBe(409);
    expect((await post("3-1-0")).status).toBe(409);
    const listed = (await call("GET", "/schemas/com.acme/seq")).json;
    expect(listed).toEqual(["1-0-0", "1-1-0", "2-0-0"].map((v) => `iglu:com.acme/seq/jsonschema/${v}`));
  });

  test("private schemas are hidden from anonymous readers but not from the vendor's keys", async () => {
    expect((await call("POST", "/schemas?isPublic=false", { key: keys.write, body: schemaFor("com.acme", "secret", "1-0-0") })).status).toBe(201);
    expect((await call("GET", "/schemas/com.acme/secret/jsonschema/1-0-0")).status).toBe(404);
    expect((await call("GET", "/schemas/com.acme/secret/jsonschema/1-0-0", { key: keys.read })).status).toBe(200);
    expect((await call("GET", "/schemas/com.acme/secret/jsonschema/1-0-0", { key: otherVendorKeys.read })).status).toBe(404);
    // All versions of one schema share their visibility.
    expect((await call("POST", "/schemas?isPublic=true", { key: keys.write, body: schemaFor("com.acme", "secret", "1-0-1") })).status).toBe(409);
  });

  test("the validation endpoints need a key and report problems", async () => {
    const instance = { schema: "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", data: { targetUrl: "http://x.test" } };
    expect((await call("POST", "/validation/validate/instance", { body: instance })).status).toBe(403);
    const ok = await call("POST", "/validation/validate/instance", { key: keys.read, body: instance });
    expect(ok.json.message).toContain("Instance is valid");
    const bad = await call("POST", "/validation/validate/instance", { key: keys.read, body: { ...instance, data: { elementId: 1 } } });
    expect(bad.json.report.map((r: { keyword: string }) => r.keyword).sort()).toEqual(["required", "type"]);
    const unknown = await call("POST", "/validation/validate/instance", { key: keys.read, body: { schema: "iglu:com.acme/nope/jsonschema/1-0-0", data: {} } });
    expect(unknown.status).toBe(404);
    const schemaCheck = await call("POST", "/validation/validate/schema/jsonschema", {
      key: keys.read,
      body: { ...schemaFor("com.acme", "x", "1-0-0"), $schema: "http://json-schema.org/draft-04/schema#" },
    });
    expect(schemaCheck.status).toBe(200);
    expect(schemaCheck.json.report.some((r: { level: string; pointer: string }) => r.level === "ERROR" && r.pointer === "/$schema")).toBe(true);
  });

  test("API keys and visibility survive a restart (kept in an owner-only state file)", async () => {
    const state = join(registry.dir, ".iglu-server.json");
    expect((await Bun.file(state).stat()).mode & 0o077).toBe(0);
    await registry.stop();
    registry = await startRegistry(registry.dir, { TELEMETRY_SUPER_API_KEY: SUPER });
    expect((await call("GET", "/schemas/com.acme/secret/jsonschema/1-0-0")).status).toBe(404);
    expect((await call("GET", "/schemas/com.acme/secret/jsonschema/1-0-0", { key: keys.read })).status).toBe(200);
  });
});

describe("iglu serve --patches-allowed", () => {
  test("re-publishing updates a version, and only the super key deletes", async () => {
    const patched = await startRegistry(temporaryRegistry(), { TELEMETRY_SUPER_API_KEY: SUPER }, ["--patches-allowed"]);
    try {
      const url = `${patched.api}/schemas/com.acme/patch/jsonschema/1-0-0`;
      const send = (method: string, key: string | undefined, body?: object) =>
        fetch(method === "POST" ? `${patched.api}/schemas?isPublic=true` : url, {
          method,
          headers: key ? { apikey: key } : {},
          body: body && JSON.stringify(body),
        });
      expect((await send("POST", SUPER, schemaFor("com.acme", "patch", "1-0-0"))).status).toBe(201);
      const update = await send("POST", SUPER, schemaFor("com.acme", "patch", "1-0-0", { changed: { type: "boolean" } }));
      expect(update.status).toBe(200);
      expect(await update.json()).toMatchObject({ message: "Schema updated", updated: true });
      expect(Object.keys((await (await fetch(url)).json()).properties)).toEqual(["changed"]);
      expect((await send("DELETE", undefined)).status).toBe(401);
      expect((await send("DELETE", SUPER)).status).toBe(200);
      expect((await fetch(url)).status).toBe(404);
    } finally {
      await patched.stop();
      removeDir(patched.dir);
    }
  });

  test("without it, DELETE is refused", async () => {
    const response = await fetch(`${registry.api}/schemas/com.acme/seq/jsonschema/1-0-0`, { method: "DELETE", headers: { apikey: SUPER } });
    expect(response.status).toBe(405);
  });
});
