/**
 * The collector's request handling without a process: plain Requests in, Responses and records out.
 * Facts checked against reference/snowplow-pipeline.md §1.
 */
import { describe, expect, test } from "bun:test";
import { BadRowList } from "../../stages/shared/bad-rows";
import { StageCounters } from "../../stages/shared/counters";
import { Collector, redirectTarget, splitRequestUrl } from "../../stages/collect/collector";
import { collectorConfig, configProblem, type CollectorConfig } from "../../stages/collect/config";
import { ANONYMOUS_NUID } from "../../stages/collect/network-user-id";
import { RecordQueue } from "../../stages/collect/record-queue";
import { canonicalHeaderName, validCookiePairs } from "../../stages/collect/raw-record";
import { validateRawRecord } from "./helpers";
import { validateBadRow } from "../fixtures/bad-row-schema";

const PIXEL_BASE64 = "R0lGODlhAQABAPAAAP///wAAACH5BAUAAAAALAAAAAABAAEAAAICRAEAOw==";
const TP2 = "/com.snowplowanalytics.snowplow/tp2";
const BASE = "http://collector.test:8000";
const NUID = "2bd8c4a5-4c0f-4a4b-9d0c-6c7f1d1e9b11";

function setup(overrides: Parameters<typeof collectorConfig>[0] = {}, archive?: { append(lines: readonly string[]): Promise<void> }) {
  const written: string[] = [];
  const queue = new RecordQueue({ writeLine: async (line) => void written.push(line) }, { records: 1000 });
  const bad = new BadRowList();
  const counters = new StageCounters();
  const config: CollectorConfig = collectorConfig(overrides);
  const collector = new Collector(config, {
    output: queue,
    bad,
    archive,
    counters,
    processor: { artifact: "telemetry-collect", version: "0.0.0-test" },
  });
  const send = async (path: string, init: RequestInit = {}, peer = "198.51.100.7") => {
    const response = await collector.handle(new Request(BASE + path, init), peer);
    await queue.drain();
    return response;
  };
  const records = () => written.map((line) => JSON.parse(line));
  return { collector, send, records, bad, counters, queue };
}

