/**
 * `make build`: the single executable must run away from the repository, finding its schema registry and
 * the enrichments' data files in the share/ folder that is copied beside it.
 */
import { expect, test } from "bun:test";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const root = join(import.meta.dir, "../..");

test("the compiled telemetry enriches with the shipped schemas and referer table, outside the repository", () => {
  const build = spawnSync("make", ["build"], { cwd: root, encoding: "utf8" });
  expect(build.status).toBe(0);
  const elsewhere = mkdtempSync(join(tmpdir(), "telemetry-binary-"));
  cpSync(join(root, "dist"), elsewhere, { recursive: true });

  const selfDescribing = JSON.stringify({
    schema: "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
    data: { schema: "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", data: { targetUrl: "https://b.example/" } },
  });
  const query = new URLSearchParams({
    e: "ue",
    ue_pr: selfDescribing,
    url: "https://a.example/",
    refr: "https://www.google.com/search?q=shoes",
    aid: "binary",
    p: "web",
    tv: "test-1",
  });
  const raw = {
    schema: "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0",
    id: "4d1c1f9e-8a77-4b2c-9f3e-1a2b3c4d5e6f",
    timestamp: Date.now(),
    ipAddress: "203.0.113.9",
    encoding: "UTF-8",
    collector: "test",
    path: "/i",
    querystring: query.toString(),
    headers: [],
  };
  const run = spawnSync(join(elsewhere, "telemetry"), ["enrich", "--bad", join(elsewhere, "bad.ndjson")], {
    cwd: elsewhere,
    input: JSON.stringify(raw) + "\n",
    encoding: "utf8",
  });
  expect(run.status).toBe(0);
  const event = JSON.parse(run.stdout);
  expect(event.app_id).toBe("binary");
  expect(event.unstruct_event_com_snowplowanalytics_snowplow_link_click_1).toEqual({ targetUrl: "https://b.example/" });
  expect([event.refr_medium, event.refr_source, event.refr_term]).toEqual(["search", "Google", "shoes"]);
}, 120_000);
