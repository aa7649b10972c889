/**
 * `telemetry enrich --workers N` (the real process): worker threads must not change what enrich writes or
 * in which order, and must refuse bad configuration the way the main thread does.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getRecord, postRecord, selfDescribingEvent } from "./helpers";

const BIN = join(import.meta.dir, "../../bin/telemetry");
const dir = mkdtempSync(join(tmpdir(), "enrich-workers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runEnrich(args: string[], stdin: string) {
  const child = Bun.spawn([BIN, "enrich", "--stats-interval", "0", ...args], { stdin: new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

/**
 * Runs enrich and, once it says it is reading, writes `input` in slices that alternate large and small and
 * cut lines in two, a moment apart: each slice is then its own read and batch, and a small batch given to
 * one worker is done before the large one given to the other, so results come back out of order.
 */
async function runEnrichFedInSlices(args: string[], input: string) {
  const child = Bun.spawn([BIN, "enrich", "--stats-interval", "0", ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const stdout = new Response(child.stdout).text();
  let stderr = "";
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  const stderrDone = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      stderr += decoder.decode(value, { stream: true });
    }
  })();
  while (!stderr.includes("reading raw records") && child.exitCode === null) await Bun.sleep(10);
  let offset = 0;
  for (let slice = 0; offset < input.length; slice++) {
    const size = slice % 3 === 0 ? 60_000 : 4_000;
    child.stdin.write(input.slice(offset, offset + size));
    await child.stdin.flush();
    offset += size;
    await Bun.sleep(1);
  }
  await child.stdin.end();
  const code = await child.exited;
  await stderrDone;
  return { stdout: await stdout, stderr, code };
}

const base = { p: "web", tv: "js-3.5.0", aid: "shop" };
// A page title long enough that a few hundred lines make a few hundred kilobytes, fed in many slices.
const title = "A page title long enough to make each raw record close to a kilobyte ".repeat(8);

/** Page views with eids, POST batches, lines that are not JSON and an event that fails validation, interleaved. */
function mixedInput(count: number): string {
  const lines: string[] = [];
  for (let index = 0; index < count; index++) {
    const eid = `aaaaaaaa-0000-4000-8000-${String(index).padStart(12, "0")}`;
    switch (index % 7) {
      case 3:
        lines.push(`not a raw record, line ${index + 1}`);
        break;
      case 5:
        lines.push(
          JSON.stringify(
            postRecord([
              { ...base, e: "se", se_ca: "shop", se_ac: `add-${index}`, page: title },
              { ...base, e: "pv", url: `https://shop.example.com/p/${index}?utm_source=mail`, page: title },
            ]),
          ),
        );
        break;
      case 6:
        // link_click requires targetUrl: a schema_violations bad row.
        lines.push(
          JSON.stringify(
            getRecord({ ...base, e: "ue", eid, ue_pr: selfDescribingEvent("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", { elementId: `x${index}` }) }),
          ),
        );
        break;
      default:
        lines.push(JSON.stringify(getRecord({ ...base, e: "pv", eid, url: `https://shop.example.com/${index}?utm_source=ad`, page: title })));
    }
  }
  return lines.join("\n") + "\n";
}

/** Each enriched event without etl_tstamp, the one field that is the wall clock. */
function withoutEtlTime(stdout: string): string[] {
  return stdout
    .split("\n")
    .slice(0, -1)
    .map((line) => {
      const event = JSON.parse(line);
      delete event.etl_tstamp;
      return JSON.stringify(event);
    });
}

/** Bad rows with the moments they were made taken out (the failure's timestamp, a partial event's etl_tstamp), sorted. */
function badRowsWithoutTimes(path: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .slice(0, -1)
    .map((line) => {
      const row = JSON.parse(line);
      delete row.data.failure.timestamp;
      if (row.data.payload?.enriched) delete row.data.payload.enriched.etl_tstamp;
      return JSON.stringify(row);
    })
    .sort();
}

describe("telemetry enrich --workers", () => {
  test("--workers 2 writes the same events in the same order, and the same bad rows, as the main thread", async () => {
    const input = mixedInput(420);
    expect(input.length).toBeGreaterThan(256 * 1024);
    const inThread = await runEnrichFedInSlices(["--bad", join(dir, "bad-0.ndjson")], input);
    const onWorkers = await runEnrichFedInSlices(["--bad", join(dir, "bad-2.ndjson"), "--workers", "2"], input);
    expect(inThread.code).toBe(0);
    expect(onWorkers.code).toBe(0);
    expect(onWorkers.stderr).toContain("on 2 worker threads");

    const expected = withoutEtlTime(inThread.stdout);
    // 240 single page views, and 60 POST batches of two events each; the page views keep their input order.
    expect(expected).toHaveLength(420 - 60 - 60 - 60 + 60 * 2);
    const eids = expected.map((line) => JSON.parse(line).event_id).filter((id: string) => id.startsWith("aaaaaaaa-"));
    expect(eids).toEqual([...eids].sort());
    expect(withoutEtlTime(onWorkers.stdout)).toEqual(expected);

    const badInThread = badRowsWithoutTimes(join(dir, "bad-0.ndjson"));
    const types = badInThread.map((row) => JSON.parse(row).schema.split("/")[1]);
    expect(types.filter((type) => type === "collector_payload_format_violation")).toHaveLength(60);
    expect(types.filter((type) => type === "schema_violations")).toHaveLength(60);
    expect(badRowsWithoutTimes(join(dir, "bad-2.ndjson"))).toEqual(badInThread);
    // Line numbers run on across batches (and across lines cut in two between reads).
    for (const row of badInThread.map((text) => JSON.parse(text)).filter((row) => row.schema.includes("/collector_payload_format_violation/"))) {
      const number = /line (\d+)$/.exec(row.data.payload)![1];
      expect(row.data.failure.message.error).toStartWith(`line ${number} is not JSON`);
    }
  }, 60_000);

  test("a bad --enrichments dir is one sentence on stderr and exit 2, with workers as without", async () => {
    const enrichments = join(dir, "broken-enrichments");
    mkdirSync(enrichments);
    writeFileSync(join(enrichments, "anon_ip.json"), "{ this is not json");
    const results = [];
    for (const workers of ["0", "2"]) {
      const result = await runEnrich(["--enrichments", enrichments, "--workers", workers, "--bad", join(dir, "b.ndjson")], "");
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toContain("anon_ip.json");
      results.push(result.stderr);
    }
    expect(results[1]).toBe(results[0]!);
  }, 30_000);

  test("a --iglu path that does not exist is one sentence on stderr and exit 2, with workers as without", async () => {
    const results = [];
    for (const workers of ["0", "2"]) {
      const result = await runEnrich(["--iglu", join(dir, "nowhere"), "--workers", workers, "--bad", join(dir, "b.ndjson")], "");
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toContain("--iglu");
      results.push(result.stderr);
    }
    expect(results[1]).toBe(results[0]!);
  }, 30_000);

  test.each(["-1", "1.5"])("--workers %s is refused with exit 2", async (workers) => {
    const result = await runEnrich([`--workers=${workers}`, "--bad", join(dir, "b.ndjson")], JSON.stringify(getRecord({ ...base, e: "pv" })) + "\n");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--workers");
    expect(result.stdout).toBe("");
  });
});
