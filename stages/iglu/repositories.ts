/**
 * The places a resolver looks for schemas: a directory in static-registry layout (our embedded
 * `schemas/`, or any other), and an HTTP registry (an Iglu Server's `/api`, or a static file host).
 * Each answers one key with the schema, "not found", or a failure worth retrying later.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { schemaPath, type SchemaKey } from "./schema-key";
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

export interface HttpRepositoryConfig extends RepositoryConfig {
  uri: string;
  apikey?: string | null;
  /** Milliseconds before one request is abandoned; a registry that does not answer must not stall events. */
  timeoutMs: number;
}

/** An Iglu Server (`uri` ends in `/api`) or a static registry on any web server. */
export class HttpRepository implements Repository {
  readonly classPriority = 100;
  readonly name: string;
  readonly priority: number;
  readonly vendorPrefixes: string[];
  private readonly base: string;

  constructor(private readonly config: HttpRepositoryConfig) {
    this.name = config.name;
    this.priority = config.priority;
    this.vendorPrefixes = config.vendorPrefixes;
    this.base = config.uri.replace(/\/+$/, "");
  }

  async fetch(key: SchemaKey): Promise<RepositoryAnswer> {
    const url = `${this.base}/schemas/${schemaPath(key)}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: this.config.apikey ? { apikey: this.config.apikey } : {},
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (error) {
      const reason = (error as Error).name === "TimeoutError" ? `no answer within ${this.config.timeoutMs} ms` : (error as Error).message;
      return { failure: { error: "RepoFailure", message: `${url}: ${reason}` } };
    }
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
