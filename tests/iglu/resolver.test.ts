/** The resolver against the embedded `schemas/` and against static folders and resolver-config files. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Resolver, ResolverConfigError, type ValidationOutcome } from "../../stages/iglu/resolver";
import { parseSchemaUri, schemaUri } from "../../stages/iglu/schema-key";
import type { Repository } from "../../stages/iglu/repositories";
import { removeDir } from "./serve-process";

const META = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#";
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "iglu-resolver-"));
  dirs.push(dir);
  return dir;
}

/** Writes a self-describing schema for com.acme/<name> into a static-layout folder. */
function putSchema(root: string, name: string, version: string, properties: object, extra: object = {}, vendor = "com.acme"): void {
  const dir = join(root, vendor, name, "jsonschema");
  mkdirSync(dir, { recursive: true });
  const self = { vendor, name, format: "jsonschema", version };
  writeFileSync(join(dir, version), JSON.stringify({ $schema: META, self, type: "object", properties, ...extra }));
}

function failure(outcome: ValidationOutcome) {
  if (outcome.ok) throw new Error("expected a failure");
  return outcome;
}

describe("schema keys", () => {
  test("parse and print Iglu URIs by Iglu's rules", () => {
    const key = parseSchemaUri("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1");
    expect(key).toEqual({ vendor: "com.snowplowanalytics.snowplow", name: "link_click", format: "jsonschema", version: { model: 1, revision: 0, addition: 1 } });
    expect(schemaUri(key as never)).toBe("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1");
    for (const bad of ["iglu:com.acme/x/jsonschema/0-1-0", "iglu:com.acme/x/jsonschema/1-01-0", "iglu:com.acme/x.y/jsonschema/1-0-0", "com.acme/x/jsonschema/1-0-0", "iglu:com.acme/x/jsonschema/1.0.0"]) {
      expect(parseSchemaUri(bad)).toHaveProperty("error");
    }
  });
});

