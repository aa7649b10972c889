/**
 * `telemetry sink` against a real Elasticsearch (the integ-test-zip started by scripts/es.sh).
 *
 * Tests that only add documents under names of their own use ES_URL when it is set (scripts/test.sh
 * starts one for every suite). Tests that stop the node, or write to the fixed good/bad/logs names,
 * get a node of their own. If Elasticsearch cannot start, the suite fails.
 *
 * scripts/test.sh runs this file again on Elasticsearch 9 and OpenSearch (ES_FLAVOUR, ES_VERSION) with
 * ES_ENGINE_TESTS_ONLY=1: there the two tests that stop and restart a node are skipped. They test the sink's
 * waiting and retrying, the same code whatever the engine, and each JVM restart costs a minute or more on a
 * loaded machine; they run on the main engine (8.19).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  badRows,
  collectText,
  countDocuments,
  ElasticsearchNode,
  engineLabel,
  enrichedEvents,
  es,
  flavour,
  freePort,
  lines,
  logRecords,
  repo,
  shell,
  telemetry,
  uniqueName,
} from "./helpers";
import { validateBadRow } from "../fixtures/bad-row-schema";
import { spawnChild, until } from "../fixtures/processes";

const START_TIMEOUT = 330_000;
const engineTestsOnly = process.env.ES_ENGINE_TESTS_ONLY === "1";
let shared: string;
let own: ElasticsearchNode;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "telemetry-sink-es-"));
  own = await ElasticsearchNode.start();
  shared = process.env.ES_URL || own.url;
}, START_TIMEOUT);

afterAll(async () => {
  await own?.remove();
  rmSync(work, { recursive: true, force: true });
}, 60_000);


describe("sink into Elasticsearch", () => {
  test("sink-good stores exactly every event once, under the good template's mappings", async () => {
    const events = enrichedEvents(2500);
    const run = await telemetry(["sink-good", "--es", own.url, "--batch-docs", "300", "--stats-interval", "0"], lines(events));
    expect(run.stderr).toContain("stored 2500 documents, 0 refused");
    expect(run.code).toBe(0);
    expect(await countDocuments(own.url, "good")).toBe(2500);

    const mapping = (await es(own.url, "GET", "/good/_mapping")).good.mappings.properties;
    expect(mapping.collector_tstamp.type).toBe("date");
    expect(mapping.event_id.type).toBe("keyword");
    expect(mapping.platform.type).toBe("keyword");
    expect(mapping.geo_location.type).toBe("geo_point");
    expect(mapping.br_viewwidth.type).toBe("long");

    const again = await telemetry(["sink-good", "--es", own.url, "--stats-interval", "0"], lines(events.slice(0, 1000)));
    expect(again.code).toBe(0);
    expect(await countDocuments(own.url, "good")).toBe(2500);
  }, 60_000);

  test("a document the mapping refuses becomes a bad row with the reason; the rest are stored", async () => {
    const index = uniqueName("conflict");
    const badPath = join(work, `${index}.bad.ndjson`);
    const events = enrichedEvents(50);
    const refused = JSON.stringify({ ...JSON.parse(events[0]!), event_id: "refused-1", br_viewwidth: "very wide" });
    const run = await telemetry(
      ["sink", "--es", shared, "--index", index, "--mapping", "good", "--bad", badPath, "--stats-interval", "0"],
      lines([...events.slice(0, 25), refused, ...events.slice(25)]),
    );
    expect(run.code).toBe(0);
    expect(await countDocuments(shared, index)).toBe(50);
    const rows = readFileSync(badPath, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(rows).toHaveLength(1);
    expect(rows[0].schema).toContain("/generic_error/");
    expect(rows[0].data.failure.errors[0]).toMatch(/^Failed to write to (Elasticsearch|OpenSearch) [\d.]+ at .*(document_parsing_exception|mapper_parsing_exception).*br_viewwidth/);
    // Snowplow's RawPayload: the refused line itself as a plain string, valid against the schema copy.
    expect(rows[0].data.payload).toBe(refused);
    expect(await validateBadRow(rows[0])).toMatchObject({ ok: true });
    // The bad row itself goes into a bad-row index with its string payload kept whole in _source.
    const badIndex = uniqueName("conflict-bad");
    const stored = await telemetry(["sink", "--es", shared, "--index", badIndex, "--mapping", "bad", "--stats-interval", "0"], readFileSync(badPath, "utf8"));
    expect(stored.code).toBe(0);
    expect(await countDocuments(shared, badIndex)).toBe(1);
    const found = await es(shared, "POST", `/${badIndex}/_search`, { query: { match_all: {} } });
    expect(found.hits.hits.map((hit: { _source: { data: { payload: unknown } } }) => hit._source.data.payload)).toEqual([refused]);
    for (const name of [index, badIndex]) {
      await es(shared, "DELETE", `/${name}`);
      await es(shared, "DELETE", `/_index_template/telemetry-${name}`);
    }
  }, 60_000);

  test("bad rows of any failure shape are stored, their failure fields aggregatable", async () => {
    const index = uniqueName("badrows");
    const generic = JSON.stringify({
      schema: "iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/1-0-0",
      data: { processor: { artifact: "a", version: "1" }, failure: { timestamp: "2025-11-27T10:00:00Z", errors: ["x"] }, payload: "raw text" },
    });
    // A failure detail longer than any indexed term may be (32 KB): kept, not a reason to refuse the row.
    const long = JSON.stringify({
      schema: "iglu:com.snowplowanalytics.snowplow.badrows/generic_error/jsonschema/1-0-0",
      data: { processor: { artifact: "a", version: "1" }, failure: { timestamp: "2025-11-27T11:00:00Z", errors: ["y".repeat(40_000)], detail: { message: "z".repeat(40_000) } }, payload: "raw" },
    });
    // A URL list whose first node is down: the sink starts on the one that is up.
    const urls = `http://127.0.0.1:${await freePort()},${shared}`;
    const run = await telemetry(
      ["sink", "--es", urls, "--index", index, "--mapping", "bad", "--stats-interval", "0"],
      lines([...badRows(7), generic, long]),
    );
    expect(run.stderr).not.toContain("waiting for");
    expect(run.stderr).toContain("0 refused");
    expect(run.code).toBe(0);
    expect(await countDocuments(shared, index)).toBe(9);
    const answer = await es(shared, "POST", `/${index}/_search`, {
      size: 0,
      aggs: { days: { date_histogram: { field: "data.failure.timestamp", calendar_interval: "day" } } },
    });
    expect(answer.aggregations.days.buckets[0].doc_count).toBe(9);
    if (flavour === "elasticsearch") {
      // `flattened`: every leaf of a failure object is aggregatable by its path.
      const leaves = await es(shared, "POST", `/${index}/_search`, { size: 0, aggs: { schemas: { terms: { field: "data.failure.messages.schemaKey" } } } });
      expect(leaves.aggregations.schemas.buckets).toEqual([{ key: "iglu:com.acme/thing/jsonschema/1-0-0", doc_count: 7 }]);
    } else {
      // OpenSearch has no `flattened`: failure objects are kept whole in _source, not indexed (README).
      const mapping = (await es(shared, "GET", `/${index}/_mapping`))[index].mappings.properties.data.properties.failure.properties;
      expect(mapping.messages).toEqual({ type: "object", enabled: false });
      const stored = await es(shared, "POST", `/${index}/_search`, { query: { term: { schema: JSON.parse(badRows(1)[0]!).schema } }, size: 1 });
      expect(stored.hits.hits[0]._source.data.failure.messages[0].schemaKey).toBe("iglu:com.acme/thing/jsonschema/1-0-0");
    }
    await es(shared, "DELETE", `/${index}`);
    await es(shared, "DELETE", `/_index_template/telemetry-${index}`);
  }, 60_000);

  test("the sink names the engine it found; new indices are green on one node, and --replicas is honoured", async () => {
    const names = { auto: uniqueName("replicas-auto"), one: uniqueName("replicas-one"), all: uniqueName("replicas-all") };
    const store = (index: string, extra: string[] = []) =>
      telemetry(["sink", "--es", shared, "--index", index, "--stats-interval", "0", ...extra], lines(enrichedEvents(5)));
    const settings = async (index: string) => (await es(shared, "GET", `/${index}/_settings`))[index].settings.index;

    const auto = await store(names.auto);
    expect(auto.code).toBe(0);
    expect(auto.stderr).toMatch(new RegExp(`storing into ${engineLabel} \\d+\\.\\d+\\.\\d+ at ${shared}`));
    // Without --replicas: none while the cluster has one node, so the index is green, not yellow.
    expect((await settings(names.auto)).auto_expand_replicas).toBe("0-1");
    const health = await es(shared, "GET", `/_cluster/health/${names.auto}?wait_for_status=green&timeout=30s`);
    expect(health.status).toBe("green");

    expect((await store(names.one, ["--replicas", "1"])).code).toBe(0);
    expect((await settings(names.one)).number_of_replicas).toBe("1");
    // One replica that a single node cannot place: yellow, as asked.
    expect((await es(shared, "GET", `/_cluster/health/${names.one}?timeout=5s`)).status).toBe("yellow");

    expect((await store(names.all, ["--replicas", "0-all"])).code).toBe(0);
    expect((await settings(names.all)).auto_expand_replicas).toBe("0-all");

    const wrong = await store(uniqueName("replicas-wrong"), ["--replicas", "many"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--replicas takes a number of replicas (1) or a range');
    expect(wrong.stderr.trim().split("\n")).toHaveLength(1);

    for (const name of Object.values(names)) {
      await es(shared, "DELETE", `/${name}`);
      await es(shared, "DELETE", `/_index_template/telemetry-${name}`);
    }
  }, 60_000);

  test("SIGTERM sends what was read, waits for the acknowledgements and exits 0", async () => {
    const index = uniqueName("sigterm");
    const child = spawnChild(
      [join(repo, "bin/telemetry"), "sink", "--es", shared, "--index", index, "--batch-ms", "600000", "--batch-docs", "100000", "--stats-interval", "0.1"],
      { stdin: "pipe", stdout: "ignore", stderr: "pipe" },
    );
    const stderr = collectText(child.stderr);
    child.stdin.write(lines(enrichedEvents(300)));
    await child.stdin.flush();
    await until(() => stderr.text().includes("total in 300"), "the sink to read 300 records");
    expect(await countDocuments(shared, index)).toBe(0);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    await stderr.done;
    expect(stderr.text()).toContain("stored 300 documents");
    expect(await countDocuments(shared, index)).toBe(300);
    await es(shared, "DELETE", `/${index}`);
  }, 60_000);

  test("a wrong URL, a server that is not Elasticsearch or bad credentials: one sentence and exit 2", async () => {
    const notElasticsearch = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ status: "green" }) });
    const unauthorized = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => Response.json({ error: { type: "security_exception", reason: "unable to authenticate" } }, { status: 401 }),
    });
    try {
      const cases: [string[], RegExp][] = [
        [["--es", "not a url"], /is not a URL/],
        [["--es", `http://127.0.0.1:${notElasticsearch.port}`], /is neither Elasticsearch nor OpenSearch/],
        [["--es", `http://127.0.0.1:${unauthorized.port}`, "--es-user", "u", "--es-password", "p"], /refused the credentials \(401\)/],
        [["--es", shared.replace("http://", "https://")], /cannot make a TLS connection/],
      ];
      for (const [args, message] of cases) {
        const run = await telemetry(["sink", ...args, "--stats-interval", "0"], lines(enrichedEvents(1)));
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(message);
        expect(run.stderr.trim().split("\n")).toHaveLength(1);
      }
    } finally {
      notElasticsearch.stop(true);
      unauthorized.stop(true);
    }
  }, 60_000);

  test.skipIf(engineTestsOnly)("a node down at start is waited for, and one stopped mid-stream loses and doubles nothing", async () => {
    const index = uniqueName("outage");
    await own.stop();
    const child = spawnChild(
      [join(repo, "bin/telemetry"), "sink", "--es", own.url, "--index", index, "--batch-docs", "100", "--batch-ms", "50", "--stats-interval", "0"],
      { stdin: "pipe", stdout: "ignore", stderr: "pipe" },
    );
    const stderr = collectText(child.stderr);
    try {
      await until(() => stderr.text().includes("waiting for Elasticsearch"), "the note that the sink waits");
      await own.startAgain();
      child.stdin.write(lines(enrichedEvents(3000)));
      await child.stdin.flush();
      await until(async () => (await countDocuments(own.url, index).catch(() => 0)) > 0, "the first documents", 300_000);
      await own.stop();
      // Not awaited: while the node is down the sink stops reading, so this write cannot finish yet.
      child.stdin.write(lines(enrichedEvents(3000, 3000)));
      const written = child.stdin.flush();
      await until(() => stderr.text().includes("is not taking documents"), "the sink to notice the outage", 300_000);
      await own.startAgain();
      await written;
      child.stdin.end();
      expect(await child.exited).toBe(0);
      await stderr.done;
      expect(stderr.text()).toContain("stored 6000 documents, 0 refused");
      expect(await countDocuments(own.url, index)).toBe(6000);
    } finally {
      child.kill();
      await own.startAgain();
    }
  }, 400_000);

  test.skipIf(engineTestsOnly)("SIGTERM while the node is down: retried for --drain-timeout, then every record read is spilled (or a bad row), exit 0", async () => {
    const sent = enrichedEvents(500);
    const sinks = [true, false].map((spilling) => {
      const index = uniqueName("drain");
      const spill = join(work, `${index}.spill.ndjson`);
      const bad = join(work, `${index}.bad.ndjson`);
      const child = spawnChild(
        [join(repo, "bin/telemetry"), "sink", "--es", own.url, "--index", index, "--batch-docs", "1000", "--batch-ms", "50",
          "--stats-interval", "0.1", "--drain-timeout", "1", "--bad", bad, ...(spilling ? ["--spill", spill] : [])],
        { stdin: "pipe", stdout: "ignore", stderr: "pipe" },
      );
      return { spilling, spill, bad, child, stderr: collectText(child.stderr) };
    });
    try {
      for (const sink of sinks) await until(() => sink.stderr.text().includes("storing into"), "the sinks to start");
      await own.stop();
      for (const { child } of sinks) {
        child.stdin.write(lines(sent));
        await child.stdin.flush();
      }
      for (const { stderr } of sinks) {
        await until(() => stderr.text().includes("total in 500"), "the sink to read 500 records");
        await until(() => stderr.text().includes("is not taking documents"), "the sink to notice the outage");
      }
      for (const { child } of sinks) child.kill("SIGTERM");
      for (const { spilling, spill, bad, child, stderr } of sinks) {
        expect(await child.exited).toBe(0);
        await stderr.done;
        if (spilling) {
          expect(stderr.text()).toContain(`500 not stored within the drain time (appended to ${spill})`);
          expect(readFileSync(spill, "utf8")).toBe(lines(sent));
        } else {
          expect(stderr.text()).toContain("500 not stored within the drain time (written as bad rows)");
          const rows = readFileSync(bad, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line));
          expect(rows.map((row) => row.data.payload)).toEqual(sent);
          expect(await validateBadRow(rows[0])).toMatchObject({ ok: true });
        }
      }
    } finally {
      for (const { child } of sinks) child.kill("SIGKILL");
      await own.startAgain();
    }
  }, 400_000);

  test("a closed index is waited for, not turned into bad rows: every record is stored once it is opened", async () => {
    const index = uniqueName("closed");
    const bad = join(work, `${index}.bad.ndjson`);
    await es(shared, "PUT", `/${index}`);
    await es(shared, "POST", `/${index}/_close`);
    const child = spawnChild(
      [join(repo, "bin/telemetry"), "sink", "--es", shared, "--index", index, "--batch-docs", "100", "--batch-ms", "50",
        "--stats-interval", "0", "--bad", bad],
      { stdin: "pipe", stdout: "ignore", stderr: "pipe" },
    );
    const stderr = collectText(child.stderr);
    try {
      child.stdin.write(lines(enrichedEvents(300)));
      await child.stdin.flush();
      await until(() => stderr.text().includes("index_closed_exception"), "the sink to meet the closed index");
      await es(shared, "POST", `/${index}/_open?wait_for_active_shards=1`);
      child.stdin.end();
      expect(await child.exited).toBe(0);
      await stderr.done;
      expect(stderr.text()).toContain("stored 300 documents, 0 refused");
      expect(await countDocuments(shared, index)).toBe(300);
      expect(existsSync(bad)).toBe(false);
    } finally {
      child.kill("SIGKILL");
      await es(shared, "DELETE", `/${index}`);
    }
  }, 120_000);

  test("replaying the same archive twice into the default routing changes nothing", async () => {
    const archive = join(work, "archive");
    rmSync(archive, { recursive: true, force: true });
    await Bun.write(
      join(archive, "raw-20251127T100000Z-000001.ndjson"),
      lines([...enrichedEvents(100), ...logRecords(20, "2025-11-27"), ...logRecords(10, "2025-11-28")]),
    );
    writeFileSync(join(archive, "raw-20251127T110000Z-000002.ndjson.gz"), gzipSync(lines([...badRows(5), ...enrichedEvents(50, 100)])));
    const counts = async () => ({
      good: await countDocuments(own.url, "good"),
      bad: await countDocuments(own.url, "bad"),
      day1: await countDocuments(own.url, "logs-2025.11.27"),
      day2: await countDocuments(own.url, "logs-2025.11.28"),
    });
    await es(own.url, "DELETE", "/good,bad,logs-*?ignore_unavailable=true");
    const first = await shell(`telemetry replay ${archive} | telemetry sink --es ${own.url} --stats-interval 0`);
    expect(first.code).toBe(0);
    expect(await counts()).toEqual({ good: 150, bad: 5, day1: 20, day2: 10 });
    const second = await shell(`telemetry replay ${archive} | telemetry sink --es ${own.url} --stats-interval 0`);
    expect(second.code).toBe(0);
    expect(await counts()).toEqual({ good: 150, bad: 5, day1: 20, day2: 10 });
    const logsMapping = await es(own.url, "GET", "/logs-2025.11.27/_mapping");
    expect(logsMapping["logs-2025.11.27"].mappings.properties["@timestamp"].type).toBe("date");
  }, 60_000);
});
