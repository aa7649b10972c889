/**
 * Elasticsearch (or OpenSearch) as a store: the connection (URL list, basic auth, API key, CA
 * certificate), the health check and engine detection at start, the index templates, and `_bulk` writes.
 *
 * Requests are plain `fetch` rather than the official client's transport. Measured on this machine with
 * the same 50 bulk bodies of 1.3 MB: the client on `HttpConnection` (the only connection class that
 * works under Bun, logs.md §4d) spent about 1 s of CPU, Bun's fetch about 0.27 s, and the sink shares
 * the CPU with Elasticsearch itself. What the transport would add we need little of: the sink makes
 * its own retry decisions per item, and the pool, auth headers, TLS CA and product check are a page here.
 */
import { readFileSync } from "node:fs";
import type { SinkDocument } from "./document";
import { BULK_FILTER_PATH, bulkBody, readBulkResponse } from "./bulk-request";
import { engineName, identifyEngine, type Engine } from "./engine";
import { classifyRequestFailure, type RequestOutcome } from "./retry";
import { StoreConfigError, type Store } from "./sink";
import type { IndexTemplate } from "./templates";

export interface ElasticsearchConnection {
  urls: string[];
  username?: string;
  password?: string;
  apiKey?: string;
  /** PEM file of the certificate authority that signed the cluster's HTTPS certificate. */
  caFile?: string;
  requestTimeoutMs?: number;
}

/** An HTTP answer, or a connection that failed before one (`status` absent, `code` like ECONNREFUSED). */
export interface Answer {
  status?: number;
  /** The `x-elastic-product` header: Elasticsearch names itself there on every answer. */
  product?: string | null;
  body?: unknown;
  code?: string;
  message: string;
}

interface Node {
  url: string;
  /** Until when (ms) this node is skipped after its connection failed. */
  deadUntil: number;
  failures: number;
}

/** Round-robin over the cluster's URLs, skipping for a while a node whose connection just failed. */
export class ElasticsearchHttp {
  private readonly nodes: Node[];
  private readonly headers: Record<string, string> = {};
  private readonly tls: { ca: string } | undefined;
  private next = 0;

  constructor(private readonly connection: ElasticsearchConnection) {
    if (connection.urls.length === 0) throw new StoreConfigError("no Elasticsearch URL was given");
    this.nodes = connection.urls.map((url) => ({ url: checkedUrl(url), deadUntil: 0, failures: 0 }));
    if (connection.apiKey) this.headers.authorization = `ApiKey ${connection.apiKey}`;
    else if (connection.username) {
      const pair = `${connection.username}:${connection.password ?? ""}`;
      this.headers.authorization = `Basic ${Buffer.from(pair).toString("base64")}`;
    }
    if (connection.caFile) {
      try {
        this.tls = { ca: readFileSync(connection.caFile, "utf8") };
      } catch (error) {
        throw new StoreConfigError(`cannot read the CA certificate ${connection.caFile}: ${(error as Error).message}`);
      }
    }
  }

  get description(): string {
    return `Elasticsearch at ${this.urls}`;
  }

  get urls(): string {
    return this.connection.urls.join(",");
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  private pickNode(now: number): Node {
    for (let tried = 0; tried < this.nodes.length; tried++) {
      const node = this.nodes[this.next++ % this.nodes.length]!;
      if (node.deadUntil <= now) return node;
    }
    // Every node failed lately: try the one that comes back soonest rather than none.
    return this.nodes.reduce((soonest, node) => (node.deadUntil < soonest.deadUntil ? node : soonest));
  }

  async request(method: string, path: string, body?: string, contentType = "application/json"): Promise<Answer> {
    const node = this.pickNode(Date.now());
    let response: Response;
    try {
      response = await fetch(node.url + path, {
        method,
        body,
        headers: body === undefined ? this.headers : { ...this.headers, "content-type": contentType },
        signal: AbortSignal.timeout(this.connection.requestTimeoutMs ?? 60_000),
        tls: this.tls,
      });
    } catch (error) {
      node.failures++;
      node.deadUntil = Date.now() + Math.min(30_000, 500 * 2 ** Math.min(node.failures, 6));
      const { code, name, message } = error as { code?: string; name?: string; message?: string };
      return { code: code ?? name, message: message ?? String(error) };
    }
    node.failures = 0;
    node.deadUntil = 0;
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: kept as text; the caller decides what an answer like that means.
    }
    return { status: response.status, product: response.headers.get("x-elastic-product"), body: parsed, message: reasonOf(response.status, parsed) };
  }
}

function checkedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreConfigError(`"${url}" is not a URL (expected e.g. http://127.0.0.1:9200)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new StoreConfigError(`"${url}" is not an http:// or https:// URL`);
  }
  return url.replace(/\/+$/, "");
}

/** Elasticsearch's `{"error":{"type","reason"}}`, or the status when the answer has no such thing. */
function reasonOf(status: number, body: unknown): string {
  const detail = (body as { error?: { type?: string; reason?: string } | string } | null)?.error;
  if (typeof detail === "string") return detail;
  if (detail?.type) return `${detail.type}: ${detail.reason ?? ""}`.trim();
  return `HTTP ${status}`;
}

