/**
 * `telemetry enrich --pii PATH` (the real process): the PII enrichment with emitEvent pseudonymises the
 * event on stdout and writes one pii_transformation event per such event to --pii, shaped as Snowplow
 * shapes it, with an id that a replay reproduces; without --pii, stderr says they are not written.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Resolver } from "../../stages/iglu/resolver";
import { sdConfig } from "../enrichments/helpers";
import { COLLECTOR_TSTAMP, getRecord } from "./helpers";

const BIN = join(import.meta.dir, "../../bin/telemetry");
const dir = mkdtempSync(join(tmpdir(), "enrich-pii-"));
const enrichments = join(dir, "enrichments");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SALT = "pepper123";
const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text + SALT).digest("hex");
const PII_SCHEMA = "iglu:com.snowplowanalytics.snowplow/pii_transformation/jsonschema/1-0-0";
const PARENT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/parent_event/jsonschema/1-0-0";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

beforeAll(() => {
  mkdirSync(enrichments);
  const config = sdConfig(
    "iglu:com.snowplowanalytics.snowplow.enrichments/pii_enrichment_config/jsonschema/2-0-1",
    {
      pii: [{ pojo: { field: "user_id" } }, { pojo: { field: "user_ipaddress" } }],
      strategy: { pseudonymize: { hashFunction: "SHA-256", salt: SALT } },
    },
    { emitEvent: true },
  );
  writeFileSync(join(enrichments, "pii_enrichment_config.json"), JSON.stringify(config));
});

const base = { p: "web", tv: "js-3.5.0", aid: "shop" };
// The tracker sent no eid: the parent's id is derived from the raw record, and the PII event's from that.
const pageView = getRecord({ ...base, e: "pv", uid: "jane@example.com", url: "https://shop.example.com/" }, { ipAddress: "203.0.113.9" });
const input = JSON.stringify(pageView) + "\n";

async function runEnrich(args: string[], stdin: string) {
  const child = Bun.spawn([BIN, "enrich", "--stats-interval", "0", "--enrichments", enrichments, ...args], {
    stdin: new Blob([stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

const lines = (text: string) => text.split("\n").slice(0, -1);
const events = (text: string) => lines(text).map((line) => JSON.parse(line));
/** An event without the fields that are the wall clock of the run that made it. */
function timeless(event: Record<string, unknown>): Record<string, unknown> {
  const { etl_tstamp, derived_tstamp, true_tstamp, ...rest } = event;
  return rest;
}

