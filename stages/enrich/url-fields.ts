/**
 * The URL columns Enrich derives itself: page_url* from the page URL (the `url` parameter, else the
 * request's Referer header), refr_url* from the referrer, and the cross-domain linker `_sp` on the page
 * URL into refr_domain_userid / refr_dvce_tstamp.
 */
import { parseTimestamp, Rejection, tsvSafe } from "./conversions";
import type { EnrichedEvent } from "./event";

/** A URL that could not be read, in the shape of an enrichment failure's InputData message. */
export interface UrlFailure {
  field: string;
  value: string;
  expectation: string;
}

/** A URL as WHATWG URL parsing splits it, in the form of Enrich's url columns. */
export interface UrlParts {
  readonly scheme: string;
  readonly host: string | null;
  readonly port: number | null;
  readonly path: string | null;
  readonly query: string | null;
  readonly fragment: string | null;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };

function splitUrl(text: string): UrlParts | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const scheme = url.protocol.slice(0, -1);
  return Object.freeze({
    scheme,
    host: url.hostname === "" ? null : url.hostname,
    port: url.port !== "" ? Number(url.port) : (DEFAULT_PORTS[scheme] ?? null),
    path: url.pathname === "" ? null : url.pathname,
    query: url.search.length > 1 ? url.search.slice(1) : null,
    fragment: url.hash.length > 1 ? url.hash.slice(1) : null,
  });
}

/** Recently split URLs; cleared when full, so its size stays bounded whatever the traffic. */
const splitUrls = new Map<string, UrlParts | null>();
const SPLIT_URLS_KEPT = 2000;

/**
 * The parts of an absolute URL, or null when it is not one. Page URLs and referrers repeat from event to
 * event, and each event's page URL and referrer are parsed more than once (url columns, referer_parser),
 * so answers are kept for a while.
 */
export function urlParts(text: string): UrlParts | null {
  let parts = splitUrls.get(text);
  if (parts === undefined) {
    parts = splitUrl(text);
    if (splitUrls.size >= SPLIT_URLS_KEPT) splitUrls.clear();
    splitUrls.set(text, parts);
  }
  return parts;
}

/** Fills page_url (falling back to the Referer header) and its parts. */
export function setPageUrlFields(event: EnrichedEvent, refererHeader: string | undefined): UrlFailure | null {
  if (event.page_url === null && refererHeader !== undefined) event.page_url = tsvSafe(refererHeader);
  if (event.page_url === null) return null;
  return setUrlColumns(event, "page_url", "page_url");
}

export function setReferrerUrlFields(event: EnrichedEvent): UrlFailure | null {
  if (event.page_referrer === null) return null;
  return setUrlColumns(event, "page_referrer", "refr_url");
}

/** Splits the URL in `field` into the six `<prefix>scheme … <prefix>fragment` columns. */
function setUrlColumns(event: EnrichedEvent, field: "page_url" | "page_referrer", prefix: "page_url" | "refr_url"): UrlFailure | null {
  const url = event[field] as string;
  const parts = urlParts(url);
  if (parts === null) return { field, value: url, expectation: "an absolute URL" };
  event[`${prefix}scheme`] = parts.scheme;
  event[`${prefix}host`] = parts.host;
  event[`${prefix}port`] = parts.port;
  event[`${prefix}path`] = parts.path;
  event[`${prefix}query`] = parts.query;
  event[`${prefix}fragment`] = parts.fragment;
  return null;
}

/** `_sp=<domain_userid>.<ms timestamp>[.…]` on the page URL, written by trackers' cross-domain linker. */
export function setCrossDomainFields(event: EnrichedEvent): UrlFailure | null {
  const query = event.page_urlquery;
  if (query === null || query.indexOf("_sp=") === -1) return null;
  const linker = new URLSearchParams(query).get("_sp");
  if (linker === null || linker === "") return null;
  const [userId, timestamp] = linker.split(".");
  event.refr_domain_userid = userId ? tsvSafe(userId) : null;
  if (timestamp !== undefined && timestamp !== "") {
    const ms = parseTimestamp(timestamp);
    if (ms instanceof Rejection) return { field: "refr_dvce_tstamp", value: timestamp, expectation: ms.expectation };
    event.refr_dvce_tstamp = ms;
  }
  return null;
}
