/**
 * What the sink suites share: running the real `bin/telemetry`, a real Elasticsearch node through
 * scripts/es.sh, free ports, and records to store.
 */
import { createServer } from "node:net";
import { resolve } from "node:path";
import { collectText } from "../fixtures/collect-text";
import { spawnChild } from "../fixtures/processes";
export { collectText };

export const repo = resolve(import.meta.dir, "../..");

/**
 * The engine these suites run against: scripts/test.sh runs them once per flavour, with ES_FLAVOUR (and
 * ES_VERSION) in the environment, so ES_URL and the nodes scripts/es.sh starts here are all of it.
 */
export const flavour: "elasticsearch" | "opensearch" = process.env.ES_FLAVOUR === "opensearch" ? "opensearch" : "elasticsearch";
export const engineLabel = flavour === "opensearch" ? "OpenSearch" : "Elasticsearch";
const telemetryBin = resolve(repo, "bin/telemetry");
const esScript = resolve(repo, "scripts/es.sh");

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `telemetry ARGS` with `input` on stdin to completion, in a temporary folder (so a default output
 * such as ./telemetry-bad.ndjson stays out of the repository), killed with its test if it outlives it.
 */
export async function telemetry(args: string[], input = "", env: Record<string, string> = {}): Promise<Finished> {
  const child = spawnChild([telemetryBin, ...args], {
    stdin: new Blob([input]),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

/** Runs a shell pipeline in a temporary folder, with `telemetry` on the PATH. */
export async function shell(script: string): Promise<Finished> {
  const child = spawnChild(["bash", "-o", "pipefail", "-c", script], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, PATH: `${resolve(repo, "bin")}:${process.env.PATH}` },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

async function esScriptRun(command: "start" | "stop" | "remove", port: number): Promise<void> {
  // A loaded machine starts a JVM slowly: give it longer than a person's `make es` waits.
  const child = Bun.spawn([esScript, command], {
    env: { ES_START_TIMEOUT: "300", ...process.env, ES_PORT: String(port) },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`scripts/es.sh ${command} (ES_PORT=${port}) failed with ${code}:\n${stderr}`);
}

/** A node of our own, started by scripts/es.sh, that a test may stop and start again. */
export class ElasticsearchNode {
  readonly url: string;
  private constructor(readonly port: number) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts a node on a free port; fails loudly (never skips) when it cannot. */
  static async start(): Promise<ElasticsearchNode> {
    const node = new ElasticsearchNode(await freePort());
    await node.startAgain();
    return node;
  }

  startAgain(): Promise<void> {
    return esScriptRun("start", this.port);
  }

  stop(): Promise<void> {
    return esScriptRun("stop", this.port);
  }

  /** Stops it and deletes its data, config and logs (the unpacked distribution stays for the next run). */
  remove(): Promise<void> {
    return esScriptRun("remove", this.port);
  }
}

export async function es(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(url + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** Documents in the indices matching `index`, after a refresh so every acknowledged write counts. */
export async function countDocuments(url: string, index: string): Promise<number> {
  await es(url, "POST", `/${index}/_refresh?ignore_unavailable=true&allow_no_indices=true`);
  const answer = await es(url, "GET", `/${index}/_count?ignore_unavailable=true&allow_no_indices=true`);
  if (typeof answer?.count !== "number") throw new Error(`no count for ${index}: ${JSON.stringify(answer)}`);
  return answer.count;
}

/** A distinct name per test run, so suites sharing one Elasticsearch do not see each other's documents. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export function enrichedEvents(count: number, startAt = 0, day = "2025-11-27"): string[] {
  return Array.from({ length: count }, (_, k) => {
    const i = startAt + k;
    return JSON.stringify({
      app_id: "test",
      platform: "web",
      event: "page_view",
      event_id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      collector_tstamp: `${day}T10:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}.000Z`,
      geo_latitude: 48.85,
      geo_longitude: 2.35,
      br_viewwidth: 1280,
      page_title: `Page ${i}`,
    });
  });
}

export function logRecords(count: number, day: string): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      "@timestamp": `${day}T12:00:${String(i % 60).padStart(2, "0")}.${String(i).padStart(3, "0").slice(-3)}Z`,
      "@version": "1",
      message: `log line ${i}`,
      level: "INFO",
      level_value: 20000,
      logger_name: "test",
      source: { address: "127.0.0.1", port: 40000 + i, transport: "tcp" },
    }),
  );
}

export function badRows(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      schema: "iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/jsonschema/2-0-1",
      data: {
        processor: { artifact: "telemetry-enrich", version: "0.1.0" },
        failure: {
          timestamp: "2025-11-27T10:00:00.000Z",
          messages: [{ schemaKey: "iglu:com.acme/thing/jsonschema/1-0-0", error: { error: "ValidationError", dataReports: [{ message: `missing ${i}` }] } }],
        },
        payload: { raw: { vendor: "com.snowplowanalytics.snowplow", version: "tp2", parameters: [{ name: "e", value: "ue" }] } },
      },
    }),
  );
}

export function lines(records: string[]): string {
  return records.map((record) => record + "\n").join("");
}
