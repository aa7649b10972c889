/**
 * `telemetry iglu pull SOURCE DIR`: copies a registry into a local static registry
 * (`DIR/<vendor>/<name>/<format>/<version>`), for boxes that must validate offline; `--iglu DIR` or
 * `iglu serve --dir DIR` then use it. Incremental: a schema already in DIR with the same content is left
 * alone, so a second pull copies nothing.
 *
 * Which schemas: an Iglu Server lists what the caller may read (`GET …/api/schemas`). A static registry
 * (Iglu Central, a bucket, a folder behind a web server) has no list, so the keys are given instead, one
 * Iglu URI per line; they may be given for an Iglu Server too, to copy only those.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./registry-store";
import { HttpRepository } from "./repositories";
import { keyFromSelf, parseSchemaUri, sameKey, schemaPath, schemaUri, type SchemaKey } from "./schema-key";

/** The source cannot be read as a registry, or the keys cannot be had; the CLI makes it exit 2. */
export class PullError extends Error {}

export interface PullOptions {
  /** `apikey` header for an Iglu Server (private schemas). */
  apikey?: string;
  /** The keys to copy; when absent the source must list its schemas (an Iglu Server). */
  keys?: SchemaKey[];
  timeoutMs: number;
}

export interface PullReport {
  /** How the keys were found: listed by the source, or given. */
  keysFrom: "source list" | "given keys";
  copied: string[];
  /** Already in DIR, different there: replaced by the source's copy (a patched schema). */
  replaced: string[];
  unchanged: string[];
  failed: { uri: string; reason: string }[];
}

export async function pullRegistry(source: string, dir: string, options: PullOptions): Promise<PullReport> {
  const base = source.replace(/\/+$/, "");
  const keys = options.keys ?? (await listedKeys(base, options));
  const repository = new HttpRepository({ name: base, priority: 0, vendorPrefixes: [], uri: base, apikey: options.apikey, timeoutMs: options.timeoutMs });
  const report: PullReport = { keysFrom: options.keys ? "given keys" : "source list", copied: [], replaced: [], unchanged: [], failed: [] };
  for (const key of keys) {
    const uri = schemaUri(key);
    const answer = await repository.fetch(key);
    if ("failure" in answer) {
      const failure = answer.failure;
      report.failed.push({ uri, reason: failure.error === "NotFound" ? "not found" : failure.message });
      continue;
    }
    const declared = keyFromSelf((answer.schema as { self?: unknown }).self);
    if ("error" in declared || !sameKey(declared, key)) {
      report.failed.push({ uri, reason: "the source answered with a schema whose self block names another key" });
      continue;
    }
    const text = JSON.stringify(answer.schema, null, 2) + "\n";
    const file = join(dir, schemaPath(key));
    const existing = await readFile(file, "utf8").catch(() => undefined);
    if (existing !== undefined && sameJson(existing, text)) {
      report.unchanged.push(uri);
      continue;
    }
    await writeFileAtomic(file, text);
    (existing === undefined ? report.copied : report.replaced).push(uri);
  }
  return report;
}

/** The schemas an Iglu Server lets the caller read: `GET …/schemas` answers a JSON array of Iglu URIs. */
async function listedKeys(base: string, options: PullOptions): Promise<SchemaKey[]> {
  const url = `${base}/schemas`;
  const noList = `${base} did not list its schemas (${url}`;
  const hint = "a static registry such as Iglu Central cannot be listed: give the keys with --keys FILE";
  let response: Response;
  try {
    response = await fetch(url, { headers: options.apikey ? { apikey: options.apikey } : {}, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (error) {
    throw new PullError(`${base} cannot be reached: ${(error as Error).message}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok || !Array.isArray(body)) throw new PullError(`${noList} answered ${response.status} without a list); ${hint}`);
  const keys: SchemaKey[] = [];
  for (const item of body) {
    const key = parseSchemaUri(String(item));
    if ("error" in key) throw new PullError(`${noList} lists ${JSON.stringify(item)}, not an Iglu URI); ${hint}`);
    keys.push(key);
  }
  return keys;
}

/** Keys from a list: one Iglu URI per line; blank lines and lines starting with # are skipped. */
export function parseKeyList(text: string, where: string): SchemaKey[] {
  const keys: SchemaKey[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const key = parseSchemaUri(line);
    if ("error" in key) throw new PullError(`${where}:${index + 1}: ${key.error}`);
    keys.push(key);
  }
  return keys;
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}
