/**
 * Elasticsearch as a store: the connection (URL list, basic auth, API key, CA certificate), the health
 * check at start, the index templates, and `_bulk` writes.
 *
 * Requests go through the official client's transport, which already does what a user's cluster needs
 * (a pool over several URLs that skips dead nodes, auth headers, TLS with a CA, the product check that
 * tells Elasticsearch from look-alikes) while we keep the retry decisions: its own retries are off
 * (`maxRetries: 0`) because the sink retries for as long as it takes, per item. Under Bun the client's
 * default undici connection does not work, so it runs on `HttpConnection` (node:http; logs.md §4d).
 */
import { readFileSync } from "node:fs";
import { Client, HttpConnection, errors, type ClientOptions } from "@elastic/elasticsearch";
import type { SinkDocument } from "./document";
import { BULK_FILTER_PATH, bulkBody, readBulkResponse } from "./bulk-request";
import { classifyRequestFailure, type RequestFailure, type RequestOutcome } from "./retry";
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

export function elasticsearchClient(connection: ElasticsearchConnection): Client {
  if (connection.urls.length === 0) throw new StoreConfigError("no Elasticsearch URL was given");
  for (const url of connection.urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StoreConfigError(`"${url}" is not a URL (expected e.g. http://127.0.0.1:9200)`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new StoreConfigError(`"${url}" is not an http:// or https:// URL`);
    }
  }
  const options: ClientOptions = {
    nodes: connection.urls,
    Connection: HttpConnection,
    maxRetries: 0,
    requestTimeout: connection.requestTimeoutMs ?? 60_000,
  };
  if (connection.apiKey) options.auth = { apiKey: connection.apiKey };
  else if (connection.username) options.auth = { username: connection.username, password: connection.password ?? "" };
  if (connection.caFile) {
    try {
      options.tls = { ca: readFileSync(connection.caFile) };
    } catch (error) {
      throw new StoreConfigError(`cannot read the CA certificate ${connection.caFile}: ${(error as Error).message}`);
    }
  }
  return new Client(options);
}

/** The request failure as the retry classifier sees it. */
export function requestFailureOf(error: unknown): RequestFailure {
  if (error instanceof errors.ResponseError) {
    return { status: error.meta.statusCode ?? undefined, message: responseErrorReason(error) };
  }
  return { message: (error as Error)?.message ?? String(error) };
}

function responseErrorReason(error: InstanceType<typeof errors.ResponseError>): string {
  const body = error.meta.body as { error?: { type?: string; reason?: string } | string } | undefined;
  const detail = body?.error;
  if (typeof detail === "string") return detail;
  if (detail?.type) return `${detail.type}: ${detail.reason ?? ""}`.trim();
  return error.message;
}

export type StartupVerdict = { kind: "wait"; reason: string } | { kind: "fatal"; sentence: string };

const TRANSIENT_CONNECTION = /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE|ETIMEDOUT|socket hang up|closed|timed? ?out/i;

/**
 * Why the first health request failed, and whether to wait for the cluster or stop with a sentence.
 * A refused connection or a 5xx is a cluster that is down or starting (wait); anything that shows we
 * reached the wrong thing or were turned away is the user's to fix (exit 2).
 */
export function classifyStartupFailure(error: unknown, where: string): StartupVerdict {
  if (error instanceof errors.ProductNotSupportedError) {
    return { kind: "fatal", sentence: `${where} is not Elasticsearch (it does not say so in its answers)` };
  }
  if (error instanceof errors.ResponseError) {
    const status = error.meta.statusCode ?? 0;
    if (status === 401) return { kind: "fatal", sentence: `${where} refused the credentials (401); check --es-user/--es-password or --es-api-key` };
    if (status === 403) return { kind: "fatal", sentence: `${where} refused access (403); the user needs the monitor and write privileges` };
    if (status === 429 || status >= 500) return { kind: "wait", reason: `${status}: ${responseErrorReason(error)}` };
    return { kind: "fatal", sentence: `${where} answered GET /_cluster/health with ${status}; it does not look like Elasticsearch` };
  }
  if (error instanceof errors.DeserializationError) {
    return { kind: "fatal", sentence: `${where} did not answer with JSON; it does not look like Elasticsearch` };
  }
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof errors.TimeoutError || TRANSIENT_CONNECTION.test(message)) return { kind: "wait", reason: message };
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(message)) {
    return { kind: "fatal", sentence: `cannot find the host of ${where} (${message})` };
  }
  if (/certificate|SSL|TLS|self.signed|wrong version number|EPROTO/i.test(message)) {
    return { kind: "fatal", sentence: `cannot make a TLS connection to ${where} (${message}); check the URL scheme and --es-ca` };
  }
  return { kind: "fatal", sentence: `cannot talk to ${where}: ${message}` };
}

export class ElasticsearchStore implements Store {
  readonly description: string;

  constructor(private readonly client: Client, urls: string[]) {
    this.description = `Elasticsearch at ${urls.join(",")}`;
  }

  /**
   * Waits until the cluster answers its health endpoint (the integ-test-zip has no `GET /`). Throws
   * StoreConfigError when it never will; resolves false when `signal` aborts before it answers.
   */
  async waitUntilReachable(notify: (message: string) => void, signal?: AbortSignal, pollMs = 2000): Promise<boolean> {
    let noted = false;
    while (!signal?.aborted) {
      try {
        const health = (await this.client.transport.request({ method: "GET", path: "/_cluster/health" })) as {
          status?: string;
        };
        if (health.status === "red") notify(`${this.description} is red (some primary shards are unassigned); writing anyway`);
        if (noted) notify(`${this.description} is up`);
        return true;
      } catch (error) {
        const verdict = classifyStartupFailure(error, this.description);
        if (verdict.kind === "fatal") throw new StoreConfigError(verdict.sentence);
        if (!noted) notify(`waiting for ${this.description} (${verdict.reason})`);
        noted = true;
        await abortableSleep(pollMs, signal);
      }
    }
    return false;
  }

  async installTemplates(templates: IndexTemplate[]): Promise<void> {
    for (const template of templates) {
      try {
        await this.client.transport.request({ method: "PUT", path: `/_index_template/${template.name}`, body: template.body });
      } catch (error) {
        const failure = requestFailureOf(error);
        throw new StoreConfigError(
          `${this.description} refused the index template ${template.name} (${failure.status ?? "no answer"}: ${failure.message}); ` +
            "start with --no-templates to keep the cluster's own",
        );
      }
    }
  }

  async write(documents: SinkDocument[]): Promise<RequestOutcome> {
    try {
      const response = await this.client.transport.request({
        method: "POST",
        path: "/_bulk",
        bulkBody: bulkBody(documents),
        querystring: { filter_path: BULK_FILTER_PATH },
      });
      return readBulkResponse(response, documents.length);
    } catch (error) {
      return classifyRequestFailure(requestFailureOf(error));
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
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
