/**
 * Schemas resolved from remote registries, kept on disk so that a restart without the network still
 * validates what was seen before. One static-registry folder per remote registry
 * (`<cache>/<registry>/<vendor>/<name>/<format>/<version>`), so a cached folder can also be given to
 * `--iglu` as it is. A file's modification time is when it was fetched: within the resolver's cacheTtl it
 * is used without asking the registry; past it the registry is asked again, and the old copy serves only
 * while the registry cannot be reached.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./registry-store";
import { schemaPath, type SchemaKey } from "./schema-key";

export interface CachedSchema {
  schema: object;
  /** Still within the cache TTL: no need to ask the registry. */
  fresh: boolean;
}

export class SchemaCache {
  /**
   * `root`: the cache folder; `ttlMs`: how long a copy is fresh (undefined: always).
   */
  constructor(readonly root: string, private readonly ttlMs: number | undefined) {}

  /** The folder holding the copies from one registry, named after its URL (`http://host:8081/api` → `host_8081_api`). */
  folderFor(registryUri: string): string {
    const name = registryUri
      .replace(/^[a-z]+:\/\//i, "")
      .replace(/\/+$/, "")
      .replace(/[^a-zA-Z0-9.-]+/g, "_");
    return join(this.root, name || "_");
  }

  async read(registryUri: string, key: SchemaKey): Promise<CachedSchema | undefined> {
    const file = join(this.folderFor(registryUri), schemaPath(key));
    try {
      const [text, info] = await Promise.all([readFile(file, "utf8"), stat(file)]);
      const schema: unknown = JSON.parse(text);
      if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return undefined;
      const fresh = this.ttlMs === undefined || Date.now() - info.mtimeMs < this.ttlMs;
      return { schema, fresh };
    } catch {
      // Missing, unreadable or half-written by something else: as good as not cached.
      return undefined;
    }
  }

  /** Best effort: a cache that cannot be written costs a lookup after a restart, never an event. */
  async write(registryUri: string, key: SchemaKey, schema: object): Promise<void> {
    await writeFileAtomic(join(this.folderFor(registryUri), schemaPath(key)), JSON.stringify(schema, null, 2) + "\n").catch(() => {});
  }
}
