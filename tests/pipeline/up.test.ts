/**
 * `make up` end to end: `telemetry up` runs the real stages under its supervisor on the SQLite default; the real
 * node tracker and a raw log sender feed it; stopping it must drain everything into the store, the PII
 * enrichment's events included.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectText } from "../fixtures/collect-text";
import { buildPageView, buildSelfDescribingEvent, buildStructEvent, newTracker } from "@snowplow/node-tracker";

const root = join(import.meta.dir, "../..");

/** Distinct free ports: every listener stays open until all are picked, so none is handed out twice. */
function freePorts(count: number): number[] {
  const listeners = Array.from({ length: count }, () =>
    Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }),
  );
  const ports = listeners.map((listener) => listener.port);
  for (const listener of listeners) listener.stop(true);
  return ports;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; the stages said:\n${stageLogs()}`);
}

function stageLogs(): string {
  return readdirSync(data)
    .filter((name) => name.endsWith(".log"))
    .map((name) => `--- ${name}\n${readFileSync(join(data, name), "utf8")}`)
    .join("\n");
}

const data = mkdtempSync(join(tmpdir(), "telemetry-up-"));
// The Snowplow Mini set plus the PII enrichment with emitEvent, so its pii_transformation events flow too.
const enrichments = join(data, "enrichments");
cpSync(join(root, "config/enrichments"), enrichments, { recursive: true });
const PII_SALT = "up-salt";
writeFileSync(
  join(enrichments, "pii_enrichment_config.json"),
  JSON.stringify({
    schema: "iglu:com.snowplowanalytics.snowplow.enrichments/pii_enrichment_config/jsonschema/2-0-1",
    data: {
      vendor: "com.snowplowanalytics.snowplow.enrichments",
      name: "pii_enrichment_config",
      enabled: true,
      emitEvent: true,
      parameters: {
        pii: [{ pojo: { field: "user_ipaddress" } }],
        strategy: { pseudonymize: { hashFunction: "SHA-256", salt: PII_SALT } },
      },
    },
  }),
);
const [collectPort, logsPort, igluPort, dashboardPort] = freePorts(4);
const ports = { collect: collectPort!, logs: logsPort!, iglu: igluPort!, dashboard: dashboardPort! };
const pipeline = Bun.spawn(
  [join(root, "bin/telemetry"), "up", "--data", data, "--enrichments", enrichments, "--collect-port", String(ports.collect),
    "--logs-port", String(ports.logs), "--iglu-port", String(ports.iglu), "--dashboard-port", String(ports.dashboard)],
  { cwd: data, stdout: "pipe", stderr: "pipe" },
);
const pipelineStderr = collectText(pipeline.stderr);
afterAll(() => {
  if (pipeline.exitCode === null) pipeline.kill("SIGKILL");
});

test("events and logs sent to `make up` all land in SQLite, good and bad apart, after a clean stop", async () => {
  await waitFor("the collector", async () => (await fetch(`http://127.0.0.1:${ports.collect}/health`)).ok);
  await waitFor("the dashboard", async () => (await fetch(`http://127.0.0.1:${ports.dashboard}/api/status`)).ok);
  await waitFor("logs-listen", async () => {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port: ports.logs, socket: { data() {} } });
    socket.end();
    return true;
  });

  // Loopback unless asked: the startup line says so and how to open up, and other addresses are refused
  // (127.0.0.2 is loopback too, but a socket bound to 127.0.0.1 alone does not take it).
  await waitFor("the startup line", async () => pipelineStderr.text().includes("collector on"));
  expect(pipelineStderr.text()).toContain(
    `collector on http://127.0.0.1:${ports.collect}, logs on tcp://127.0.0.1:${ports.logs}, Iglu on http://127.0.0.1:${ports.iglu} ` +
      "(127.0.0.1: this machine only; --collect-host 0.0.0.0 and --logs-host 0.0.0.0 let other machines in)",
  );
  for (const port of [ports.collect, ports.logs, ports.iglu]) {
    const refused = await Bun.connect({ hostname: "127.0.0.2", port, socket: { data() {} } }).then(
      (socket) => void socket.end(),
      () => "refused",
    );
    expect(refused).toBe("refused");
  }

  const statuses: number[] = [];
  const tracker = newTracker(
    { namespace: "up", appId: "up-test", encodeBase64: true },
    {
      endpoint: "127.0.0.1",
      port: ports.collect,
      protocol: "http",
      eventMethod: "post",
      bufferSize: 4,
      onRequestSuccess: (_batch, response) => statuses.push(response.status),
      onRequestFailure: (failure) => statuses.push(failure.status ?? -1),
    },
  );
  tracker.track(buildPageView({ pageUrl: "https://shop.example.com/cart", pageTitle: "Cart" }));
  tracker.track(buildStructEvent({ category: "cart", action: "add" }));
  tracker.track(
    buildSelfDescribingEvent({
      event: {
        schema: "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1",
        data: { targetUrl: "https://example.com/docs" },
      },
    }),
  );
  // No such schema anywhere: this one must come out as a typed bad row, not vanish.
  tracker.track(
    buildSelfDescribingEvent({ event: { schema: "iglu:com.acme/unknown/jsonschema/1-0-0", data: { a: 1 } } }),
  );
  await waitFor("the tracker's answer", async () => statuses.length > 0);
  expect(statuses).toEqual([200]);

  const logs = await Bun.connect({ hostname: "127.0.0.1", port: ports.logs, socket: { data() {} } });
  logs.write('{"message":"payment failed","level":"ERROR","logger_name":"shop.Payments"}\nplain words\n');
  logs.end();
  await Bun.sleep(200);

  // Stop right away: whatever was accepted must still reach the store.
  pipeline.kill("SIGTERM");
  expect(await pipeline.exited).toBe(0);

  const db = new Database(join(data, "telemetry.db"), { readonly: true });
  const good = db.query("SELECT doc FROM good").all() as { doc: string }[];
  const events = good.map((row) => JSON.parse(row.doc));
  expect(events.map((e) => e.event).sort()).toEqual(["page_view", "struct", "unstruct"]);
  expect(events.every((e) => e.app_id === "up-test")).toBe(true);
  expect(events.find((e) => e.event === "unstruct").unstruct_event_com_snowplowanalytics_snowplow_link_click_1).toEqual(
    { targetUrl: "https://example.com/docs" },
  );

  // Every good event's address was pseudonymised, and its original went to the pii table beside it.
  const hashedAddress = new Bun.CryptoHasher("sha256").update("127.0.0.1" + PII_SALT).digest("hex");
  expect(events.map((e) => e.user_ipaddress)).toEqual(events.map(() => hashedAddress));
  const pii = (db.query("SELECT doc FROM pii").all() as { doc: string }[]).map((row) => JSON.parse(row.doc));
  expect(pii.map((e) => e.contexts_com_snowplowanalytics_snowplow_parent_event_1[0].parentEventId).sort()).toEqual(
    events.map((e) => e.event_id).sort(),
  );
  expect(pii.map((e) => e.unstruct_event_com_snowplowanalytics_snowplow_pii_transformation_1.pii.pojo)).toEqual(
    pii.map(() => [{ fieldName: "user_ipaddress", originalValue: "127.0.0.1", modifiedValue: hashedAddress }]),
  );

  const bad = (db.query("SELECT doc FROM bad").all() as { doc: string }[]).map((row) => JSON.parse(row.doc));
  expect(bad.map((row) => row.schema)).toEqual([
    "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-1",
  ]);
  expect(JSON.stringify(bad[0].data.failure)).toContain("iglu:com.acme/unknown/jsonschema/1-0-0");

  const logRows = (db.query("SELECT index_name, doc FROM logs").all() as { index_name: string; doc: string }[]).map(
    (row) => ({ index: row.index_name, ...JSON.parse(row.doc) }),
  );
  expect(logRows.map((row) => row.message).sort()).toEqual(["payment failed", "plain words"]);
  expect(logRows.every((row) => /^logs-\d{4}\.\d{2}\.\d{2}$/.test(row.index))).toBe(true);
  expect(logRows.find((row) => row.message === "plain words").tags).toEqual(["_jsonparsefailure"]);
  db.close();
}, 150_000);