export type StartupVerdict = { kind: "wait"; reason: string } | { kind: "fatal"; sentence: string };

const WAITABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ETIMEDOUT",
  "TimeoutError",
  "ConnectionClosed",
  "ConnectionRefused",
]);

/**
 * What the answer to the first health request means: wait for a cluster that is down or starting, or
 * stop with a sentence when we reached the wrong thing or were turned away (exit 2).
 */
export function classifyStartupAnswer(answer: Answer, where: string): StartupVerdict | { kind: "ready" } {
  const { status } = answer;
  if (status === undefined) {
    const code = answer.code ?? "";
    if (WAITABLE_CODES.has(code)) return { kind: "wait", reason: answer.message };
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return { kind: "fatal", sentence: `cannot find the host of ${where} (${answer.message})` };
    if (code === "EPROTO" || /CERT|SSL|TLS|SELF_SIGNED/i.test(code)) {
      return { kind: "fatal", sentence: `cannot make a TLS connection to ${where} (${answer.message}); check the URL scheme and --es-ca` };
    }
    return { kind: "fatal", sentence: `cannot talk to ${where}: ${answer.message}` };
  }
  if (status === 401) return { kind: "fatal", sentence: `${where} refused the credentials (401); check --es-user/--es-password or --es-api-key` };
  if (status === 403) return { kind: "fatal", sentence: `${where} refused access (403); the user needs the monitor and write privileges` };
  if (status === 429 || status >= 500) return { kind: "wait", reason: `${status}: ${answer.message}` };
  // Which engine answered (or whether it is one at all) is asked next: ElasticsearchStore.identify.
  if (status >= 200 && status < 300) return { kind: "ready" };
  return { kind: "fatal", sentence: `${where} answered GET /_cluster/health with ${status}; it does not look like Elasticsearch or OpenSearch` };
}

export class ElasticsearchStore implements Store {
  /** Known once waitUntilReachable has returned true. */
  engine: Engine | undefined;

  constructor(private readonly http: ElasticsearchHttp) {}

  get description(): string {
    if (!this.engine) return this.http.description;
    return `${engineName(this.engine)} at ${this.http.urls}`;
  }

  /**
   * Waits until the cluster answers its health endpoint (the integ-test-zip has no `GET /`), then learns
   * which engine it is. Throws StoreConfigError when it never will answer, or answers as neither
   * Elasticsearch nor OpenSearch; resolves false when `signal` aborts before it answers.
   */
  async waitUntilReachable(notify: (message: string) => void, signal?: AbortSignal, pollMs = 2000): Promise<boolean> {
    let waited = false;
    while (!signal?.aborted) {
      let reason = "";
      // Each node once per round: one that is down does not delay starting on another that is up.
      for (let node = 0; node < this.http.nodeCount; node++) {
        const answer = await this.http.request("GET", "/_cluster/health");
        const verdict = classifyStartupAnswer(answer, this.description);
        if (verdict.kind === "fatal") throw new StoreConfigError(verdict.sentence);
        if (verdict.kind === "ready") {
          if ((answer.body as { status?: string } | null)?.status === "red") {
            notify(`${this.description} is red (some primary shards are unassigned); writing anyway`);
          }
          this.engine = await this.identify(answer.product);
          if (waited) notify(`${this.description} is up`);
          return true;
        }
        reason = verdict.reason;
      }
      if (!waited) notify(`waiting for ${this.description} (${reason})`);
      waited = true;
      await abortableSleep(pollMs, signal);
    }
    return false;
  }

  /** `GET /` names OpenSearch; Elasticsearch names itself in a header and its version in node info. */
  private async identify(product: string | null | undefined): Promise<Engine> {
    const root = await this.http.request("GET", "/");
    const nodes = product === "Elasticsearch" ? await this.http.request("GET", "/_nodes/_local?filter_path=nodes.*.version") : undefined;
    const engine = identifyEngine({ product: product ?? root.product, root: root.body, nodes: nodes?.body });
    if (!engine) {
      throw new StoreConfigError(`${this.description} is neither Elasticsearch nor OpenSearch (it does not say so in its answers)`);
    }
    return engine;
  }

  async installTemplates(templates: IndexTemplate[]): Promise<void> {
    for (const template of templates) {
      const answer = await this.http.request("PUT", `/_index_template/${template.name}`, JSON.stringify(template.body));
      if (answer.status !== 200) {
        throw new StoreConfigError(
          `${this.description} refused the index template ${template.name} (${answer.status ?? "no answer"}: ${answer.message}); ` +
            "start with --no-templates to keep the cluster's own",
        );
      }
    }
  }

  async write(documents: SinkDocument[]): Promise<RequestOutcome> {
    const answer = await this.http.request("POST", `/_bulk?filter_path=${BULK_FILTER_PATH}`, bulkBody(documents), "application/x-ndjson");
    if (answer.status === 200) return readBulkResponse(answer.body, documents.length);
    return classifyRequestFailure({ status: answer.status, message: answer.message });
  }

  async close(): Promise<void> {}
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
