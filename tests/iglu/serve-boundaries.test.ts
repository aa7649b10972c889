/**
 * What `telemetry iglu serve` must refuse, as a real process over HTTP: keys whose vendor or name would
 * lead out of its folder. The registry folder sits inside a parent folder that also holds files a client
 * must never see or create.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { removeDir, startRegistry, type RunningRegistry } from "./serve-process";

const SUPER = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b";
const META = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#";
const SECRET = "the-content-of-a-file-outside-the-registry";

let parent: string;
let registry: RunningRegistry;
let acme: { read: string; write: string };
let everyVendor: { read: string; write: string };

/**
 * One HTTP/1.1 request written byte for byte on a socket: fetch would resolve `.` and `..` (also as
 * %2E) in the path before sending, and curl --path-as-is or any other client does not.
 */
async function call(method: string, path: string, options: { key?: string; body?: unknown } = {}) {
  const url = new URL(registry.api);
  const body = options.body === undefined ? "" : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  const head = [
    `${method} ${url.pathname}${path} HTTP/1.1`,
    `host: ${url.host}`,
    "connection: close",
    "content-type: application/json",
    `content-length: ${Buffer.byteLength(body)}`,
    ...(options.key ? [`apikey: ${options.key}`] : []),
  ];
  const answer = await new Promise<string>((resolve, reject) => {
    let received = "";
    const socket = connect(Number(url.port), url.hostname, () => socket.write(`${head.join("\r\n")}\r\n\r\n${body}`));
    socket.on("data", (chunk) => (received += chunk.toString()));
    socket.on("end", () => resolve(received));
    socket.on("error", reject);
  });
  const [headers = "", ...rest] = answer.split("\r\n\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]);
  const type = /^content-type: (.*)$/im.exec(headers)?.[1] ?? null;
  return { status, text: rest.join("\r\n\r\n"), type };
}

function schemaFor(vendor: string, name: string) {
  return { $schema: META, description: "escape attempt", self: { vendor, name, format: "jsonschema", version: "1-0-0" }, type: "object" };
}

beforeAll(async () => {
  parent = mkdtempSync(join(tmpdir(), "iglu-boundaries-"));
  // Laid out like a schema one level above the registry folder: what `..` as a vendor would reach.
  mkdirSync(join(parent, "secret/x"), { recursive: true });
  writeFileSync(join(parent, "secret/x/1-0-0"), JSON.stringify({ type: "string", description: SECRET, enum: [SECRET] }));
  mkdirSync(join(parent, "registry"));
  registry = await startRegistry(join(parent, "registry"), { TELEMETRY_SUPER_API_KEY: SUPER });
  acme = JSON.parse((await call("POST", "/auth/keygen", { key: SUPER, body: { vendorPrefix: "com.acme" } })).text);
  everyVendor = JSON.parse((await call("POST", "/auth/keygen", { key: SUPER, body: { vendorPrefix: "*" } })).text);
});

afterAll(async () => {
  await registry?.stop();
  removeDir(parent);
});

describe("iglu serve keeps to its folder", () => {
  test("a vendor or name of . or .. is refused for publishing, and nothing is written outside", async () => {
    const published = [
      await call("POST", "/schemas", { key: everyVendor.write, body: schemaFor("..", "escaped") }),
      await call("POST", "/schemas", { key: SUPER, body: schemaFor("..", "escaped") }),
      await call("POST", "/schemas", { key: SUPER, body: schemaFor(".", "escaped") }),
      await call("POST", "/schemas", { key: SUPER, body: schemaFor("com.acme", "..") }),
    ];
    for (const answer of published) expect(answer.status).toBe(400);
    // In the URL a `..` or `%2E%2E` segment is resolved by the HTTP server's URL parser before any route
    // sees it; these must be refused all the same.
    for (const path of ["/schemas/%2E%2E/escaped/jsonschema/1-0-0", "/schemas/%2E/escaped/jsonschema/1-0-0", "/schemas/com.acme/%2E%2E/jsonschema/1-0-0"]) {
      expect((await call("PUT", path, { key: SUPER, body: { type: "object" } })).status).toBeGreaterThanOrEqual(400);
    }
    expect(existsSync(join(parent, "escaped"))).toBe(false);
    expect(existsSync(join(parent, "registry/escaped"))).toBe(false);
  });

  test("a read key cannot read or validate against a file outside the folder", async () => {
    const instance = { schema: "iglu:../secret/x/1-0-0", data: "anything" };
    const answers = [
      await call("POST", "/validation/validate/instance", { key: acme.read, body: instance }),
      await call("GET", "/schemas/%2E%2E/secret/x/1-0-0", { key: acme.read }),
      await call("GET", "/schemas/%2E%2E/secret/x/1-0-0"),
    ];
    for (const answer of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.text).not.toContain(SECRET);
      expect(answer.text).not.toContain(parent);
    }
  });
});

