/**
 * The default resolver's remote part: Iglu Central and its mirror after the embedded registry, a timeout on
 * every lookup, and the disk cache that lets a restart without the network validate what was resolved
 * before. "Iglu Central" here is a local static registry (static-http-registry.ts): nothing reaches the internet.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, utimesSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Resolver, type ValidationOutcome } from "../../stages/iglu/resolver";
import { SchemaCache } from "../../stages/iglu/schema-cache";
import { parseSchemaUri, type SchemaKey } from "../../stages/iglu/schema-key";
import { postRecord, selfDescribingEvent } from "../enrich/helpers";
import { removeDir } from "./serve-process";
import { startStaticRegistry, type StaticRegistry } from "./static-http-registry";

const BIN = join(import.meta.dir, "../../bin/telemetry");
const THING = "iglu:com.acme.central/thing/jsonschema/1-0-0";
const dirs: string[] = [];
let registries: StaticRegistry[] = [];

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "iglu-central-"));
  dirs.push(dir);
  return dir;
}

function centralWithThing(marker = "central"): StaticRegistry {
  const registry = startStaticRegistry();
  registries.push(registry);
  dirs.push(registry.dir);
  registry.put("com.acme.central", "thing", "1-0-0", marker);
  return registry;
}

afterEach(async () => {
  await Promise.all(registries.map((registry) => registry.stop()));
  registries = [];
});
afterAll(() => dirs.forEach(removeDir));

/** A loopback URL with nothing listening. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function history(outcome: ValidationOutcome) {
  if (outcome.ok || outcome.igluError.error !== "ResolutionError") throw new Error(`expected a ResolutionError, got ${JSON.stringify(outcome)}`);
  return outcome.igluError.lookupHistory;
}

const key = (uri: string) => parseSchemaUri(uri) as SchemaKey;

describe("Iglu Central in the default resolver", () => {
  test("the embedded registry answers first: Iglu Central is not asked for what we ship", async () => {
    const central = centralWithThing();
    const resolver = await Resolver.load(undefined, { igluCentral: [central.url], cacheDir: scratch() });
    const page = { schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", data: { id: "6b8f3b5e-5b1a-4d2e-9a3f-2f1c0e7d9a10" } };
    expect((await resolver.validate(page.schema, page.data)).ok).toBe(true);
    expect((await resolver.validate("iglu:com.snowplowanalytics.snowplow.media/play_event/jsonschema/1-0-0", {})).ok).toBe(true);
    expect(central.requests).toEqual([]);
  });

  test("a schema only Iglu Central has is resolved there, kept on disk, and validates after a restart with Iglu Central gone", async () => {
    const central = centralWithThing();
    const cacheDir = scratch();
    const online = await Resolver.load(undefined, { igluCentral: [central.url], cacheDir });
    expect((await online.validate(THING, { from: "central" })).ok).toBe(true);
    expect(central.requests).toEqual(["/schemas/com.acme.central/thing/jsonschema/1-0-0"]);
    const copy = join(new SchemaCache(cacheDir, undefined).folderFor(central.url), "com.acme.central/thing/jsonschema/1-0-0");
    expect(JSON.parse(readFileSync(copy, "utf8")).self.name).toBe("thing");

    await central.stop();
    const offline = await Resolver.load(undefined, { igluCentral: [central.url], cacheDir });
    expect((await offline.validate(THING, { from: "central" })).ok).toBe(true);
    // The kept copy is the real schema: what it forbids is still refused.
    expect(await offline.validate(THING, { from: "elsewhere" })).toMatchObject({ ok: false, igluError: { error: "ValidationError" } });
  });

  test("a copy older than cacheTtl is fetched again while Iglu Central answers, and still used while it does not", async () => {
    const central = centralWithThing("first");
    const cacheDir = scratch();
    expect((await (await Resolver.load(undefined, { igluCentral: [central.url], cacheDir })).validate(THING, { from: "first" })).ok).toBe(true);
    const copy = join(new SchemaCache(cacheDir, undefined).folderFor(central.url), "com.acme.central/thing/jsonschema/1-0-0");
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(copy, anHourAgo, anHourAgo);

    // Within the default cacheTtl (600 s) a copy is used as it is; an hour old, the registry is asked again.
    central.put("com.acme.central", "thing", "1-0-0", "second");
    const refreshed = await Resolver.load(undefined, { igluCentral: [central.url], cacheDir });
    expect((await refreshed.validate(THING, { from: "second" })).ok).toBe(true);
    expect(central.requests).toHaveLength(2);

    utimesSync(copy, anHourAgo, anHourAgo);
    await central.stop();
    const offline = await Resolver.load(undefined, { igluCentral: [central.url], cacheDir });
    expect((await offline.validate(THING, { from: "second" })).ok).toBe(true);
  });

  test("when Iglu Central cannot be reached the mirror answers; a miss names every registry asked", async () => {
    const mirror = centralWithThing("mirror");
    const dead = await deadUrl();
    const resolver = await Resolver.load(undefined, { igluCentral: [dead, mirror.url], cacheDir: scratch() });
    expect((await resolver.validate(THING, { from: "mirror" })).ok).toBe(true);
    const miss = history(await resolver.validate("iglu:com.acme.central/absent/jsonschema/1-0-0", {}));
    expect(miss.map((lookup) => lookup.repository)).toEqual(["Iglu Client Embedded", "Iglu Central", "Iglu Central - Mirror 1"]);
    expect(miss.map((lookup) => (lookup.errors[0] as { error: string }).error)).toEqual(["NotFound", "RepoFailure", "NotFound"]);
  });

  test("a registry that hangs: the lookup ends at the timeout, and for a while it is not waited on again for other keys", async () => {
    const central = centralWithThing();
    central.hang = true;
    const resolver = await Resolver.load(undefined, { igluCentral: [central.url], timeoutMs: 300 });
    const first = history(await resolver.validate(THING, { from: "central" }));
    expect(JSON.stringify(first.find((lookup) => lookup.repository === "Iglu Central")?.errors)).toContain("no answer within 300 ms");
    const second = history(await resolver.validate("iglu:com.acme.central/other/jsonschema/1-0-0", {}));
    expect(JSON.stringify(second.find((lookup) => lookup.repository === "Iglu Central")?.errors)).toContain("not asked");
    expect(central.requests).toHaveLength(1);
  });
});

describe("telemetry enrich with Iglu Central", () => {
  async function runEnrich(args: string[], stdin: string) {
    const child = Bun.spawn([BIN, "enrich", "--stats-interval", "0", ...args], { stdin: new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { events: stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line)), stderr, code };
  }

  const event = (schema: string, data: unknown, eid: string) => ({ e: "ue", p: "web", tv: "js-4.10.1", eid, ue_pr: selfDescribingEvent(schema, data) });
  const input = [
    postRecord([event(THING, { from: "mirror" }, "00000000-0000-4000-8000-00000000000a")]),
    postRecord([event("iglu:com.acme.central/absent/jsonschema/1-0-0", {}, "00000000-0000-4000-8000-00000000000b")]),
    postRecord([event("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", { targetUrl: "https://example.com/" }, "00000000-0000-4000-8000-00000000000c")]),
  ].map((record) => JSON.stringify(record) + "\n").join("");

  test("a hanging Iglu Central costs a timeout, the mirror answers, a miss is a bad row naming each lookup; after a restart offline the cache still validates", async () => {
    const hanging = centralWithThing();
    hanging.hang = true;
    const mirror = centralWithThing("mirror");
    const dir = scratch();
    const flags = ["--iglu-central-urls", `${hanging.url},${mirror.url}`, "--iglu-timeout", "300", "--iglu-cache", join(dir, "cache")];
    const online = await runEnrich([...flags, "--bad", join(dir, "bad.ndjson")], input);
    expect(online.code).toBe(0);
    expect(online.events.map((e) => e.event_id)).toEqual(["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000c"]);
    expect(online.events[0].unstruct_event_com_acme_central_thing_1).toEqual({ from: "mirror" });
    const [badRow, ...more] = readFileSync(join(dir, "bad.ndjson"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(more).toEqual([]);
    expect(badRow.schema).toContain("/schema_violations/");
    const lookups = badRow.data.failure.messages[0].error.lookupHistory;
    expect(lookups.map((lookup: { repository: string }) => lookup.repository).sort()).toEqual(["Iglu Central", "Iglu Central - Mirror 1", "Iglu Client Embedded"]);

    await hanging.stop();
    await mirror.stop();
    const offline = await runEnrich([...flags, "--bad", join(dir, "bad-offline.ndjson")], input);
    expect(offline.code).toBe(0);
    expect(offline.events.map((e) => e.event_id)).toEqual(["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000c"]);
    const offlineBad = readFileSync(join(dir, "bad-offline.ndjson"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(offlineBad.map((row) => row.data.payload.enriched.event_id)).toEqual(["00000000-0000-4000-8000-00000000000b"]);
  }, 30_000);
});