describe("resolver on the embedded registry", () => {
  test("validates the tracker protocol wrappers", async () => {
    const resolver = await Resolver.load();
    const event = { e: "pv", p: "web", tv: "js-4.8.0", ttm: "1" };
    expect((await resolver.validate("iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", [event])).ok).toBe(true);
    // ttm arrived in 1-0-4; the older version forbids it.
    const older = failure(await resolver.validate("iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-3", [event]));
    expect(older.igluError).toEqual({
      error: "ValidationError",
      dataReports: [{ message: "$[0].ttm: must NOT have additional properties", path: "$[0]", keyword: "additionalProperties", targets: ["ttm"] }],
    });
    const numbers = failure(await resolver.validate("iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", [{ ...event, tv: 4 }]));
    expect(numbers.igluError.error).toBe("ValidationError");
    expect(failure(await resolver.validate("iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", [])).igluError.error).toBe("ValidationError");
    const contexts = [{ schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", data: { id: "0f5b6a8e-1c1b-4a2d-9d47-5d8f3f3b2a10" } }];
    expect((await resolver.validate("iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", contexts)).ok).toBe(true);
    expect((await resolver.validate("iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1", [])).ok).toBe(true);
    expect((await resolver.validate("iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", [])).ok).toBe(false);
    const wrapped = { schema: "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", data: { targetUrl: "https://x.test/" } };
    expect((await resolver.validate("iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", wrapped)).ok).toBe(true);
    expect((await resolver.validate("iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", { schema: "nope", data: {} })).ok).toBe(false);
  });

  test("reports a missing required property the way bad rows carry it", async () => {
    const resolver = await Resolver.load();
    const outcome = failure(await resolver.validate("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", { elementId: "a" }));
    expect(outcome.schemaKey).toBe("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1");
    expect(outcome.igluError).toEqual({
      error: "ValidationError",
      dataReports: [{ message: "$.targetUrl: must have required property 'targetUrl'", path: "$", keyword: "required", targets: ["targetUrl"] }],
    });
  });

  test("a schema nobody has is a ResolutionError naming each registry tried", async () => {
    const resolver = await Resolver.load();
    const outcome = failure(await resolver.validate("iglu:com.acme/unknown/jsonschema/1-0-0", {}));
    expect(outcome.igluError.error).toBe("ResolutionError");
    if (outcome.igluError.error !== "ResolutionError") return;
    expect(outcome.igluError.lookupHistory).toHaveLength(1);
    expect(outcome.igluError.lookupHistory[0]).toMatchObject({ repository: "Iglu Client Embedded", errors: [{ error: "NotFound" }], attempts: 1 });
    expect(Number.isNaN(Date.parse(outcome.igluError.lookupHistory[0]!.lastAttempt))).toBe(false);
    const lookup = await resolver.lookup(parseSchemaUri("iglu:com.acme/unknown/jsonschema/1-0-0") as never);
    expect(lookup).toHaveProperty("igluError");
  });

  test("a malformed URI is InvalidData, not a crash", async () => {
    const resolver = await Resolver.load();
    expect(failure(await resolver.validate("iglu:com.acme/thing/jsonschema/1-0", {})).igluError.error).toBe("InvalidData");
  });
});

describe("resolver on static folders and resolver configs", () => {
  test("a broken schema is InvalidSchema; a schema filed under the wrong key too", async () => {
    const root = scratch();
    putSchema(root, "broken", "1-0-0", { n: { type: "integer", minimum: "zero" } });
    putSchema(root, "misfiled", "1-0-0", {});
    const misfiled = join(root, "com.acme/misfiled/jsonschema/1-0-0");
    writeFileSync(misfiled, JSON.stringify({ $schema: META, self: { vendor: "com.acme", name: "other", format: "jsonschema", version: "1-0-0" }, type: "object" }));
    const resolver = await Resolver.load(root);
    expect(failure(await resolver.validate("iglu:com.acme/broken/jsonschema/1-0-0", { n: 1 })).igluError.error).toBe("InvalidSchema");
    const wrong = failure(await resolver.validate("iglu:com.acme/misfiled/jsonschema/1-0-0", {}));
    expect(wrong.igluError).toMatchObject({ error: "InvalidSchema" });
    // The embedded registry is still consulted after the given folder.
    expect((await resolver.validate("iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", { id: "0f5b6a8e-1c1b-4a2d-9d47-5d8f3f3b2a10" })).ok).toBe(true);
  });

  test("vendor prefixes come first, then priority", async () => {
    const low = scratch();
    const high = scratch();
    putSchema(low, "thing", "1-0-0", { from: { enum: ["low"] } });
    putSchema(high, "thing", "1-0-0", { from: { enum: ["high"] } });
    const configDir = scratch();
    const config = (repositories: object[]) => {
      const path = join(configDir, `resolver-${Math.random()}.json`);
      writeFileSync(path, JSON.stringify({ schema: "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3", data: { cacheSize: 10, cacheTtl: 60, repositories } }));
      return path;
    };
    const repo = (name: string, dir: string, priority: number, vendorPrefixes: string[]) => ({ name, priority, vendorPrefixes, connection: { embedded: { path: dir } } });
    const byPriority = await Resolver.load(config([repo("low", low, 5, []), repo("high", high, 1, [])]));
    expect((await byPriority.validate("iglu:com.acme/thing/jsonschema/1-0-0", { from: "high" })).ok).toBe(true);
    const byPrefix = await Resolver.load(config([repo("low", low, 5, ["com.acme"]), repo("high", high, 1, ["com.other"])]));
    expect((await byPrefix.validate("iglu:com.acme/thing/jsonschema/1-0-0", { from: "low" })).ok).toBe(true);
    // A miss lists every registry asked, in the order asked.
    const miss = failure(await byPrefix.validate("iglu:com.acme/absent/jsonschema/1-0-0", {}));
    if (miss.igluError.error !== "ResolutionError") throw new Error("expected a ResolutionError");
    expect(miss.igluError.lookupHistory.map((h) => h.repository)).toEqual(["low", "Iglu Client Embedded", "high"]);
  });

  test("answers are cached (hits and misses) within cacheTtl and cacheSize", async () => {
    const root = scratch();
    putSchema(root, "cached", "1-0-0", { v: { enum: [1] } });
    const configPath = join(scratch(), "resolver.json");
    const write = (cacheSize: number, cacheTtl: number | null) =>
      writeFileSync(configPath, JSON.stringify({
        schema: "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        data: { cacheSize, cacheTtl, repositories: [{ name: "dir", priority: 0, vendorPrefixes: [], connection: { embedded: { path: root } } }] },
      }));
    write(10, null);
    const cached = await Resolver.load(configPath);
    expect((await cached.validate("iglu:com.acme/cached/jsonschema/1-0-0", { v: 1 })).ok).toBe(true);
    expect((await cached.validate("iglu:com.acme/late/jsonschema/1-0-0", {})).ok).toBe(false);
    rmSync(join(root, "com.acme/cached"), { recursive: true });
    putSchema(root, "late", "1-0-0", {});
    expect((await cached.validate("iglu:com.acme/cached/jsonschema/1-0-0", { v: 1 })).ok).toBe(true);
    expect((await cached.validate("iglu:com.acme/late/jsonschema/1-0-0", {})).ok).toBe(false);

    write(10, 0);
    const uncached = await Resolver.load(configPath);
    expect((await uncached.validate("iglu:com.acme/late/jsonschema/1-0-0", {})).ok).toBe(true);
    rmSync(join(root, "com.acme/late"), { recursive: true });
    expect((await uncached.validate("iglu:com.acme/late/jsonschema/1-0-0", {})).ok).toBe(false);

    putSchema(root, "first", "1-0-0", {});
    putSchema(root, "second", "1-0-0", {});
    write(1, null);
    const tiny = await Resolver.load(configPath);
    expect((await tiny.validate("iglu:com.acme/first/jsonschema/1-0-0", {})).ok).toBe(true);
    expect((await tiny.validate("iglu:com.acme/second/jsonschema/1-0-0", {})).ok).toBe(true);
    rmSync(join(root, "com.acme/first"), { recursive: true });
    rmSync(join(root, "com.acme/second"), { recursive: true });
    // Size 1: the first answer was evicted by the second.
    expect((await tiny.validate("iglu:com.acme/second/jsonschema/1-0-0", {})).ok).toBe(true);
    expect((await tiny.validate("iglu:com.acme/first/jsonschema/1-0-0", {})).ok).toBe(false);
  });

  test("a schema already compiled is used only until its cache entry expires (cacheTtl)", async () => {
    const root = scratch();
    putSchema(root, "expiring", "1-0-0", { v: { enum: [1] } });
    const configPath = join(scratch(), "resolver.json");
    writeFileSync(configPath, JSON.stringify({
      schema: "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
      data: { cacheSize: 10, cacheTtl: 1, repositories: [{ name: "dir", priority: 0, vendorPrefixes: [], connection: { embedded: { path: root } } }] },
    }));
    const resolver = await Resolver.load(configPath);
    const uri = "iglu:com.acme/expiring/jsonschema/1-0-0";
    expect((await resolver.validate(uri, { v: 1 })).ok).toBe(true);
    rmSync(join(root, "com.acme/expiring"), { recursive: true });
    // Within the TTL the compiled schema still answers, for valid and invalid data alike.
    expect((await resolver.validate(uri, { v: 1 })).ok).toBe(true);
    expect(failure(await resolver.validate(uri, { v: 2 })).igluError.error).toBe("ValidationError");
    await Bun.sleep(1100);
    expect(failure(await resolver.validate(uri, { v: 1 })).igluError.error).toBe("ResolutionError");
  });

  test("a config that breaks resolver-config's schema, or a path that is nothing, is a ResolverConfigError", async () => {
    const path = join(scratch(), "bad.json");
    writeFileSync(path, JSON.stringify({ schema: "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3", data: { cacheSize: 10 } }));
    await expect(Resolver.load(path)).rejects.toBeInstanceOf(ResolverConfigError);
    await expect(Resolver.load(join(scratch(), "missing"))).rejects.toBeInstanceOf(ResolverConfigError);
    writeFileSync(path, JSON.stringify({ schema: "iglu:com.acme/other/jsonschema/1-0-0", data: {} }));
    await expect(Resolver.load(path)).rejects.toThrow(/resolver-config/);
  });
});

describe("resolver retries", () => {
  test("a registry failure is retried after a back-off; concurrent lookups share one request", async () => {
    const schema = { $schema: META, self: { vendor: "com.acme", name: "flaky", format: "jsonschema", version: "1-0-0" }, type: "object" };
    let asked = 0;
    const flaky: Repository = {
      name: "flaky",
      priority: 0,
      vendorPrefixes: [],
      classPriority: 100,
      fetch: async () => (++asked === 1 ? { failure: { error: "RepoFailure", message: "HTTP 503" } } : { schema }),
    };
    const resolver = new Resolver({ cacheSize: 10, cacheTtl: null, repositories: [flaky] });
    const [a, b] = await Promise.all([resolver.validate("iglu:com.acme/flaky/jsonschema/1-0-0", {}), resolver.validate("iglu:com.acme/flaky/jsonschema/1-0-0", {})]);
    expect(asked).toBe(1);
    expect(failure(a).igluError).toMatchObject({ error: "ResolutionError", lookupHistory: [{ repository: "flaky", errors: [{ error: "RepoFailure", message: "HTTP 503" }], attempts: 1 }] });
    expect(b).toEqual(a);
    // Within the back-off the failure is answered from the cache.
    expect((await resolver.validate("iglu:com.acme/flaky/jsonschema/1-0-0", {})).ok).toBe(false);
    expect(asked).toBe(1);
    await Bun.sleep(1100);
    expect((await resolver.validate("iglu:com.acme/flaky/jsonschema/1-0-0", {})).ok).toBe(true);
    expect(asked).toBe(2);
  });
});
