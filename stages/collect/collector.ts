/**
 * The collector's request handling: a Request in, a Response out, and for tracking requests one raw record
 * into the output queue; a record over the sink limit is split into several or becomes size_violation bad
 * rows (split-batch.ts). It knows nothing of sockets or processes, so it is tested by calling `handle` with
 * plain Requests; cli/commands/collect.ts puts it behind Bun.serve.
 */
import { makeBadRow, type BadRowSink, type Processor } from "../shared/bad-rows";
import type { StageCounters } from "../shared/counters";
import type { CollectorConfig } from "./config";
import { cookieDomain, cookieValue, deleteNuidCookie, networkUserId, setNuidCookies } from "./network-user-id";
import { BodyReader } from "./body-reader";
import { buildRawRecord } from "./raw-record";
import {
  allowedOrigin,
  corsHeaders,
  crossDomainResponse,
  preflightResponse,
  ROBOTS_TXT,
  textResponse,
  trackingResponse,
} from "./responses";
import type { Reservation } from "./record-queue";
import { matchRoute, type Route } from "./routes";
import { splitOversizedRecord, type SizeViolation } from "./split-batch";

/**
 * Where accepted records go: `reserve` sets aside room for all of one request's records (`bytes[i]` is the
 * UTF-8 length of record i) or, when there is none, returns undefined (the request gets 503). The records
 * are committed once archived, or the room is given back.
 */
export interface RecordOutput {
  reserve(bytes: readonly number[]): Reservation | undefined;
  readonly isHealthy: boolean;
}

/** A durable copy of accepted records; `append` resolves once all the lines are safely stored, or none is. */
export interface RecordArchive {
  append(lines: readonly string[]): Promise<void>;
}

export interface CollectorSinks {
  output: RecordOutput;
  bad: BadRowSink;
  archive?: RecordArchive;
  counters: StageCounters;
  processor: Processor;
  /** Told about failures that are answered 5xx (the request itself was fine). */
  warn?: (message: string) => void;
}

/** Peer address as the socket reports it; undefined when unknown. */
export type PeerAddress = string | undefined;

export class Collector {
  private accepting = true;
  /** Tracking requests between their first byte and their answer. */
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly bodies: BodyReader;

  constructor(
    private readonly config: CollectorConfig,
    private readonly sinks: CollectorSinks,
  ) {
    this.bodies = new BodyReader(config.dropPayloadBytes, config.bodyReadTimeoutMs);
  }

