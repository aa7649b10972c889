/**
 * An Iglu-Server-compatible registry over a folder: the `/api/schemas`, `/api/auth`,
 * `/api/validation` and `/api/meta` routes of snowplow/iglu-server, answered by one plain
 * `handle(Request) → Response` function (the CLI puts it behind Bun.serve; tests can call it directly).
 */
import { randomUUID } from "node:crypto";
import type Ajv from "ajv-draft-04";
import { compileSchema, createAjv, dataReports, SELF_DESC_META_URI } from "./json-schema";
import { lintSchema, type LintFinding } from "./lint";
import { RegistryStore, UnstorableKeyError, type ApiKey, type SchemaMetadata, type StoredSchema } from "./registry-store";
import {
  compareSchemaVer,
  keyFromSelf,
  parseSchemaUri,
  parseSchemaVer,
  schemaUri,
  schemaVerString,
  type SchemaKey,
} from "./schema-key";
import { sequenceRefusal } from "./version-sequence";

export interface IgluServerOptions {
  store: RegistryStore;
  /** Full rights, including key management. Without one, no keys can be made. */
  superApiKey?: string;
  /** Allow overwriting and deleting published versions (Iglu's `patchesAllowed`). */
  patchesAllowed?: boolean;
  /** Largest accepted request body, in bytes (Iglu Server's `maxPayloadSize`). */
  maxPayloadSize?: number;
  version: string;
}