describe("telemetry enrich --pii", () => {
  test("the event is pseudonymised on stdout and its pii_transformation event goes to --pii, in Snowplow's shape", async () => {
    const piiPath = join(dir, "pii-1.ndjson");
    const { stdout, stderr, code } = await runEnrich(["--pii", piiPath, "--bad", join(dir, "bad-1.ndjson")], input);
    expect(code).toBe(0);
    expect(stderr).not.toContain("not written");

    const [parent, ...more] = events(stdout);
    expect(more).toEqual([]);
    expect(parent.user_id).toBe(sha256("jane@example.com"));
    expect(parent.user_ipaddress).toBe(sha256("203.0.113.9"));
    expect(parent.event_id).toMatch(UUID);

    const piiLines = lines(readFileSync(piiPath, "utf8"));
    expect(piiLines).toHaveLength(1);
    const pii = JSON.parse(piiLines[0]!);
    expect(pii.platform).toBe("srv");
    expect(pii.app_id).toBe("shop");
    expect(pii.etl_tstamp).toBe(parent.etl_tstamp);
    expect(pii.collector_tstamp).toBe(parent.collector_tstamp);
    expect(pii.collector_tstamp).toBe(new Date(COLLECTOR_TSTAMP).toISOString());
    expect(pii.event).toBe("pii_transformation");
    expect(pii.event_vendor).toBe("com.snowplowanalytics.snowplow");
    expect(pii.event_name).toBe("pii_transformation");
    expect(pii.event_format).toBe("jsonschema");
    expect(pii.event_version).toBe("1-0-0");
    expect(pii.v_etl).toBe(parent.v_etl);
    expect(pii.event_id).toMatch(UUID);
    expect(pii.event_id).not.toBe(parent.event_id);
    // The PII event carries the originals only inside its own data, not in its columns.
    expect("user_id" in pii).toBe(false);
    expect("user_ipaddress" in pii).toBe(false);

    expect(pii.contexts_com_snowplowanalytics_snowplow_parent_event_1).toEqual([{ parentEventId: parent.event_id }]);
    const data = pii.unstruct_event_com_snowplowanalytics_snowplow_pii_transformation_1;
    expect(data).toEqual({
      pii: {
        pojo: [
          { fieldName: "user_id", originalValue: "jane@example.com", modifiedValue: sha256("jane@example.com") },
          { fieldName: "user_ipaddress", originalValue: "203.0.113.9", modifiedValue: sha256("203.0.113.9") },
        ],
      },
      strategy: { pseudonymize: { hashFunction: "SHA-256" } },
    });

    const resolver = await Resolver.load();
    expect(await resolver.validate(PII_SCHEMA, data)).toMatchObject({ ok: true });
    expect(await resolver.validate(PARENT_SCHEMA, { parentEventId: parent.event_id })).toMatchObject({ ok: true });
  });

  test("a replay of the same input gives the PII event the same id", async () => {
    const first = join(dir, "pii-replay-1.ndjson");
    const second = join(dir, "pii-replay-2.ndjson");
    expect((await runEnrich(["--pii", first, "--bad", join(dir, "bad-r.ndjson")], input)).code).toBe(0);
    expect((await runEnrich(["--pii", second, "--bad", join(dir, "bad-r.ndjson")], input)).code).toBe(0);
    const [a] = events(readFileSync(first, "utf8"));
    const [b] = events(readFileSync(second, "utf8"));
    expect(a.event_id).toMatch(UUID);
    expect(b.event_id).toBe(a.event_id);
  });

  test("without --pii stdout is the same, and stderr says once that the PII events are not written", async () => {
    const twice = input + JSON.stringify(getRecord({ ...base, e: "pv", uid: "joe@example.com" })) + "\n";
    const withPii = await runEnrich(["--pii", join(dir, "pii-2.ndjson"), "--bad", join(dir, "bad-2.ndjson")], twice);
    const without = await runEnrich(["--bad", join(dir, "bad-3.ndjson")], twice);
    expect(without.code).toBe(0);
    expect(lines(readFileSync(join(dir, "pii-2.ndjson"), "utf8"))).toHaveLength(2);
    expect(events(without.stdout).map(timeless)).toEqual(events(withPii.stdout).map(timeless));
    const mentions = lines(without.stderr).filter((line) => line.includes("--pii"));
    expect(mentions).toHaveLength(1);
    expect(mentions[0]).toContain("pii_transformation");
  });

  // The --pii file is opened at the first PII event; a path that cannot be written is found at startup.
  test("an unusable --pii path is one sentence on stderr and exit 2", async () => {
    const { stderr, code } = await runEnrich(["--pii", join(dir, "no-such-dir", "pii.ndjson"), "--bad", join(dir, "bad-u.ndjson")], input);
    expect(code).toBe(2);
    const problems = lines(stderr).filter((line) => !line.includes("reading raw records"));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("--pii");
  });

  test("--workers 1 writes the same PII events", async () => {
    const several = [input, ...["a", "b", "c"].map((who) => JSON.stringify(getRecord({ ...base, e: "pv", uid: `${who}@example.com` })) + "\n")].join("");
    const inThread = join(dir, "pii-w0.ndjson");
    const onWorker = join(dir, "pii-w1.ndjson");
    const zero = await runEnrich(["--pii", inThread, "--bad", join(dir, "bad-w.ndjson")], several);
    const one = await runEnrich(["--pii", onWorker, "--bad", join(dir, "bad-w.ndjson"), "--workers", "1"], several);
    expect(zero.code).toBe(0);
    expect(one.code).toBe(0);
    expect(one.stderr).toContain("on 1 worker thread");
    const expected = events(readFileSync(inThread, "utf8"));
    expect(expected).toHaveLength(4);
    const fromWorker = events(readFileSync(onWorker, "utf8"));
    expect(fromWorker).toHaveLength(expected.length);
    expect(fromWorker.map(timeless)).toEqual(expected.map(timeless));
  });
});
