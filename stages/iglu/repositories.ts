/**
 * The places a resolver looks for schemas: a directory in static-registry layout (our embedded
 * `schemas/`, or any other), and an HTTP registry (an Iglu Server's `/api`, or a static file host).
 * Each answers one key with the schema, "not found", or a failure worth retrying later.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { SchemaCache } from "./schema-cache";
import { keyFromSelf, sameKey, schemaPath, type SchemaKey } from "./schema-key";
import { shippedPath } from "../shared/shipped-files";

/** Registry errors as the Iglu client writes them into a lookup history. */
export type RegistryError =
  | { error: "NotFound" }
  | { error: "RepoFailure"; message: string }
  | { error: "ClientFailure"; message: string };

export type RepositoryAnswer = { schema: object } | { failure: RegistryError };

export interface Repository {
  name: string;
  /** The configured priority: lower is tried earlier. */
  priority: number;
  /** Vendors starting with one of these are looked up here before anywhere else. */
  vendorPrefixes: string[];
  /** Iglu's class priority: local registries (2) are asked before HTTP ones (100). */
  classPriority: number;
  fetch(key: SchemaKey): Promise<RepositoryAnswer>;
}

/** The `schemas/` folder of this repository: the schemas the pipeline ships. */
export const EMBEDDED_SCHEMAS_DIR = shippedPath("schemas");

/** The name the Iglu client gives its own bundled registry; kept so lookup histories read the same. */
export const EMBEDDED_REPOSITORY_NAME = "Iglu Client Embedded";

/** How HTTP registries are asked: the timeout of one request, and the disk cache of what they answered. */
export interface HttpLookupOptions {
  timeoutMs: number;
  cache?: SchemaCache;
}

/** The public registries, asked last, in the order given (priorities above anything a user configures). */
export function igluCentralRepositories(urls: readonly string[], lookup: HttpLookupOptions): HttpRepository[] {
  return urls.map(
    (uri, index) =>
      new HttpRepository({ name: index === 0 ? "Iglu Central" : `Iglu Central - Mirror ${index}`, priority: 1000 + index, vendorPrefixes: [], uri, ...lookup }),
  );
}

export interface RepositoryConfig {
  name: string;
  priority: number;
  vendorPrefixes: string[];
}

/** A folder laid out as `<vendor>/<name>/<format>/<version>` (or one holding such a `schemas/` folder). */
export class DirectoryRepository implements Repository {
  readonly classPriority = 2;
  readonly name: string;
  readonly priority: number;
  readonly vendorPrefixes: string[];

  constructor(readonly root: string, config: RepositoryConfig) {
    this.name = config.name;
    this.priority = config.priority;
    this.vendorPrefixes = config.vendorPrefixes;
  }

  /** A static registry's root holds `schemas/`; our own `schemas/` folder is handed over directly. */
  static async open(path: string, config: RepositoryConfig): Promise<DirectoryRepository> {
    const nested = join(path, "schemas");
    const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
    if (!(await isDir(path))) throw new Error(`${path} is not a directory`);
    return new DirectoryRepository((await isDir(nested)) ? nested : path, config);
  }

  async fetch(key: SchemaKey): Promise<RepositoryAnswer> {
    let text: string;
    try {
      text = await readFile(join(this.root, schemaPath(key)), "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return { failure: { error: "NotFound" } };
      return { failure: { error: "RepoFailure", message: (error as Error).message } };
    }
    return parseSchemaBody(text, join(this.root, schemaPath(key)));
  }
}

/** `timeoutMs`: a registry that does not answer must not stall events; `cache`: none keeps answers in memory only. */
export interface HttpRepositoryConfig extends RepositoryConfig, HttpLookupOptions {
  uri: string;
  apikey?: string | null;
}

/** After a registry could not be reached, it is not asked again for this long (doubling while it stays away). */
const UNREACHABLE_FIRST_PAUSE_MS = 1000;
const UNREACHABLE_LONGEST_PAUSE_MS = 60_000;

/** An Iglu Server (`uri` ends in `/api`) or a static registry on any web server. */
export class HttpRepository implements Repository {
  readonly classPriority = 100;
  readonly name: string;
  readonly priority: number;
  readonly vendorPrefixes: string[];
  readonly base: string;
  /**
   * A registry that did not answer (refused, unresolvable, timed out) is skipped until `pausedUntil`, for
   * every schema: otherwise each new key would wait out the timeout again while the registry is away.
   */
  private pausedUntil = 0;
  private pauseMs = 0;
  private lastUnreachable = "";

  constructor(private readonly config: HttpRepositoryConfig) {
    this.name = config.name;
    this.priority = config.priority;
    this.vendorPrefixes = config.vendorPrefixes;
    this.base = config.uri.replace(/\/+$/, "");
  }

  async fetch(key: SchemaKey): Promise<RepositoryAnswer> {
    const cached = await this.config.cache?.read(this.base, key);
    if (cached?.fresh) return { schema: cached.schema };
    const answer = await this.ask(key);
    if ("schema" in answer) {
      const declared = keyFromSelf((answer.schema as { self?: unknown }).self);
      // Only a schema filed under its own key is kept; the resolver reports the others as InvalidSchema.
      if (!("error" in declared) && sameKey(declared, key)) await this.config.cache?.write(this.base, key, answer.schema);
      return answer;
    }
    // The registry is away (or failing): what it answered before still holds.
    if (cached && answer.failure.error === "RepoFailure") return { schema: cached.schema };
    return answer;
  }

  private async ask(key: SchemaKey): Promise<RepositoryAnswer> {
    const url = `${this.base}/schemas/${schemaPath(key)}`;
    if (Date.now() < this.pausedUntil) {
      return { failure: { error: "RepoFailure", message: `${url}: not asked, ${this.base} was unreachable moments ago (${this.lastUnreachable})` } };
    }
    let response: Response;
    try {
      response = await fetch(url, {
        headers: this.config.apikey ? { apikey: this.config.apikey } : {},
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (error) {
      const reason = (error as Error).name === "TimeoutError" ? `no answer within ${this.config.timeoutMs} ms` : (error as Error).message;
      this.pauseMs = Math.min(UNREACHABLE_LONGEST_PAUSE_MS, Math.max(UNREACHABLE_FIRST_PAUSE_MS, this.pauseMs * 2));
      this.pausedUntil = Date.now() + this.pauseMs;
      this.lastUnreachable = reason;
      return { failure: { error: "RepoFailure", message: `${url}: ${reason}` } };
    }
    this.pauseMs = 0;
    const text = await response.text().catch(() => "");
    if (response.status === 404) return { failure: { error: "NotFound" } };
    if (!response.ok) return { failure: { error: "RepoFailure", message: `${url}: HTTP ${response.status} ${text.slice(0, 200)}` } };
    return parseSchemaBody(text, url);
  }
}

function parseSchemaBody(text: string, where: string): RepositoryAnswer {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    return { failure: { error: "ClientFailure", message: `${where} is not JSON: ${(error as Error).message}` } };
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return { failure: { error: "ClientFailure", message: `${where} is not a JSON object` } };
  }
  return { schema };
}

/** The order Iglu's resolver asks registries for a vendor: prefix matches, then class, then priority. */
export function prioritize(repositories: readonly Repository[], vendor: string): Repository[] {
  const matches = (r: Repository) => (r.vendorPrefixes.some((prefix) => vendor.startsWith(prefix)) ? 0 : 1);
  return [...repositories].sort(
    (a, b) => matches(a) - matches(b) || a.classPriority - b.classPriority || a.priority - b.priority,
  );
}
