/**
 * The registry on disk behind `telemetry iglu serve`: schemas as plain files in static-registry layout
 * (so the same folder is also a static registry and the embedded one), plus a small state file with
 * what a static layout cannot hold: per-schema metadata (isPublic, createdAt, updatedAt) and API keys.
 * Every write goes to a temporary file in the same folder and is renamed into place, so a reader
 * sees the old file or the new one, never half of one.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { schemaPath, schemaUri, type SchemaKey } from "./schema-key";
import { keyFromParts, registryBase, schemaFiles } from "./static-layout";

export interface SchemaMetadata {
  isPublic: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  key: string;
  vendorPrefix: string;
  permission: "read" | "write";
  /** Shared by the read and write key one keygen made: revoking either revokes both. */
  pair: string;
}

export interface StoredSchema {
  key: SchemaKey;
  metadata: SchemaMetadata;
}

interface State {
  schemas: Record<string, SchemaMetadata>;
  apiKeys: ApiKey[];
}

/** A key that names no file this registry can hold: outside its folder, or a part too long for a file name. */
export class UnstorableKeyError extends Error {}

/** The longest file or folder name (NAME_MAX on Linux and macOS), in bytes. */
const NAME_MAX_BYTES = 255;

/** The state file's default name, inside the registry folder (dot-files are not schemas). */
export const DEFAULT_STATE_FILE = ".iglu-server.json";

export class RegistryStore {
  private constructor(
    /** The folder given (--dir); the state file sits in it by default. */
    readonly root: string,
    /** Where the schema files are: `root`, or its `schemas/` when `root` is a static registry's root. */
    private readonly base: string,
    private readonly statePath: string,
    private state: State,
  ) {}

  static async open(root: string, statePath = join(root, DEFAULT_STATE_FILE)): Promise<RegistryStore> {
    await mkdir(root, { recursive: true });
    let state: State = { schemas: {}, apiKeys: [] };
    try {
      state = { ...state, ...JSON.parse(await readFile(statePath, "utf8")) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${statePath}: ${(error as Error).message}`);
    }
    pairUnpairedKeys(state.apiKeys);
    return new RegistryStore(root, await registryBase(root), statePath, state);
  }

  /** Every schema file whose place in the tree is a schema key. Files put there by hand count as public. */
  async list(): Promise<StoredSchema[]> {
    const { files } = await schemaFiles(this.base);
    const stored: StoredSchema[] = [];
    for (const { file, parts } of files) {
      const key = keyFromParts(parts);
      if ("error" in key) continue;
      stored.push({ key, metadata: this.state.schemas[schemaPath(key)] ?? (await handPlacedMetadata(file)) });
    }
    return stored;
  }

  /** The schema and its metadata; undefined when there is none (also for a key no file can hold). */
  async read(key: SchemaKey): Promise<{ schema: unknown; metadata: SchemaMetadata } | undefined> {
    let file: string;
    try {
      file = this.fileOf(key);
    } catch (error) {
      if (error instanceof UnstorableKeyError) return undefined;
      throw error;
    }
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
      throw error;
    }
    const metadata = this.state.schemas[schemaPath(key)] ?? (await handPlacedMetadata(file));
    return { schema: JSON.parse(text), metadata };
  }

  async write(key: SchemaKey, schema: object, isPublic: boolean): Promise<void> {
    const now = new Date().toISOString();
    const previous = this.state.schemas[schemaPath(key)];
    await writeFileAtomic(this.fileOf(key), JSON.stringify(schema, null, 2) + "\n");
    this.state.schemas[schemaPath(key)] = { isPublic, createdAt: previous?.createdAt ?? now, updatedAt: now };
    await this.saveState();
  }

  async delete(key: SchemaKey): Promise<void> {
    await rm(this.fileOf(key), { force: true });
    delete this.state.schemas[schemaPath(key)];
    await this.saveState();
  }

  apiKeys(): readonly ApiKey[] {
    return this.state.apiKeys;
  }

  async addApiKeys(keys: ApiKey[]): Promise<void> {
    this.state.apiKeys = [...this.state.apiKeys, ...keys];
    await this.saveState();
  }

  /** Removes a key and its read/write sibling; false when no such key exists. */
  async removeApiKey(key: string): Promise<boolean> {
    const found = this.state.apiKeys.find((k) => k.key === key);
    if (!found) return false;
    this.state.apiKeys = this.state.apiKeys.filter((k) => k.pair !== found.pair);
    await this.saveState();
    return true;
  }

  describe(key: SchemaKey): string {
    return `${schemaUri(key)} at ${this.fileOf(key)}`;
  }

  /**
   * A key's file. Keys are checked where they are parsed, but a file outside the registry would be
   * read out to callers or written over: checked once more here, where the path is made.
   */
  private fileOf(key: SchemaKey): string {
    const relativePath = schemaPath(key);
    if (relativePath.split("/").some((part) => Buffer.byteLength(part) > NAME_MAX_BYTES)) {
      throw new UnstorableKeyError(`a part of ${schemaUri(key).slice(0, 80)}… is longer than the ${NAME_MAX_BYTES} bytes a file name may have`);
    }
    const file = resolve(this.base, relativePath);
    if (!file.startsWith(resolve(this.base) + sep)) throw new UnstorableKeyError(`${schemaUri(key)} does not name a file inside the registry`);
    return file;
  }

  private async saveState(): Promise<void> {
    // Holds API keys: readable by the owner only.
    await writeFileAtomic(this.statePath, JSON.stringify(this.state, null, 2) + "\n", 0o600);
  }
}

/**
 * State files from before keys carried their pair: keygen always appended a read key and then its write
 * key, so such neighbours (same prefix) are a pair; any other key stands alone.
 */
function pairUnpairedKeys(keys: ApiKey[]): void {
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    if (key.pair !== undefined) continue;
    key.pair = key.key;
    const next = keys[index + 1];
    if (key.permission === "read" && next?.pair === undefined && next?.permission === "write" && next.vendorPrefix === key.vendorPrefix) {
      next.pair = key.key;
      index++;
    }
  }
}

async function handPlacedMetadata(file: string): Promise<SchemaMetadata> {
  const time = (await stat(file)).mtime.toISOString();
  return { isPublic: true, createdAt: time, updatedAt: time };
}

/** Write beside the target under a dot-name (invisible to registry walks), flush, then rename over it. */
export async function writeFileAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const handle = await open(temporary, "wx", mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
