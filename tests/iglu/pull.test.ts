/** `telemetry iglu pull`: from a real `iglu serve` (listed) and from a static HTTP registry (given keys); incremental. */
import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Resolver } from "../../stages/iglu/resolver";
import { removeDir, startRegistry, TELEMETRY, temporaryRegistry } from "./serve-process";
import { startStaticRegistry } from "./static-http-registry";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "iglu-pull-"));
  dirs.push(dir);
  return dir;
}

function pull(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(TELEMETRY, ["iglu", "pull", ...args], { cwd: tmpdir(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe("telemetry iglu pull", () => {
  test("from an Iglu Server: everything it lists is copied, the copy resolves, and a second pull copies nothing", async () => {
    const served = temporaryRegistry("com.snowplowanalytics.snowplow.media", "com.vimeo");
    dirs.push(served);
    const registry = await startRegistry(served);
    try {
      const mirror = join(scratch(), "mirror");
      const first = await pull(registry.api, mirror);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      const expected = filesUnder(served);
      expect(expected.length).toBeGreaterThan(30);
      expect(first.stdout).toBe(`${expected.length} schema(s) listed by the source: ${expected.length} copied, 0 replaced, 0 already up to date, 0 failed → ${mirror}\n`);
      expect(filesUnder(mirror)).toEqual(expected);
      for (const file of expected) expect(JSON.parse(readFileSync(join(mirror, file), "utf8"))).toEqual(JSON.parse(readFileSync(join(served, file), "utf8")));

      const resolver = await Resolver.load(mirror);
      expect(await resolver.validate("iglu:com.vimeo/meta/jsonschema/1-0-0", { videoId: "x" })).toMatchObject({ ok: false, igluError: { error: "ValidationError" } });

      const second = await pull(registry.api, mirror);
      expect(second.code).toBe(0);
      expect(second.stdout).toBe(`${expected.length} schema(s) listed by the source: nothing new, ${expected.length} already up to date, 0 failed → ${mirror}\n`);
    } finally {
      await registry.stop();
    }
  }, 30_000);

  test("from a static registry: the keys come from --keys; one it lacks is reported; a second pull copies nothing new", async () => {
    const central = startStaticRegistry();
    dirs.push(central.dir);
    try {
      central.put("com.acme.central", "thing", "1-0-0", "one");
      central.put("com.acme.central", "thing", "1-0-1", "two");
      const mirror = scratch();
      const keys = join(scratch(), "keys.txt");
      writeFileSync(keys, "# what this box needs\niglu:com.acme.central/thing/jsonschema/1-0-0\n\niglu:com.acme.central/thing/jsonschema/1-0-1\niglu:com.acme.central/gone/jsonschema/1-0-0\n");
      const first = await pull(central.url, mirror, "--keys", keys);
      expect(first.code).toBe(1);
      expect(first.stdout).toBe(`3 schema(s) given in ${keys}: 2 copied, 0 replaced, 0 already up to date, 1 failed → ${mirror}\n`);
      expect(first.stderr).toContain("not copied: iglu:com.acme.central/gone/jsonschema/1-0-0: not found");
      expect(filesUnder(mirror)).toEqual(["com.acme.central/thing/jsonschema/1-0-0", "com.acme.central/thing/jsonschema/1-0-1"]);

      writeFileSync(keys, "iglu:com.acme.central/thing/jsonschema/1-0-0\niglu:com.acme.central/thing/jsonschema/1-0-1\n");
      const second = await pull(central.url, mirror, "--keys", keys);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain("nothing new, 2 already up to date");

      // Published again with other content (a patch): the copy is replaced, and said so.
      central.put("com.acme.central", "thing", "1-0-1", "patched");
      expect((await pull(central.url, mirror, "--keys", keys)).stdout).toContain("0 copied, 1 replaced, 1 already up to date");
      expect(readFileSync(join(mirror, "com.acme.central/thing/jsonschema/1-0-1"), "utf8")).toContain("patched");
    } finally {
      await central.stop();
    }
  }, 30_000);

  test("a static registry without --keys, a bad key line or a source that is not a URL: one sentence, exit 2", async () => {
    const central = startStaticRegistry();
    dirs.push(central.dir);
    try {
      const unlisted = await pull(central.url, scratch());
      expect(unlisted.code).toBe(2);
      expect(unlisted.stderr).toContain("give the keys with --keys FILE");
      const keys = join(scratch(), "keys.txt");
      writeFileSync(keys, "iglu:com.acme/x/jsonschema/1-0-0\nnot a key\n");
      const badLine = await pull(central.url, scratch(), "--keys", keys);
      expect(badLine.code).toBe(2);
      expect(badLine.stderr).toContain(`${keys}:2:`);
      expect((await pull("schemas", scratch())).code).toBe(2);
    } finally {
      await central.stop();
    }
  }, 30_000);
});