  /**
   * Stops accepting (new tracking requests get 503, so nothing is accepted that a shutdown could lose)
   * and resolves once the requests already being handled have been answered.
   */
  async shutdown(): Promise<void> {
    this.accepting = false;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  get isSinkHealthy(): boolean {
    return this.accepting && this.sinks.output.isHealthy;
  }

  /** Only tracking requests are answered asynchronously; the fixed routes answer at once. */
  handle(request: Request, peer: PeerAddress): Response | Promise<Response> {
    const url = splitRequestUrl(request.url);
    const route = matchRoute(request.method, url.path, this.config);
    switch (route.kind) {
      case "track":
      case "redirect":
        return this.track(request, route, url, peer);
      case "preflight":
        return preflightResponse(request.headers.get("origin"), this.config.corsMaxAgeSeconds);
      case "health":
        return textResponse(200, "ok");
      case "sink-health":
        return this.isSinkHealthy ? textResponse(200, "ok") : textResponse(503, "Service Unavailable");
      case "robots":
        return textResponse(200, ROBOTS_TXT);
      case "crossdomain":
        return crossDomainResponse(this.config.crossDomainDomains, this.config.crossDomainSecure);
      case "redirects-disabled":
        return textResponse(404, "redirects disabled");
      case "bad-path":
        return textResponse(400, "Bad Request: malformed percent-encoding in the path");
      case "not-found":
        return textResponse(404, "Not Found");
    }
  }

  private async track(
    request: Request,
    route: Extract<Route, { kind: "track" | "redirect" }>,
    url: RequestUrl,
    peer: PeerAddress,
  ): Promise<Response> {
    this.inFlight++;
    try {
      return await this.record(request, route, url, peer);
    } finally {
      if (--this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async record(
    request: Request,
    route: Extract<Route, { kind: "track" | "redirect" }>,
    url: RequestUrl,
    peer: PeerAddress,
  ): Promise<Response> {
    const { config, sinks } = this;
    const { headers } = request;
    const origin = headers.get("origin");
    if (!this.accepting) return textResponse(503, "Service Unavailable", [...corsHeaders(origin), ["Connection", "close"]]);
    // A click whose target cannot even be put in a Location header is a broken request, not a click:
    // refused before it is recorded. (A well-formed target on a host not allowed is recorded, then 400.)
    if (route.kind === "redirect" && cannotBeLocation(url.querystring)) {
      return textResponse(400, "Bad Request: the u parameter holds control characters", corsHeaders(origin));
    }

    let body: string | undefined;
    if (request.method === "POST") {
      const received = await this.bodies.read(request);
      if (received.kind === "too-large") return textResponse(413, "Payload Too Large", corsHeaders(origin));
      if (received.kind === "timeout") return textResponse(408, "Request Timeout", [...corsHeaders(origin), ["Connection", "close"]]);
      body = received.text;
    }

    const cookies = headers.get("cookie");
    const dnt = config.doNotTrackCookie;
    if (dnt !== undefined) {
      const value = cookieValue(cookies, dnt.name);
      if (value !== undefined && dnt.value.test(value)) return this.reply(route, url, origin, NO_COOKIES);
    }

    const anonymous = headers.has("sp-anonymous");
    const nuidCookie = cookieValue(cookies, config.cookie.name);
    const nuid = networkUserId({ anonymous, querystring: url.querystring, cookieValue: nuidCookie });
    const timestamp = Date.now();
    const record = buildRawRecord({
      id: newRecordId(),
      timestamp,
      ipAddress: anonymous ? "unknown" : clientAddress(headers, peer, config.trustForwardedFor),
      collectorName: config.collectorName,
      path: route.path,
      querystring: url.querystring,
      hostname: url.hostname,
      headers,
      body,
      networkUserId: nuid,
      anonymous,
    });
    const line = JSON.stringify(record);
    const bytes = Buffer.byteLength(line);
    // The usual case, a record within the limit, is written as it is; only larger ones are split.
    const { lines, bytes: lineBytes, violations } =
      bytes <= config.maxRecordBytes
        ? { lines: [line], bytes: [bytes], violations: NO_VIOLATIONS }
        : splitOversizedRecord(record, line, bytes, config, newRecordId);

    // Room first, then the archive, then downstream and the bad rows: a request refused at any step (503,
    // which the tracker retries) has reached neither stdout nor --bad, so its retry duplicates nothing.
    if (lines.length > 0) {
      const room = sinks.output.reserve(lineBytes);
      if (room === undefined) return textResponse(503, "Service Unavailable", corsHeaders(origin));
      if (sinks.archive !== undefined) {
        try {
          await sinks.archive.append(lines);
        } catch (error) {
          room.cancel();
          sinks.warn?.(`could not archive a record: ${(error as Error).message}`);
          return textResponse(503, "Service Unavailable", corsHeaders(origin));
        }
      }
      room.commit(lines);
      sinks.counters.in += lines.length;
    }
    for (const violation of violations) {
      sinks.counters.bad++;
      await sinks.bad.write(sizeViolation(sinks.processor, violation, config.maxRecordBytes, timestamp));
    }

    let setCookies = NO_COOKIES;
    if (config.cookie.enabled) {
      const domain = cookieDomain(origin, config.cookie);
      if (!anonymous) setCookies = setNuidCookies(nuid, domain, config.cookie, timestamp);
      else if (nuidCookie !== undefined) setCookies = [deleteNuidCookie(domain, config.cookie)];
    }
    return this.reply(route, url, origin, setCookies);
  }

  private reply(
    route: Extract<Route, { kind: "track" | "redirect" }>,
    url: RequestUrl,
    origin: string | null,
    setCookies: readonly string[],
  ): Response {
    if (route.kind === "redirect") {
      const headers = corsHeaders(origin);
      for (const cookie of setCookies) headers.push(["Set-Cookie", cookie]);
      const target = redirectTarget(url.querystring, this.config.redirectDomains);
      if (target === undefined) return new Response(null, { status: 400, headers });
      headers.push(["Location", target]);
      return new Response(null, { status: 302, headers });
    }
    return trackingResponse(route.reply, allowedOrigin(origin), setCookies);
  }
}

const NO_COOKIES: readonly string[] = [];
const NO_VIOLATIONS: readonly SizeViolation[] = [];

function newRecordId(): string {
  return crypto.randomUUID();
}

interface RequestUrl {
  path: string;
  /** Raw, without the `?`; "" when there is none. */
  querystring: string;
  hostname: string | undefined;
}

/**
 * Path, querystring and host straight from the request URL's text: a URL parser would re-encode
 * characters, and the collector must store what the client sent.
 */
export function splitRequestUrl(url: string): RequestUrl {
  const scheme = url.indexOf("://");
  const authorityStart = scheme === -1 ? 0 : scheme + 3;
  let pathStart = url.indexOf("/", authorityStart);
  if (pathStart === -1) pathStart = url.length;
  const question = url.indexOf("?", pathStart);
  const authority = url.slice(authorityStart, pathStart);
  return {
    path: question === -1 ? url.slice(pathStart) || "/" : url.slice(pathStart, question) || "/",
    querystring: question === -1 ? "" : url.slice(question + 1),
    hostname: authority === "" ? undefined : hostOf(authority),
  };
}

function hostOf(authority: string): string {
  const at = authority.lastIndexOf("@");
  const host = at === -1 ? authority : authority.slice(at + 1);
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.indexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

/** The first X-Forwarded-For entry when trusted, else the socket peer; "unknown" when neither is known. */
export function clientAddress(headers: Headers, peer: PeerAddress, trustForwardedFor: boolean): string {
  if (trustForwardedFor) {
    const forwarded = headers.get("x-forwarded-for");
    const first = forwarded?.split(",")[0]?.trim();
    if (first) return first;
  }
  if (peer === undefined || peer === "") return "unknown";
  return peer.startsWith("::ffff:") ? peer.slice(7) : peer;
}

const HTTP_URL = /^https?:$/;
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;

function cannotBeLocation(querystring: string): boolean {
  const target = new URLSearchParams(querystring).get("u");
  return target !== null && CONTROL_CHARACTER.test(target);
}

/** The `u` parameter when it is an http(s) URL on an allowed host; undefined otherwise (answered 400). */
export function redirectTarget(querystring: string, allowedDomains: string[]): string | undefined {
  const target = new URLSearchParams(querystring).get("u");
  if (target === null) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(target);
  } catch {
    return undefined;
  }
  if (!HTTP_URL.test(parsed.protocol) || !allowedDomains.includes(parsed.hostname)) return undefined;
  return target;
}

/**
 * A record (or one event of a split batch) too large for the sink: a size_violation bad row holding the
 * first tenth of the allowed size of its text, as the Snowplow collector does.
 */
function sizeViolation(processor: Processor, violation: SizeViolation, max: number, timestamp: number) {
  return makeBadRow(
    "size_violation",
    processor,
    {
      timestamp: new Date(timestamp).toISOString(),
      maximumAllowedSizeBytes: max,
      actualSizeBytes: violation.actualSizeBytes,
      expectation: violation.expectation,
    },
    violation.text.slice(0, Math.floor(max / 10)),
  );
}