type Caller = { kind: "super" } | { kind: "key"; key: ApiKey } | { kind: "anonymous" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NOT_FOUND = { message: "The schema is not found" };
const NOT_AUTHORIZED = { message: "Authentication error: not authorized" };
const DEFAULT_MAX_PAYLOAD = 100_000;

export function isUuid(text: string): boolean {
  return UUID.test(text);
}

export class IgluServer {
  private readonly ajv: Ajv = createAjv();
  /** Publications, deletions and key changes run one at a time, so sequence checks see every write. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: IgluServerOptions) {}

  /**
   * Answers the request. A failure that is the caller's (HttpError) is answered here; any other throw
   * (a file on disk that is not JSON, a full disk) goes to the HTTP server's error handler, which
   * answers a short 500 and tells the operator, not the client, what happened.
   */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      const segments = url.pathname.split("/").filter(Boolean).map(decodePathSegment);
      if (segments[0] !== "api") return json(404, { message: "The resource is not found" });
      const caller = this.authenticate(request);
      if (caller instanceof Response) return caller;
      const [, area, ...rest] = segments;
      if (area === "meta") return await this.meta(request, rest, caller);
      if (area === "schemas") return await this.schemas(request, url, rest, caller);
      if (area === "auth") return await this.auth(request, url, rest, caller);
      if (area === "validation") return await this.validation(request, rest, caller);
      return json(404, { message: "The resource is not found" });
    } catch (error) {
      if (error instanceof HttpError) return json(error.status, error.body);
      throw error;
    }
  }

  // --- authentication -------------------------------------------------------------------------

  private authenticate(request: Request): Caller | Response {
    const header = request.headers.get("apikey");
    if (header === null || header === "") return { kind: "anonymous" };
    if (!isUuid(header)) return json(400, { message: "Invalid UUID for ApiKey" });
    const key = header.toLowerCase();
    if (this.options.superApiKey && key === this.options.superApiKey.toLowerCase()) return { kind: "super" };
    const known = this.options.store.apiKeys().find((k) => k.key === key);
    // An unknown key is the same as no key at all.
    return known ? { kind: "key", key: known } : { kind: "anonymous" };
  }

  private canRead(caller: Caller, vendor: string, metadata: SchemaMetadata): boolean {
    if (metadata.isPublic || caller.kind === "super") return true;
    return caller.kind === "key" && prefixCovers(caller.key.vendorPrefix, vendor);
  }

  private canWrite(caller: Caller, vendor: string): boolean {
    if (caller.kind === "super") return true;
    return caller.kind === "key" && caller.key.permission === "write" && prefixCovers(caller.key.vendorPrefix, vendor);
  }

  /** 401 when the caller has no key we know, 403 when the key lacks the right. */
  private refuse(caller: Caller): never {
    throw new HttpError(caller.kind === "anonymous" ? 401 : 403, NOT_AUTHORIZED);
  }

  // --- /api/meta ------------------------------------------------------------------------------

  private async meta(request: Request, rest: string[], caller: Caller): Promise<Response> {
    if (request.method !== "GET") return methodNotAllowed();
    if (rest[0] === "health" && rest.length === 1) return new Response("OK", { headers: { "content-type": "text/plain" } });
    if (rest[0] === "server" && rest.length === 1) {
      const schemas = await this.readable(caller);
      return json(200, {
        version: this.options.version,
        authInfo: authInfo(caller),
        database: "filesystem",
        schemaCount: schemas.length,
        debug: false,
        patchesAllowed: this.options.patchesAllowed ?? false,
      });
    }
    return json(404, { message: "The resource is not found" });
  }

  // --- /api/schemas ---------------------------------------------------------------------------

  private async schemas(request: Request, url: URL, rest: string[], caller: Caller): Promise<Response> {
    const repr = url.searchParams.get("repr");
    if (request.method === "GET") {
      if (rest.length === 4 && rest[3]!.includes("-")) return this.readOne(keyFromPath(rest), repr ?? "canonical", caller);
      if (rest.length === 4) {
        const model = Number(rest[3]);
        if (!/^[1-9][0-9]*$/.test(rest[3]!)) throw new HttpError(400, { message: `"${rest[3]}" is neither a version nor a model number` });
        return this.listing(caller, repr ?? "uri", (k) => k.vendor === rest[0] && k.name === rest[1] && k.format === rest[2] && k.version.model === model);
      }
      if (rest.length <= 2) {
        return this.listing(caller, repr ?? "uri", (k) => (rest[0] === undefined || k.vendor === rest[0]) && (rest[1] === undefined || k.name === rest[1]));
      }
      return json(404, { message: "The resource is not found" });
    }
    if (request.method === "POST" && rest.length === 0) return this.publish(request, url, caller, undefined);
    if (request.method === "PUT" && rest.length === 4) return this.publish(request, url, caller, keyFromPath(rest));
    if (request.method === "DELETE" && rest.length === 4) return this.remove(keyFromPath(rest), caller);
    return methodNotAllowed();
  }

  private async readOne(key: SchemaKey, repr: string, caller: Caller): Promise<Response> {
    const found = await this.options.store.read(key);
    if (!found || !this.canRead(caller, key.vendor, found.metadata)) return json(404, NOT_FOUND);
    return json(200, represent(key, found.schema, found.metadata, repr));
  }

  private async listing(caller: Caller, repr: string, wanted: (key: SchemaKey) => boolean): Promise<Response> {
    const schemas = (await this.readable(caller)).filter((s) => wanted(s.key));
    if (repr === "uri") return json(200, schemas.map((s) => schemaUri(s.key)));
    const bodies = [];
    for (const s of schemas) {
      const found = await this.options.store.read(s.key);
      if (found) bodies.push(represent(s.key, found.schema, found.metadata, repr));
    }
    return json(200, bodies);
  }

  /** Schemas the caller may read, in vendor/name/format order and by version within each. */
  private async readable(caller: Caller): Promise<StoredSchema[]> {
    const all = await this.options.store.list();
    return all
      .filter((s) => this.canRead(caller, s.key.vendor, s.metadata))
      .sort(
        (a, b) =>
          a.key.vendor.localeCompare(b.key.vendor) ||
          a.key.name.localeCompare(b.key.name) ||
          a.key.format.localeCompare(b.key.format) ||
          compareSchemaVer(a.key.version, b.key.version),
      );
  }

  private async publish(request: Request, url: URL, caller: Caller, pathKey: SchemaKey | undefined): Promise<Response> {
    if (caller.kind === "anonymous") this.refuse(caller);
    const body = await this.readJson(request);
    let document = body;
    let key: SchemaKey;
    if (pathKey === undefined) {
      const declared = isObject(body) ? keyFromSelf(body.self) : { error: "the body is not a JSON object" };
      if ("error" in declared) throw new HttpError(400, { message: `The body must be a self-describing schema: ${declared.error}` });
      key = declared;
    } else {
      key = pathKey;
      if (!isObject(body)) throw new HttpError(400, { message: "The body is not a JSON object" });
      if ("self" in body) {
        const declared = keyFromSelf(body.self);
        const payloadSchemaKey = "error" in declared ? declared.error : schemaUri(declared);
        if (payloadSchemaKey !== schemaUri(key)) {
          throw new HttpError(400, { message: "The schema key in the URI does not match the one in the payload", uriSchemaKey: schemaUri(key), payloadSchemaKey });
        }
      } else {
        // A bare JSON Schema: the server makes it self-describing with the key from the path.
        document = { $schema: SELF_DESC_META_URI, self: selfOf(key), ...body };
      }
    }
    if (!this.canWrite(caller, key.vendor)) this.refuse(caller);
    const errors = lintSchema(document, { expectedKey: key }).filter((f) => f.level === "ERROR");
    if (errors.length > 0) {
      throw new HttpError(400, { message: "The schema does not conform to a JSON Schema v4 specification", report: lintReport(errors) });
    }
    const isPublic = url.searchParams.get("isPublic") === "true";
    return this.serialized(async () => {
      const { store } = this.options;
      const family = (await store.list()).filter((s) => s.key.vendor === key.vendor && s.key.name === key.name && s.key.format === key.format);
      const existing = family.find((s) => compareSchemaVer(s.key.version, key.version) === 0);
      if (existing && !this.options.patchesAllowed) {
        throw new HttpError(409, { message: `Schema ${schemaUri(key)} already exists` });
      }
      if (!existing) {
        const refusal = sequenceRefusal(family.map((s) => s.key.version), key.version);
        if (refusal) throw new HttpError(409, { message: `Preserving schema version sequence: ${refusal}` });
      }
      const mismatch = family.find((s) => s.metadata.isPublic !== isPublic && compareSchemaVer(s.key.version, key.version) !== 0);
      if (mismatch) {
        throw new HttpError(409, {
          message: `All versions of ${key.vendor}/${key.name} must be ${mismatch.metadata.isPublic ? "public" : "private"}, as ${schemaUri(mismatch.key)} is`,
        });
      }
      const supersedes = (document as { $supersedes?: unknown }).$supersedes;
      if (supersedes !== undefined) checkSupersedes(supersedes, key, family);
      try {
        await store.write(key, document as object, isPublic);
      } catch (error) {
        if (error instanceof UnstorableKeyError) throw new HttpError(400, { message: error.message });
        throw error;
      }
      const status = existing ? 200 : 201;
      return json(status, { message: existing ? "Schema updated" : "Schema created", updated: Boolean(existing), location: schemaUri(key), status });
    });
  }

  private async remove(key: SchemaKey, caller: Caller): Promise<Response> {
    if (caller.kind !== "super") this.refuse(caller);
    if (!this.options.patchesAllowed) return json(405, { message: "DELETE is forbidden on production registry" });
    return this.serialized(async () => {
      if (!(await this.options.store.read(key))) return json(404, NOT_FOUND);
      await this.options.store.delete(key);
      return json(200, { message: "Schema deleted" });
    });
  }

  // --- /api/auth ------------------------------------------------------------------------------

  private async auth(request: Request, url: URL, rest: string[], caller: Caller): Promise<Response> {
    if (rest[0] !== "keygen" || rest.length !== 1) return json(404, { message: "The resource is not found" });
    if (caller.kind !== "super") this.refuse(caller);
    if (request.method === "POST") {
      const body = (await request.text()).trim();
      let prefix: unknown = url.searchParams.get("vendor_prefix") ?? undefined;
      if (body) {
        const parsed = parseJson(body);
        if (!isObject(parsed)) throw new HttpError(400, { message: "The body must be {\"vendorPrefix\": \"...\"}" });
        prefix = parsed.vendorPrefix;
      }
      if (typeof prefix !== "string") throw new HttpError(400, { message: "vendorPrefix is required (\"*\" for every vendor)" });
      const read = randomUUID();
      const write = randomUUID();
      await this.serialized(() =>
        this.options.store.addApiKeys([
          { key: read, vendorPrefix: prefix as string, permission: "read", pair: read },
          { key: write, vendorPrefix: prefix as string, permission: "write", pair: read },
        ]),
      );
      return json(201, { read, write });
    }
    if (request.method === "DELETE") {
      const key = url.searchParams.get("key") ?? "";
      if (!isUuid(key)) throw new HttpError(400, { message: "Invalid UUID for ApiKey" });
      const removed = await this.serialized(() => this.options.store.removeApiKey(key.toLowerCase()));
      return removed ? json(200, { message: "Keys have been deleted" }) : json(404, { message: "The key is not found" });
    }
    return methodNotAllowed();
  }

  // --- /api/validation ------------------------------------------------------------------------

  private async validation(request: Request, rest: string[], caller: Caller): Promise<Response> {
    if (request.method !== "POST") return methodNotAllowed();
    if (caller.kind === "anonymous") throw new HttpError(403, NOT_AUTHORIZED);
    const route = rest.join("/");
    if (route === "validate/schema/jsonschema") {
      const document = await this.readJson(request);
      const findings = lintSchema(document);
      const declared = isObject(document) ? keyFromSelf(document.self) : { error: "not an object" };
      if (findings.some((f) => f.level === "ERROR") || "error" in declared) {
        return json(200, { message: "The schema does not conform to a JSON Schema v4 specification", report: lintReport(findings) });
      }
      return json(200, { message: `The schema provided is a valid self-describing ${schemaUri(declared)} schema`, report: lintReport(findings) });
    }
    if (route === "validate/instance") {
      const instance = await this.readJson(request);
      const key = isObject(instance) && typeof instance.schema === "string" && "data" in instance ? parseSchemaUri(instance.schema) : undefined;
      if (!key || "error" in key) throw new HttpError(400, { message: "The body is not a self-describing JSON ({\"schema\": \"iglu:...\", \"data\": ...})" });
      const found = await this.options.store.read(key);
      if (!found || !this.canRead(caller, key.vendor, found.metadata)) return json(404, NOT_FOUND);
      const compiled = compileSchema(this.ajv, found.schema as object);
      if ("invalid" in compiled) return json(200, { message: `The stored schema ${schemaUri(key)} is invalid: ${compiled.invalid}` });
      const valid = compiled((instance as { data: unknown }).data);
      const report = dataReports(compiled.errors);
      // Each request may see a patched schema; compiled code is not kept.
      this.ajv.removeSchema(found.schema as object);
      if (valid) return json(200, { message: `Instance is valid ${schemaUri(key)}` });
      return json(200, { message: `The data for ${schemaUri(key)} is invalid against its schema`, report });
    }
    return json(404, { message: "The resource is not found" });
  }

  // --- helpers --------------------------------------------------------------------------------

  private async readJson(request: Request): Promise<unknown> {
    const limit = this.options.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD;
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > limit) throw new HttpError(413, { message: `The body is larger than ${limit} bytes` });
    const text = await request.text();
    if (Buffer.byteLength(text) > limit) throw new HttpError(413, { message: `The body is larger than ${limit} bytes` });
    return parseJson(text);
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.writes.then(work);
    this.writes = result.catch(() => undefined);
    return result;
  }
}

