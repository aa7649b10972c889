/**
 * Builds the raw record (the CollectorPayload fields as JSON, briefs/contracts.md) from what arrived.
 * The collector never looks inside events: querystring and body are stored exactly as received.
 */
import { RAW_RECORD_SCHEMA, type RawRecord } from "../shared/raw-record";

export interface RequestFacts {
  id: string;
  timestamp: number;
  /** Client address already chosen (peer, X-Forwarded-For, or "unknown"). */
  ipAddress: string;
  collectorName: string;
  path: string;
  querystring: string;
  hostname: string | undefined;
  headers: Headers;
  /** Present for POST only. */
  body: string | undefined;
  networkUserId: string;
  /** SP-Anonymous: forwarding and cookie headers are left out of the stored header list. */
  anonymous: boolean;
}

export function buildRawRecord(facts: RequestFacts): RawRecord {
  const { headers } = facts;
  const isPost = facts.body !== undefined;
  // Optional fields are left undefined, which JSON.stringify leaves out (absent, never null).
  return {
    schema: RAW_RECORD_SCHEMA,
    id: facts.id,
    timestamp: facts.timestamp,
    ipAddress: facts.ipAddress,
    encoding: "UTF-8",
    collector: facts.collectorName,
    userAgent: headers.get("user-agent") ?? undefined,
    refererUri: headers.get("referer") ?? undefined,
    path: facts.path,
    querystring: facts.querystring,
    body: facts.body,
    headers: renderHeaders(headers, facts.anonymous),
    contentType: isPost ? headers.get("content-type")?.toLowerCase() : undefined,
    hostname: facts.hostname,
    networkUserId: facts.networkUserId,
  };
}

const HIDDEN_WHEN_ANONYMOUS = new Set(["x-forwarded-for", "x-real-ip", "cookie"]);

/** Every header as `Name: value`, then the lower-cased content type as a bare last element. */
export function renderHeaders(headers: Headers, anonymous: boolean): string[] {
  const rendered: string[] = [];
  headers.forEach((value, name) => {
    if (anonymous && HIDDEN_WHEN_ANONYMOUS.has(name)) return;
    if (name === "cookie") {
      const cookies = validCookiePairs(value);
      if (cookies !== "") rendered.push(`Cookie: ${cookies}`);
      return;
    }
    rendered.push(`${canonicalHeaderName(name)}: ${value}`);
  });
  const contentType = headers.get("content-type");
  if (contentType !== null) rendered.push(contentType.toLowerCase());
  return rendered;
}

// RFC 6265 §4.1.1: cookie-name is a token; cookie-value is cookie-octets, optionally in double quotes.
const COOKIE_PAIR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+=(?:"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*"|[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*)$/;

/** The Cookie header re-rendered with only its well-formed pairs, as the Snowplow collector stores it. */
export function validCookiePairs(header: string): string {
  return header
    .split(";")
    .map((pair) => pair.trim())
    .filter((pair) => COOKIE_PAIR.test(pair))
    .join("; ");
}

// Bun hands header names over lower-cased; the stored list uses the usual capitalisation (User-Agent).
// Names come from clients, so the cache of spellings is bounded.
const canonicalNames = new Map<string, string>();
const MAX_CACHED_NAMES = 1024;

export function canonicalHeaderName(lowerCased: string): string {
  let name = canonicalNames.get(lowerCased);
  if (name === undefined) {
    name = lowerCased.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
    if (canonicalNames.size < MAX_CACHED_NAMES) canonicalNames.set(lowerCased, name);
  }
  return name;
}