describe("iglu serve keys", () => {
  test("revoking either key of a pair revokes both", async () => {
    for (const revoked of ["read", "write"] as const) {
      const pair = JSON.parse((await call("POST", "/auth/keygen", { key: SUPER, body: { vendorPrefix: "com.pair" } })).text);
      expect((await call("DELETE", `/auth/keygen?key=${pair[revoked]}`, { key: SUPER })).status).toBe(200);
      // Both keys are now unknown, which is the same as no key: anonymous, 401 for a write.
      for (const key of [pair.read, pair.write]) expect(JSON.parse((await call("GET", "/meta/server", { key })).text).authInfo.schema).toBe("none");
      expect((await call("POST", "/schemas", { key: pair.write, body: schemaFor("com.pair", `after_${revoked}`) })).status).toBe(401);
    }
  });
});

describe("iglu serve --dir on a static registry's root", () => {
  test("the schemas under its schemas/ folder are listed, served, and new ones are published beside them", async () => {
    const root = mkdtempSync(join(tmpdir(), "iglu-static-root-"));
    mkdirSync(join(root, "schemas/com.acme/listed/jsonschema"), { recursive: true });
    writeFileSync(join(root, "schemas/com.acme/listed/jsonschema/1-0-0"), JSON.stringify(schemaFor("com.acme", "listed")));
    const staticRoot = await startRegistry(root, { TELEMETRY_SUPER_API_KEY: SUPER });
    try {
      const get = (path: string) => fetch(`${staticRoot.api}${path}`);
      expect(await (await get("/schemas")).json()).toEqual(["iglu:com.acme/listed/jsonschema/1-0-0"]);
      const one = await get("/schemas/com.acme/listed/jsonschema/1-0-0");
      expect(one.status).toBe(200);
      expect((await one.json()).self.name).toBe("listed");
      const published = await fetch(`${staticRoot.api}/schemas?isPublic=true`, {
        method: "POST",
        headers: { apikey: SUPER, "content-type": "application/json" },
        body: JSON.stringify(schemaFor("com.acme", "added")),
      });
      expect(published.status).toBe(201);
      expect(existsSync(join(root, "schemas/com.acme/added/jsonschema/1-0-0"))).toBe(true);
    } finally {
      await staticRoot.stop();
      removeDir(root);
    }
  });
});

describe("iglu serve error answers", () => {
  /** Short JSON naming no file, folder or line of source: what an anonymous client may learn. */
  function expectShortJson(answer: { status: number; text: string; type: string | null }, status: number) {
    expect({ status: answer.status, type: answer.type }).toEqual({ status, type: "application/json" });
    expect(answer.text.length).toBeLessThan(300);
    expect(typeof JSON.parse(answer.text).message).toBe("string");
    for (const leak of [parent, process.cwd(), "/work", "/tmp", ".ts", "ENAMETOOLONG"]) expect(answer.text).not.toContain(leak);
  }

  test("a path that is not valid percent-encoding is a 400", async () => {
    expectShortJson(await call("GET", "/schemas/%E0%A4%A"), 400);
    expectShortJson(await call("GET", "/schemas/com.acme/%E0%A4%A/jsonschema/1-0-0"), 400);
  });

  test("a vendor too long for a file name is not found to read, and refused to publish", async () => {
    const long = `com.${"a".repeat(300)}`;
    expectShortJson(await call("GET", `/schemas/${long}/x/jsonschema/1-0-0`), 404);
    expectShortJson(await call("POST", "/validation/validate/instance", { key: acme.read, body: { schema: `iglu:${long}/x/jsonschema/1-0-0`, data: {} } }), 404);
    expectShortJson(await call("POST", "/schemas", { key: SUPER, body: schemaFor(long, "x") }), 400);
  });
});