describe("routes", () => {
  test("GET and HEAD /i and /ice.png answer the 43-byte GIF with no-cache and record the request", async () => {
    const { send, records } = setup();
    for (const [method, path] of [["GET", "/i?e=pv"], ["HEAD", "/i"], ["GET", "/ice.png?e=pp"]] as const) {
      const response = await send(path, { method });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/gif");
      expect(response.headers.get("cache-control")).toBe("no-cache, no-store, must-revalidate");
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(bytes.length).toBe(43);
      expect(bytes.toString("base64")).toBe(PIXEL_BASE64);
    }
    expect(records().map((record) => [record.path, record.querystring])).toEqual([
      ["/i", "e=pv"],
      ["/i", ""],
      ["/ice.png", "e=pp"],
    ]);
  });

  test("POST /{vendor}/{version} answers ok and stores the body and lower-cased content type", async () => {
    const { send, records } = setup();
    const body = '{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv","p":"web","tv":"t"}]}';
    const response = await send(TP2, { method: "POST", body, headers: { "Content-Type": "Application/JSON; charset=UTF-8" } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
    expect(response.headers.get("cache-control")).toBeNull();
    const [record] = records();
    expect(record.body).toBe(body);
    expect(record.contentType).toBe("application/json; charset=utf-8");
    expect(record.headers.at(-1)).toBe("application/json; charset=utf-8");
    expect(record.headers).toContain("Content-Type: Application/JSON; charset=UTF-8");
    expect(validateRawRecord(record)).toEqual([]);
  });

  test("GET on any two-segment path is a pixel; webhook paths are stored verbatim", async () => {
    const { send, records } = setup();
    expect((await send("/com.mailgun/v1?x=1")).headers.get("content-type")).toBe("image/gif");
    expect((await send("/com.snowplowanalytics.iglu/v1?schema=iglu%3Acom.acme%2Fx%2Fjsonschema%2F1-0-0")).status).toBe(200);
    expect(records().map((record) => record.path)).toEqual(["/com.mailgun/v1", "/com.snowplowanalytics.iglu/v1"]);
  });

  test("unknown routes, three segments, empty segments and odd verbs are 404 and record nothing", async () => {
    const { send, records } = setup();
    const cases: [string, string][] = [
      ["GET", "/"],
      ["GET", "/a/b/c"],
      ["GET", "/a/b/"],
      ["GET", "//b"],
      ["GET", "/nope"],
      ["POST", "/i"],
      ["PUT", TP2],
      ["DELETE", TP2],
      ["PATCH", "/a/b"],
      ["GET", "/crossdomain.xml"],
    ];
    for (const [method, path] of cases) {
      const response = await send(path, { method, body: method === "GET" || method === "DELETE" ? undefined : "x" });
      expect([method, path, response.status]).toEqual([method, path, 404]);
    }
    expect(records()).toEqual([]);
  });

  test("malformed percent-encoding: 400 in the path, stored raw in the querystring (Enrich decides)", async () => {
    const { send, records } = setup();
    expect((await send("/com.acme/%ZZ")).status).toBe(400);
    expect((await send("/i?e=pv&url=%E0%A4%A")).status).toBe(200);
    expect(records().map((record) => record.querystring)).toEqual(["e=pv&url=%E0%A4%A"]);
  });

  test("health, sink-health and robots.txt", async () => {
    const { send } = setup();
    const health = await send("/health");
    expect([health.status, await health.text()]).toEqual([200, "ok"]);
    const sink = await send("/sink-health");
    expect([sink.status, await sink.text()]).toEqual([200, "ok"]);
    const robots = await (await send("/robots.txt")).text();
    for (const agent of ["*", "Googlebot", "AdsBot-Google"]) expect(robots).toContain(`User-agent: ${agent}\nDisallow: /`);
  });

  test("crossdomain.xml is off by default and lists the configured domains when on", async () => {
    const { send } = setup({ crossDomainDomains: ["*.acme.com", "acme.org"], crossDomainSecure: false });
    const response = await send("/crossdomain.xml");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/xml");
    const xml = await response.text();
    expect(xml).toContain('<allow-access-from domain="*.acme.com" secure="false" />');
    expect(xml).toContain('<allow-access-from domain="acme.org" secure="false" />');
  });

  test("custom paths are mapped before recording; unmapped two-segment paths stay as they are", async () => {
    const { send, records } = setup({ paths: { "/com.acme/track": TP2 } });
    await send("/com.acme/track", { method: "POST", body: "{}" });
    await send("/com.other/track", { method: "POST", body: "{}" });
    expect(records().map((record) => record.path)).toEqual([TP2, "/com.other/track"]);
  });
});

describe("redirects", () => {
  test("are off by default: /r/tp2 is 404 'redirects disabled' and nothing is recorded", async () => {
    const { send, records } = setup();
    const response = await send("/r/tp2?u=https%3A%2F%2Fexample.com%2F");
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("redirects disabled");
    expect(records()).toEqual([]);
  });

  test("when on, redirect only to allowed domains; the click is recorded either way", async () => {
    const { send, records } = setup({ redirects: true, redirectDomains: ["shop.example.com"] });
    const allowed = await send("/r/tp2?e=se&u=https%3A%2F%2Fshop.example.com%2Fcart%3Fa%3D1");
    expect(allowed.status).toBe(302);
    expect(allowed.headers.get("location")).toBe("https://shop.example.com/cart?a=1");
    expect((await send("/r/tp2?u=https%3A%2F%2Fevil.example.net%2F")).status).toBe(400);
    expect((await send("/r/tp2?u=javascript%3Aalert(1)")).status).toBe(400);
    expect((await send("/r/tp2?e=pv")).status).toBe(400);
    expect(records().map((record) => record.path)).toEqual(["/r/tp2", "/r/tp2", "/r/tp2", "/r/tp2"]);
  });

  test("a target with control characters (a header injection) is refused before it is recorded", async () => {
    const { send, records } = setup({ redirects: true, redirectDomains: ["shop.example.com"] });
    for (const target of ["https://shop.example.com/\r\nSet-Cookie: x=1", "https://shop.example.com/\n", "https://shop.example.com/\u0000"]) {
      expect((await send(`/r/tp2?e=pv&u=${encodeURIComponent(target)}`)).status).toBe(400);
    }
    expect(records()).toEqual([]);
  });

  test("a custom path mapped to /r/tp2 redirects even with redirects off", async () => {
    const { send, records } = setup({ paths: { "/com.acme/click": "/r/tp2" }, redirectDomains: ["acme.com"] });
    const response = await send("/com.acme/click?u=https%3A%2F%2Facme.com%2F");
    expect(response.status).toBe(302);
    expect(records()[0].path).toBe("/r/tp2");
  });

  test("turning redirects on without an allow-list is refused as configuration", () => {
    expect(configProblem(collectorConfig({ redirects: true }))).toContain("--redirect-domain");
    expect(redirectTarget("u=https%3A%2F%2Fa.com%2F", ["a.com"])).toBe("https://a.com/");
  });
});

describe("network user id and cookie", () => {
  test("a new visitor gets a fresh UUID in the record and in an sp cookie with the default attributes", async () => {
    const { send, records } = setup();
    const response = await send("/i?e=pv");
    const [cookie] = response.headers.getSetCookie();
    const nuid = records()[0].networkUserId;
    expect(nuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(cookie).toStartWith(`sp=${nuid}; Expires=`);
    expect(cookie).toContain("; Path=/; SameSite=None; Secure; HttpOnly");
    expect(cookie).not.toContain("Domain=");
    const expires = Date.parse(/Expires=([^;]+)/.exec(cookie!)![1]!);
    expect(expires).toBeGreaterThan(Date.now() + 364 * 86400_000);
    expect(expires).toBeLessThan(Date.now() + 366 * 86400_000);
  });

  test("precedence: nuid parameter over the cookie; the cookie is kept and refreshed", async () => {
    const { send, records } = setup();
    const fromQuery = "0f0e0d0c-0b0a-4908-8706-050403020100";
    const withBoth = await send(`/i?e=pv&nuid=${fromQuery}`, { headers: { Cookie: `sp=${NUID}` } });
    const withCookie = await send("/i?e=pv", { headers: { Cookie: `other=1; sp=${NUID}` } });
    expect(records().map((record) => record.networkUserId)).toEqual([fromQuery, NUID]);
    expect(withBoth.headers.getSetCookie()[0]).toStartWith(`sp=${fromQuery};`);
    expect(withCookie.headers.getSetCookie()[0]).toStartWith(`sp=${NUID};`);
  });

  test("a cookie value that is not a UUID is replaced instead of being carried forever", async () => {
    const { send, records } = setup();
    await send("/i", { headers: { Cookie: "sp=not-a-uuid" } });
    expect(records()[0].networkUserId).not.toBe("not-a-uuid");
  });

  test("Domain: first configured domain the Origin is under, else the fallback", async () => {
    const { send } = setup({ cookie: { domains: ["acme.com", "example.com"], fallbackDomain: "fallback.test" } });
    const cookieFor = async (origin?: string) =>
      (await send("/i", { headers: origin ? { Origin: origin } : {} })).headers.getSetCookie()[0];
    expect(await cookieFor("https://shop.example.com")).toContain("; Domain=example.com");
    expect(await cookieFor("https://acme.com:8443")).toContain("; Domain=acme.com");
    expect(await cookieFor("https://notacme.com")).toContain("; Domain=fallback.test");
    expect(await cookieFor()).toContain("; Domain=fallback.test");
  });

  test("attributes are configurable, and a client-readable twin cookie can be added", async () => {
    const { send } = setup({
      cookie: { name: "nuid", sameSite: "Lax", secure: false, httpOnly: true, clientCookieName: "nuid_js", expirationSeconds: 60 },
    });
    const cookies = (await send("/i")).headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toMatch(/^nuid=[0-9a-f-]{36}; Expires=[^;]+; Path=\/; SameSite=Lax; HttpOnly$/);
    expect(cookies[1]).toMatch(/^nuid_js=[0-9a-f-]{36}; Expires=[^;]+; Path=\/; SameSite=Lax$/);
  });

  test("--no-cookie: no Set-Cookie, the nuid is still recorded", async () => {
    const { send, records } = setup({ cookie: { enabled: false } });
    expect((await send("/i")).headers.getSetCookie()).toEqual([]);
    expect(records()[0].networkUserId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("SP-Anonymous: all-zero nuid, ip unknown, no forwarding or cookie headers, cookie deleted", async () => {
    const { send, records } = setup({ trustForwardedFor: true });
    const response = await send(`/i?e=pv&nuid=${NUID}`, {
      headers: { "SP-Anonymous": "*", Cookie: `sp=${NUID}`, "X-Forwarded-For": "203.0.113.9", "X-Real-Ip": "203.0.113.9" },
    });
    const [record] = records();
    expect(record.networkUserId).toBe(ANONYMOUS_NUID);
    expect(record.ipAddress).toBe("unknown");
    expect(record.headers).toContain("Sp-Anonymous: *");
    expect(record.headers.some((header: string) => /^(x-forwarded-for|x-real-ip|cookie):/i.test(header))).toBe(false);
    const [cookie] = response.headers.getSetCookie();
    expect(cookie).toStartWith("sp=; Expires=Thu, 01 Jan 1970 00:00:00 GMT;");
  });

  test("SP-Anonymous without a cookie sets none", async () => {
    const { send } = setup();
    expect((await send("/i", { headers: { "SP-Anonymous": "*" } })).headers.getSetCookie()).toEqual([]);
  });

  test("do-not-track cookie: normal answer, nothing recorded, no Set-Cookie", async () => {
    const { send, records } = setup({ doNotTrackCookie: { name: "dnt", value: /^(1|yes)$/ } });
    const opted = await send("/i", { headers: { Cookie: "dnt=yes" } });
    expect(opted.status).toBe(200);
    expect(opted.headers.get("content-type")).toBe("image/gif");
    expect(opted.headers.getSetCookie()).toEqual([]);
    await send("/i", { headers: { Cookie: "dnt=yes please" } });
    expect(records()).toHaveLength(1);
  });
});

describe("client address", () => {
  test("the socket peer unless X-Forwarded-For is trusted", async () => {
    const trusting = setup({ trustForwardedFor: true });
    const plain = setup();
    const headers = { "X-Forwarded-For": "203.0.113.9, 10.0.0.1" };
    await trusting.send("/i", { headers });
    await plain.send("/i", { headers });
    await plain.send("/i", {}, "::ffff:192.0.2.1");
    expect(trusting.records()[0].ipAddress).toBe("203.0.113.9");
    expect(plain.records().map((record) => record.ipAddress)).toEqual(["198.51.100.7", "192.0.2.1"]);
  });
});

describe("CORS", () => {
  test("preflight on any path: the caller's origin, credentials, the two allowed headers, max-age; nothing recorded", async () => {
    const { send, records } = setup({ corsMaxAgeSeconds: 120 });
    const response = await send("/anything/at/all", { method: "OPTIONS", headers: { Origin: "https://shop.example.com:8443" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://shop.example.com:8443");
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("access-control-allow-headers")).toBe("Content-Type, SP-Anonymous");
    expect(response.headers.get("access-control-max-age")).toBe("120");
    expect(response.headers.get("access-control-allow-methods")).toBeNull();
    expect(records()).toEqual([]);
  });

  test("tracking responses echo the origin, or * when it is absent or null", async () => {
    const { send } = setup();
    const origin = async (value?: string) =>
      (await send(TP2, { method: "POST", body: "{}", headers: value ? { Origin: value } : {} })).headers.get(
        "access-control-allow-origin",
      );
    expect(await origin("https://shop.example.com")).toBe("https://shop.example.com");
    expect(await origin("null")).toBe("*");
    expect(await origin()).toBe("*");
  });
});

describe("limits and back-pressure", () => {
  test("a body over the drop limit is 413 and nothing is recorded", async () => {
    const { send, records, bad } = setup({ dropPayloadBytes: 1000 });
    const response = await send(TP2, { method: "POST", body: "x".repeat(1001) });
    expect(response.status).toBe(413);
    expect(records()).toEqual([]);
    expect(bad.rows).toEqual([]);
  });

  test("a record over the sink limit (body under the drop limit) becomes one size_violation bad row, answered 200", async () => {
    const { send, records, bad, counters } = setup({ maxRecordBytes: 2000 });
    const response = await send(TP2, { method: "POST", body: "y".repeat(1900) });
    expect(response.status).toBe(200);
    expect(records()).toEqual([]);
    expect(bad.rows).toHaveLength(1);
    const row = bad.rows[0]!;
    expect(row.schema).toBe("iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0");
    expect(row.data.failure.maximumAllowedSizeBytes).toBe(2000);
    expect(row.data.failure.actualSizeBytes as number).toBeGreaterThan(2000);
    expect(row.data.failure.expectation as string).toStartWith("oversized collector payload");
    expect(typeof row.data.payload).toBe("string");
    expect(row.data.payload).toHaveLength(200);
    expect(await validateBadRow(row)).toMatchObject({ ok: true });
    expect(counters.bad).toBe(1);
  });

  test("a full queue answers 503 and turns /sink-health 503 until it has drained", async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const written: string[] = [];
    const queue = new RecordQueue(
      {
        writeLine: async (line) => {
          await blocked;
          written.push(line);
        },
      },
      { records: 2 },
    );
    const collector = new Collector(collectorConfig(), {
      output: queue,
      bad: new BadRowList(),
      counters: new StageCounters(),
      processor: { artifact: "a", version: "v" },
    });
    const send = (path: string) => collector.handle(new Request(BASE + path), "192.0.2.1");
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(`/i?n=${i}`)).status);
    expect(statuses).toEqual([200, 200, 503, 503]);
    expect((await send("/sink-health")).status).toBe(503);
    release();
    await queue.drain();
    expect(written.map((line) => JSON.parse(line).querystring)).toEqual(["n=0", "n=1"]);
    expect((await send("/sink-health")).status).toBe(200);
  });

  test("the answer waits for the archive; a record the archive refused is a 503 and never goes downstream", async () => {
    const archived: string[] = [];
    let failing = false;
    const { send, records, queue } = setup({}, {
      append: async (lines) => {
        if (failing) throw new Error("disk full");
        archived.push(...lines);
      },
    });
    expect((await send("/i?a=1")).status).toBe(200);
    expect(archived).toHaveLength(1);
    failing = true;
    expect((await send("/i?a=2")).status).toBe(503);
    failing = false;
    expect((await send("/i?a=3")).status).toBe(200);
    expect(records().map((record) => record.querystring)).toEqual(["a=1", "a=3"]);
    expect(archived.map((line) => JSON.parse(line).querystring)).toEqual(["a=1", "a=3"]);
    expect(queue.length).toBe(0);
  });

  test("a record is written downstream only after the archive has it", async () => {
    let archiveDone!: () => void;
    const { collector, records, queue } = setup({}, { append: () => new Promise<void>((resolve) => (archiveDone = resolve)) });
    const answer = collector.handle(new Request(BASE + "/i?a=1"), "192.0.2.1");
    await Bun.sleep(0);
    await queue.drain();
    expect(records()).toEqual([]);
    archiveDone();
    expect((await answer).status).toBe(200);
    await queue.drain();
    expect(records().map((record) => record.querystring)).toEqual(["a=1"]);
  });

  test("after shutdown begins, tracking requests get 503 and health routes still answer", async () => {
    const { collector, send, records } = setup();
    await collector.shutdown();
    expect((await send("/i")).status).toBe(503);
    expect((await send("/health")).status).toBe(200);
    expect((await send("/sink-health")).status).toBe(503);
    expect(records()).toEqual([]);
  });
});

describe("raw record", () => {
  test("every CollectorPayload field, headers as 'Name: value' with only valid cookie pairs", async () => {
    const { send, records } = setup();
    await send("/com.snowplowanalytics.snowplow/tp2?e=pv&aid=a%20b", {
      headers: { "User-Agent": "UA/1.0", Referer: "https://ref.example/", Cookie: 'a=1; bad pair; b="q"; c=x y' },
    });
    const [record] = records();
    expect(validateRawRecord(record)).toEqual([]);
    expect(record).toMatchObject({
      schema: "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0",
      encoding: "UTF-8",
      collector: "telemetry-collect",
      userAgent: "UA/1.0",
      refererUri: "https://ref.example/",
      querystring: "e=pv&aid=a%20b",
      hostname: "collector.test",
      ipAddress: "198.51.100.7",
    });
    expect(record.body).toBeUndefined();
    expect(record.contentType).toBeUndefined();
    expect(record.headers).toContain('Cookie: a=1; b="q"');
    expect(record.headers).toContain("User-Agent: UA/1.0");
    expect(Math.abs(record.timestamp - Date.now())).toBeLessThan(60_000);
  });

  test("ids are fresh per request", async () => {
    const { send, records } = setup();
    await send("/i");
    await send("/i");
    const [first, second] = records();
    expect(first.id).not.toBe(second.id);
  });

  test("helpers: URL splitting keeps the raw text; header names and cookies are normalised", () => {
    expect(splitRequestUrl("http://[::1]:8000/a/b?x=%ZZ&y=\"q\"")).toEqual({
      path: "/a/b",
      querystring: 'x=%ZZ&y="q"',
      hostname: "[::1]",
    });
    expect(splitRequestUrl("http://host/i")).toEqual({ path: "/i", querystring: "", hostname: "host" });
    expect(canonicalHeaderName("x-forwarded-for")).toBe("X-Forwarded-For");
    expect(validCookiePairs("a=1;b=2 ; =x; c")).toBe("a=1; b=2");
  });
});