class HttpError extends Error {
  constructor(readonly status: number, readonly body: object) {
    super(JSON.stringify(body));
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function methodNotAllowed(): Response {
  return json(405, { message: "Method not allowed" });
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, { message: "The path is not valid percent-encoding" });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, { message: `The body is not JSON: ${(error as Error).message}` });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function keyFromPath([vendor, name, format, version]: string[]): SchemaKey {
  const key = parseSchemaUri(`iglu:${vendor}/${name}/${format}/${version}`);
  if ("error" in key) throw new HttpError(400, { message: key.error });
  return key;
}

function selfOf(key: SchemaKey) {
  return { vendor: key.vendor, name: key.name, format: key.format, version: schemaVerString(key.version) };
}

function represent(key: SchemaKey, schema: unknown, metadata: SchemaMetadata, repr: string): unknown {
  if (repr === "uri") return schemaUri(key);
  if (repr === "meta") return { self: selfOf(key), metadata };
  return schema;
}

function lintReport(findings: LintFinding[]) {
  return findings.map((f) => ({ message: f.message, level: f.level, pointer: f.pointer || "/" }));
}

/** A vendor prefix covers a vendor when its dot-separated parts begin the vendor's ("*" or "" covers all). */
export function prefixCovers(prefix: string, vendor: string): boolean {
  if (prefix === "*" || prefix === "") return true;
  const want = prefix.split(".");
  const have = vendor.split(".");
  return want.length <= have.length && want.every((part, i) => part === have[i]);
}

function authInfo(caller: Caller) {
  if (caller.kind === "super") return { vendor: "*", schema: "super", key: ["create", "delete"] };
  if (caller.kind === "key") return { vendor: caller.key.vendorPrefix, schema: caller.key.permission, key: [] };
  return { vendor: "", schema: "none", key: [] };
}

function checkSupersedes(supersedes: unknown, key: SchemaKey, family: StoredSchema[]): void {
  if (!Array.isArray(supersedes)) throw new HttpError(400, { message: "$supersedes must be an array of versions" });
  for (const entry of supersedes) {
    const version = typeof entry === "string" ? parseSchemaVer(entry) : undefined;
    if (!version || compareSchemaVer(version, key.version) >= 0 || !family.some((s) => compareSchemaVer(s.key.version, version) === 0)) {
      throw new HttpError(409, { message: `$supersedes lists ${JSON.stringify(entry)}, which is not an existing lower version of ${key.vendor}/${key.name}` });
    }
  }
}
