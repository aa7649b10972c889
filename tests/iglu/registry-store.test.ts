/** The registry's disk writes: whole files only, never a half-written schema. */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../stages/iglu/registry-store";
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
