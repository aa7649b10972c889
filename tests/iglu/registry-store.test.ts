/** The registry's disk writes: whole files only, never a half-written schema. */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegistryStore, UnstorableKeyError, writeFileAtomic } from "../../stages/iglu/registry-store";
import { keyFromSelf, parseSchemaUri } from "../../stages/iglu/schema-key";
import { removeDir } from "./serve-process";

let dir: string;
afterEach(() => removeDir(dir));

test("readers see the old or the new file while it is rewritten, never a mix", async () => {
  dir = mkdtempSync(join(tmpdir(), "iglu-atomic-"));
  const path = join(dir, "1-0-0");
  const versions = ["a", "b", "c", "d"].map((letter) => letter.repeat(4 * 1024 * 1024));
  await writeFileAtomic(path, versions[0]!);
  const seen = new Set<string>();
  let writing = true;
  const reader = (async () => {
    while (writing) {
      const text = await readFile(path, "utf8");
      seen.add(versions.includes(text) ? text[0]! : `partial (${text.length} bytes)`);
    }
  })();
  for (const text of versions.slice(1)) await writeFileAtomic(path, text);
  writing = false;
  await reader;
  expect([...seen].filter((s) => s.startsWith("partial"))).toEqual([]);
  expect(readFileSync(path, "utf8")).toBe(versions[3]!);
  expect(readdirSync(dir)).toEqual(["1-0-0"]);
});

test("a vendor of ., .. or with an empty label is no key; a key that leads out of the folder is refused by the store", async () => {
  for (const vendor of [".", "..", ".acme", "acme.", "com..acme"]) {
    expect(parseSchemaUri(`iglu:${vendor}/x/jsonschema/1-0-0`)).toHaveProperty("error");
    expect(keyFromSelf({ vendor, name: "x", format: "jsonschema", version: "1-0-0" })).toHaveProperty("error");
  }
  expect(parseSchemaUri("iglu:com.acme-corp_1/x/jsonschema/1-0-0")).toMatchObject({ vendor: "com.acme-corp_1" });
  dir = mkdtempSync(join(tmpdir(), "iglu-root-"));
  const store = await RegistryStore.open(join(dir, "registry"));
  // Made by hand, past every parser: the store checks the path it makes all the same.
  const outside = { vendor: "..", name: "secret", format: "x", version: { model: 1, revision: 0, addition: 0 } };
  expect(await store.read(outside)).toBeUndefined();
  await expect(store.write(outside, {}, true)).rejects.toThrow(UnstorableKeyError);
  expect(readdirSync(dir)).toEqual(["registry"]);
});

test("a state file from before keys carried their pair: keygen's read-then-write neighbours are revoked together", async () => {
  dir = mkdtempSync(join(tmpdir(), "iglu-pairs-"));
  const key = (n: number, permission: "read" | "write", vendorPrefix: string) => ({ key: `00000000-0000-4000-8000-00000000000${n}`, vendorPrefix, permission });
  const keys = [key(1, "read", "com.a"), key(2, "write", "com.a"), key(3, "read", "com.b"), key(4, "write", "com.b"), key(5, "write", "com.c")];
  writeFileSync(join(dir, ".iglu-server.json"), JSON.stringify({ schemas: {}, apiKeys: keys }));
  const store = await RegistryStore.open(dir);
  expect(await store.removeApiKey(keys[3]!.key)).toBe(true);
  expect(store.apiKeys().map((k) => k.key)).toEqual([keys[0]!.key, keys[1]!.key, keys[4]!.key]);
  expect(await store.removeApiKey(keys[4]!.key)).toBe(true);
  expect(store.apiKeys().map((k) => k.key)).toEqual([keys[0]!.key, keys[1]!.key]);
});
