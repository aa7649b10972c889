/**
 * `make build`: the single executable must run away from the repository, finding its schema registry and
 * the enrichments' data files in the share/ folder that is copied beside it.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const root = join(import.meta.dir, "../..");

/** Builds once for the whole file, into a temporary folder away from the repository; each test asserts the build worked. */
let copy: { status: number | null; elsewhere: string } | undefined;
function built(): { status: number | null; elsewhere: string } {
  if (copy) return copy;
  const elsewhere = mkdtempSync(join(tmpdir(), "telemetry-binary-"));
  const build = spawnSync("make", ["build", `DIST=${elsewhere}`], { cwd: root, encoding: "utf8" });
  copy = { status: build.status, elsewhere };
  return copy;
}
afterAll(() => {
  if (copy) rmSync(copy.elsewhere, { recursive: true, force: true });
});

test("the compiled telemetry enriches with the shipped schemas and referer table, outside the repository", () => {
  const build = built();
  expect(build.status).toBe(0);
  const { elsewhere } = build;

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

test("the compiled telemetry enriches on a worker thread (the worker entry is bundled), outside the repository", () => {
  const build = built();
  expect(build.status).toBe(0);
  const { elsewhere } = build;
  const raw = (id: string, eid: string, url: string) => ({
    schema: "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0",
    id,
    timestamp: Date.now(),
    ipAddress: "203.0.113.9",
    encoding: "UTF-8",
    collector: "test",
    path: "/i",
    querystring: new URLSearchParams({ e: "pv", eid, url, refr: "https://www.google.com/search?q=boots", aid: "worker", p: "web", tv: "test-1" }).toString(),
    headers: [],
  });
  const input = [
    raw("6a0c7e52-1d0b-4f7a-9d51-0f6c2f1b9a01", "0b7c9e52-1d0b-4f7a-9d51-0f6c2f1b9a11", "https://a.example/one"),
    raw("6a0c7e52-1d0b-4f7a-9d51-0f6c2f1b9a02", "0b7c9e52-1d0b-4f7a-9d51-0f6c2f1b9a12", "https://a.example/two"),
  ];
  const run = spawnSync(join(elsewhere, "telemetry"), ["enrich", "--workers", "1", "--stats-interval", "0", "--bad", join(elsewhere, "bad-workers.ndjson")], {
    cwd: elsewhere,
    input: input.map((record) => JSON.stringify(record)).join("\n") + "\n",
    encoding: "utf8",
    // spawnSync blocks the test's own timeout: should the worker never answer, fail instead of hanging.
    timeout: 60_000,
  });
  expect(run.stderr).toContain("on 1 worker thread");
  expect(run.status).toBe(0);
  const events = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
  expect(events.map((event) => [event.event_id, event.page_urlpath])).toEqual([
    ["0b7c9e52-1d0b-4f7a-9d51-0f6c2f1b9a11", "/one"],
    ["0b7c9e52-1d0b-4f7a-9d51-0f6c2f1b9a12", "/two"],
  ]);
  // The worker found the shipped referer table in share/ too.
  for (const event of events) expect([event.app_id, event.refr_source, event.refr_term]).toEqual(["worker", "Google", "boots"]);
}, 120_000);

test("the compiled telemetry without its share/ folder says in one sentence which folder it looked for", () => {
  const build = built();
  expect(build.status).toBe(0);
  const alone = mkdtempSync(join(tmpdir(), "telemetry-binary-alone-"));
  try {
    copyFileSync(join(build.elsewhere, "telemetry"), join(alone, "telemetry"));
    chmodSync(join(alone, "telemetry"), 0o755);
    const run = spawnSync(join(alone, "telemetry"), ["enrich", "--bad", join(alone, "bad.ndjson")], {
      cwd: alone,
      input: "",
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      `telemetry: ${join(alone, "share")} is missing; keep the share/ folder that \`make build\` writes beside the executable.`,
    ]);
  } finally {
    rmSync(alone, { recursive: true, force: true });
  }
}, 120_000);

test("the compiled telemetry serves the dashboard's pages from inside the executable, outside the repository", async () => {
  const build = built();
  expect(build.status).toBe(0);
  const dashboard = Bun.spawn([join(build.elsewhere, "telemetry"), "dashboard", "--port", "0", "--db", join(build.elsewhere, "none.db")], {
    cwd: build.elsewhere,
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    const reader = dashboard.stderr.getReader();
    let said = "";
    while (!/serving (http:\/\/\S+:\d+)/.test(said)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the dashboard did not start: ${said}`);
      said += new TextDecoder().decode(value);
    }
    const base = /serving (http:\/\/\S+:\d+)/.exec(said)![1]!;
    const page = await (await fetch(`${base}/events`)).text();
    const assets = [...page.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((match) => match[1]!);
    expect(assets.length).toBe(2);
    for (const asset of assets) {
      const response = await fetch(base + asset);
      expect([asset, response.status]).toEqual([asset, 200]);
      if (asset.endsWith(".js")) expect(await response.text()).toContain("telemetry-dashboard-token");
    }
    // No store yet: the API says so rather than failing.
    expect(await (await fetch(`${base}/api/status`)).json()).toMatchObject({ ok: false });
  } finally {
    dashboard.kill("SIGKILL");
  }
}, 120_000);
