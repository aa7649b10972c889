/**
 * Walking a folder in static-registry layout (`<vendor>/<name>/<format>/<version>`), as igluctl does:
 * every file found is reported, including those whose place in the tree is not a schema key, so that
 * nothing is skipped silently. Dot-files (server state, editor files) are not schemas.
 */
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { keyFromSelf, parseSchemaVer, type SchemaKey } from "./schema-key";

export interface SchemaFile {
  file: string;
  /** The path below the registry root, split on `/`: [vendor, name, format, version] when laid out right. */
  parts: string[];
}

/** Where a folder's schemas are: its `schemas/` when it is a static registry's root, else the folder itself. */
export async function registryBase(root: string): Promise<string> {
  const nested = join(root, "schemas");
  return (await stat(nested).catch(() => undefined))?.isDirectory() ? nested : root;
}

/** Files under `root`'s registryBase (or `root` itself when it is a file). */
export async function schemaFiles(root: string): Promise<{ base: string; files: SchemaFile[] }> {
  const info = await stat(root);
  if (info.isFile()) return { base: root, files: [{ file: root, parts: partsFromPath(root) }] };
  const base = await registryBase(root);
  const files: SchemaFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push({ file: path, parts: relative(base, path).split(sep) });
    }
  };
  await walk(base);
  return { base, files };
}

/** For a single file given by name: the last four path segments are its supposed key. */
function partsFromPath(path: string): string[] {
  return path.split(sep).slice(-4);
}

/** The key a file's place in a static registry gives it, or why its place is not a schema key. */
export function keyFromParts(parts: string[]): SchemaKey | { error: string } {
  if (parts.length !== 4) return { error: "not laid out as <vendor>/<name>/<format>/<version>" };
  const [vendor, name, format, version] = parts as [string, string, string, string];
  const parsed = parseSchemaVer(version);
  if (!parsed) return { error: `"${version}" is not a SchemaVer (MODEL-REVISION-ADDITION)` };
  return keyFromSelf({ vendor, name, format, version });
}
