/** The resolver's HTTP path against real `telemetry iglu serve` processes. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Resolver, type ValidationOutcome } from "../../stages/iglu/resolver";
import { removeDir, startRegistry, temporaryRegistry, type RunningRegistry } from "./serve-process";

const SUPER = "5c9f2f44-3a57-4a0e-8c35-1d7f5cf1e0a2";
const META = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#";

let first: RunningRegistry;
let second: RunningRegistry;
let firstKeys: { read: string; write: string };
const configDir = mkdtempSync(join(tmpdir(), "iglu-http-resolver-"));

async function publish(registry: RunningRegistry, key: string, name: string, marker: string, isPublic: boolean) {
  const schema = {
    $schema: META,
    self: { vendor: "com.acme", name, format: "jsonschema", version: "1-0-0" },
    type: "object",
    properties: { from: { enum: [marker] } },
    required: ["from"],
  };
  const response = await fetch(`${registry.api}/schemas?isPublic=${isPublic}`, {
    method: "POST",
    headers: { apikey: key, "content-type": "application/json" },
    body: JSON.stringify(schema),
  });
  expect(response.status).toBe(201);
}

function resolverConfig(cacheTtl: number | null, repositories: object[]): string {
  const path = join(configDir, `resolver-${Math.random()}.json`);
  writeFileSync(path, JSON.stringify({ schema: "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3", data: { cacheSize: 100, cacheTtl, repositories } }));
  return path;
}

function http(name: string, uri: string, priority: number, vendorPrefixes: string[], apikey: string | null = null) {
  return { name, priority, vendorPrefixes, connection: { http: { uri, apikey } } };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function resolutionHistory(outcome: ValidationOutcome) {
  if (outcome.ok || outcome.igluError.error !== "ResolutionError") throw new Error(`expected a ResolutionError, got ${JSON.stringify(outcome)}`);
  return outcome.igluError.lookupHistory;
}

beforeAll(async () => {
  [first, second] = await Promise.all([
    startRegistry(temporaryRegistry(), { TELEMETRY_SUPER_API_KEY: SUPER }),
    startRegistry(temporaryRegistry(), { TELEMETRY_SUPER_API_KEY: SUPER }),
  ]);
  firstKeys = await (await fetch(`${first.api}/auth/keygen`, { method: "POST", headers: { apikey: SUPER }, body: JSON.stringify({ vendorPrefix: "com.acme" }) })).json();
  await publish(first, SUPER, "thing", "first", true);
  await publish(second, SUPER, "thing", "second", true);
  await publish(first, SUPER, "private_thing", "first", false);
});

afterAll(async () => {
  await Promise.all([first.stop(), second.stop()]);
  removeDir(first.dir);
  removeDir(second.dir);
  removeDir(configDir);
});

describe("HTTP resolver against iglu serve", () => {
  test("a registry URL resolves published schemas, and the embedded ones still resolve", async () => {
    const resolver = await Resolver.load(second.api);
    expect((await resolver.validate("iglu:com.acme/thing/jsonschema/1-0-0", { from: "second" })).ok).toBe(true);
    expect((await resolver.validate("iglu:com.acme/thing/jsonschema/1-0-0", { from: "first" })).ok).toBe(false);
    expect((await resolver.validate("iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", [{ schema: "iglu:a/b/jsonschema/1-0-0", data: 1 }])).ok).toBe(true);
  });

  test("priority and vendor prefixes choose between registries", async () => {
    const byPriority = await Resolver.load(resolverConfig(60, [http("first", first.api, 2, []), http("second", second.api, 1, [])]));
    expect((await byPriority.validate("iglu:com.acme/thing/jsonschema/1-0-0", { from: "second" })).ok).toBe(true);
    const byPrefix = await Resolver.load(resolverConfig(60, [http("first", first.api, 2, ["com.acme"]), http("second", second.api, 1, ["com.other"])]));
    expect((await byPrefix.validate("iglu:com.acme/thing/jsonschema/1-0-0", { from: "first" })).ok).toBe(true);
  });

  test("a private schema needs the apikey header", async () => {
    const anonymous = await Resolver.load(resolverConfig(60, [http("first", first.api, 0, [])]));
    const history = resolutionHistory(await anonymous.validate("iglu:com.acme/private_thing/jsonschema/1-0-0", { from: "first" }));
    expect(history.find((h) => h.repository === "first")?.errors).toEqual([{ error: "NotFound" }]);
    const withKey = await Resolver.load(resolverConfig(60, [http("first", first.api, 0, [], firstKeys.read)]));
    expect((await withKey.validate("iglu:com.acme/private_thing/jsonschema/1-0-0", { from: "first" })).ok).toBe(true);
    const byUrl = await Resolver.load(first.api, { apikey: firstKeys.read });
    expect((await byUrl.validate("iglu:com.acme/private_thing/jsonschema/1-0-0", { from: "first" })).ok).toBe(true);
  });

  test("an unreachable registry is a ResolutionError with a RepoFailure, and the next registry still answers", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}/api`;
    const resolver = await Resolver.load(resolverConfig(60, [http("dead", dead, 0, ["com.acme"]), http("second", second.api, 1, [])]));
    expect((await resolver.validate("iglu:com.acme/thing/jsonschema/1-0-0", { from: "second" })).ok).toBe(true);
    const history = resolutionHistory(await resolver.validate("iglu:com.acme/absent/jsonschema/1-0-0", {}));
    const deadEntry = history.find((h) => h.repository === "dead")!;
    expect(deadEntry.errors[0]).toMatchObject({ error: "RepoFailure" });
    expect(history.find((h) => h.repository === "second")?.errors).toEqual([{ error: "NotFound" }]);
  });

  test("a registry that accepts connections but never answers times out into a ResolutionError", async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const uri = `http://127.0.0.1:${(silent.address() as { port: number }).port}/api`;
      const resolver = await Resolver.load(uri, { timeoutMs: 300 });
      const history = resolutionHistory(await resolver.validate("iglu:com.acme/thing/jsonschema/1-0-0", {}));
      expect(JSON.stringify(history.find((h) => h.repository === uri)?.errors)).toContain("no answer within 300 ms");
    } finally {
      silent.close();
    }
  });

  test("resolved schemas and misses are served from the cache while the registry is down", async () => {
    const registry = await startRegistry(temporaryRegistry(), { TELEMETRY_SUPER_API_KEY: SUPER });
    try {
      await publish(registry, SUPER, "cached", "here", true);
      const resolver = await Resolver.load(resolverConfig(600, [http("cached", registry.api, 0, [])]));
      expect((await resolver.validate("iglu:com.acme/cached/jsonschema/1-0-0", { from: "here" })).ok).toBe(true);
      const miss = resolutionHistory(await resolver.validate("iglu:com.acme/missing/jsonschema/1-0-0", {}));
      await registry.stop();
      expect((await resolver.validate("iglu:com.acme/cached/jsonschema/1-0-0", { from: "here" })).ok).toBe(true);
      // The cached miss is answered as before, not re-asked of the stopped registry.
      expect(resolutionHistory(await resolver.validate("iglu:com.acme/missing/jsonschema/1-0-0", {}))).toEqual(miss);
    } finally {
      await registry.stop();
      removeDir(registry.dir);
    }
  });
});
