/**
 * A user's JavaScript enrichment inside the real `bin/telemetry enrich` process: whatever the script does,
 * its work is bounded, the event it was running for becomes an enrichment_failures bad row, the other
 * events go through, and SIGTERM still stops the stage.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { getRecord } from "./helpers";

const BIN = join(import.meta.dir, "../../bin/telemetry");
const dir = mkdtempSync(join(tmpdir(), "enrich-js-"));
const children: Subprocess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An --enrichments folder holding only a javascript_script_config whose process() is `body`. */
function enrichmentsWith(name: string, script: string): string {
  const folder = join(dir, name);
  mkdirSync(folder);
  writeFileSync(
    join(folder, "javascript.json"),
    JSON.stringify({
      schema: "iglu:com.snowplowanalytics.snowplow/javascript_script_config/jsonschema/1-0-0",
      data: { vendor: "com.snowplowanalytics.snowplow", name: "javascript_script_config", enabled: true, parameters: { script: Buffer.from(script).toString("base64") } },
    }),
  );
  return folder;
}

const event = (app: string) => JSON.stringify(getRecord({ p: "web", tv: "js-3.5.0", e: "pv", aid: app })) + "\n";

function start(name: string, script: string, stdin: "pipe" | Blob) {
  const bad = join(dir, `${name}.bad.ndjson`);
  const child = Bun.spawn([BIN, "enrich", "--stats-interval", "0", "--enrichments", enrichmentsWith(name, script), "--bad", bad], {
    stdin,
    stdout: "pipe",
    stderr: "pipe",
  });
  children.push(child);
  return { child, bad };
}

function badRows(path: string): { schema: string; data: { failure: { messages: { message: { error: string } }[] } } }[] {
  return readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line));
}

// Each way a script can leave work behind: deferred to a microtask, an async function, a chain of them.
const STALLS: Record<string, string> = {
  "a promise callback": `Promise.resolve().then(function () { while (true) {} });`,
  "an async function after an await": `(async function () { await null; while (true) {} })();`,
  "a chain of microtasks": `(function again() { Promise.resolve().then(again); })();`,
};

describe("javascript enrichment in the enrich process", () => {
  for (const [how, stall] of Object.entries(STALLS)) {
    test(`work left in ${how} fails that event only; the stage finishes at EOF`, async () => {
      const script = `function process(event) { if (event.getApp_id() === "stall") { ${stall} } return []; }`;
      const name = how.replaceAll(" ", "-");
      const { child, bad } = start(name, script, new Blob([event("before") + event("stall") + event("after")]));
      const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
      expect(code).toBe(0);
      expect(stdout.trim().split("\n").map((line) => JSON.parse(line).app_id)).toEqual(["before", "after"]);
      const rows = badRows(bad);
      expect(rows.map((row) => row.schema.split("/")[1])).toEqual(["enrichment_failures"]);
      expect(rows[0]!.data.failure.messages[0]!.message.error).toContain("timed out");
    }, 30_000);
  }

  test("SIGTERM while a script's deferred work spins: the stage drains and exits 0", async () => {
    const script = `function process(event) { Promise.resolve().then(function () { while (true) {} }); return []; }`;
    const { child, bad } = start("sigterm", script, "pipe");
    const stdin = child.stdin as import("bun").FileSink;
    stdin.write(event("stall"));
    await stdin.flush();
    // The startup line says the enrichments are loaded; the event is then being read or enriched.
    const stderr = child.stderr.getReader();
    let said = "";
    while (!said.includes("reading raw records")) {
      const { value, done } = await stderr.read();
      if (done) break;
      said += new TextDecoder().decode(value);
    }
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(badRows(bad).map((row) => row.schema.split("/")[1])).toEqual(["enrichment_failures"]);
  }, 30_000);
});
