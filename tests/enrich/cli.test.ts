/** The real `bin/telemetry enrich` process: stdin to stdout, --bad, --format, --iglu, exit codes. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getRecord, postRecord, selfDescribingEvent } from "./helpers";

const BIN = join(import.meta.dir, "../../bin/telemetry");
const dir = mkdtempSync(join(tmpdir(), "enrich-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runEnrich(args: string[], stdin: string) {
  const child = Bun.spawn([BIN, "enrich", "--stats-interval", "0", ...args], { stdin: new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

const base = { p: "web", tv: "js-3.5.0" };
const lines = [
  JSON.stringify(getRecord({ ...base, e: "pv", url: "https://shop.example.com/?utm_source=mail", eid: "aaaaaaaa-0000-4000-8000-000000000001" })),
  "this is not a raw record",
  JSON.stringify(postRecord([{ ...base, e: "se", se_ca: "c", se_ac: "a" }, { ...base, e: "se", se_va: "NaN-ish" }])),
].join("\n") + "\n";

describe("telemetry enrich (process)", () => {
  test("enriched JSON on stdout, bad rows to --bad, exit 0 at EOF", async () => {
    const bad = join(dir, "bad.ndjson");
    const { stdout, code } = await runEnrich(["--bad", bad], lines);
    expect(code).toBe(0);
    const events = stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(events.map((event) => event.event)).toEqual(["page_view", "struct"]);
    expect(events[0].event_id).toBe("aaaaaaaa-0000-4000-8000-000000000001");
    // The Snowplow Mini defaults are on without --enrichments: campaign attribution filled mkt_source.
    expect(events[0].mkt_source).toBe("mail");
    const badTypes = readFileSync(bad, "utf8").trim().split("\n").map((line) => JSON.parse(line).schema.split("/")[1]);
    expect(badTypes).toEqual(["collector_payload_format_violation", "schema_violations"]);
  });

  test("--format tsv writes 131-column lines", async () => {
    const { stdout, code } = await runEnrich(["--bad", join(dir, "bad-tsv.ndjson"), "--format", "tsv"], lines);
    expect(code).toBe(0);
    const rows = stdout.split("\n").slice(0, -1);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.split("\t")).toHaveLength(131);
  });

  test("--iglu DIR resolves the user's own schemas; an empty --enrichments dir turns enrichments off", async () => {
    const registry = join(dir, "registry");
    mkdirSync(join(registry, "com.acme/signup/jsonschema"), { recursive: true });
    writeFileSync(
      join(registry, "com.acme/signup/jsonschema/1-0-0"),
      JSON.stringify({
        $schema: "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
        self: { vendor: "com.acme", name: "signup", format: "jsonschema", version: "1-0-0" },
        type: "object",
        properties: { plan: { type: "string", maxLength: 20 } },
        required: ["plan"],
        additionalProperties: false,
      }),
    );
    const enrichments = join(dir, "no-enrichments");
    mkdirSync(enrichments);
    const input = [
      JSON.stringify(getRecord({ ...base, e: "ue", ue_pr: selfDescribingEvent("iglu:com.acme/signup/jsonschema/1-0-0", { plan: "pro" }), url: "https://a.example/?utm_source=x" })),
      JSON.stringify(getRecord({ ...base, e: "ue", ue_pr: selfDescribingEvent("iglu:com.acme/signup/jsonschema/1-0-0", { plan: 7 }) })),
    ].join("\n");
    const bad = join(dir, "bad-iglu.ndjson");
    const { stdout, code } = await runEnrich(["--iglu", registry, "--enrichments", enrichments, "--bad", bad], input);
    expect(code).toBe(0);
    const [event] = stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(event.unstruct_event_com_acme_signup_1).toEqual({ plan: "pro" });
    // No campaign_attribution: the column stays empty, and empty columns are left out of the JSON.
    expect("mkt_source" in event).toBe(false);
    expect(JSON.parse(readFileSync(bad, "utf8")).schema).toContain("/schema_violations/");
  });

  test("a bad --iglu is one sentence on stderr and exit 2", async () => {
    const { stderr, code } = await runEnrich(["--iglu", join(dir, "nowhere"), "--bad", join(dir, "b.ndjson")], "");
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("--iglu");
  });

  test("a raw record whose timestamp no date can hold is one bad row; the records around it are enriched, exit 0", async () => {
    const bad = join(dir, "bad-timestamp.ndjson");
    const input = [
      getRecord({ ...base, e: "pv", aid: "before" }),
      getRecord({ ...base, e: "pv", aid: "far" }, { timestamp: 1e20 }),
      getRecord({ ...base, e: "pv", aid: "after" }),
    ].map((record) => JSON.stringify(record)).join("\n");
    const { stdout, code } = await runEnrich(["--bad", bad], input);
    expect(code).toBe(0);
    expect(stdout.trim().split("\n").map((line) => JSON.parse(line).app_id)).toEqual(["before", "after"]);
    expect(readFileSync(bad, "utf8").trim().split("\n").map((line) => JSON.parse(line).schema.split("/")[1])).toEqual(["collector_payload_format_violation"]);
  });

  test("closing stdout early ends the process quietly with 0", async () => {
    const many = Array.from({ length: 20000 }, () => JSON.stringify(getRecord({ ...base, e: "pv" }))).join("\n") + "\n";
    const child = Bun.spawn([BIN, "enrich", "--stats-interval", "0", "--bad", join(dir, "bad-epipe.ndjson")], {
      stdin: new Blob([many]),
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = child.stdout.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await reader.cancel();
    expect(await child.exited).toBe(0);
    expect(await new Response(child.stderr).text()).not.toContain("EPIPE");
  });
});
