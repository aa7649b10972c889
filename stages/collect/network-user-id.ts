/**
 * The network user id (nuid) and its cookie (reference/snowplow-pipeline.md §1.2–1.3).
 *
 * Precedence: SP-Anonymous → the all-zero id; then the `nuid` querystring parameter; then the cookie;
 * then a fresh UUID v4. Unlike the Snowplow collector, a `nuid` or cookie value that is not a UUID is
 * ignored: Enrich would reject every payload carrying it, and a refreshed cookie would repeat that forever.
 */
import type { CookieConfig } from "./config";

export const ANONYMOUS_NUID = "00000000-0000-0000-0000-000000000000";

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export interface NuidSources {
  anonymous: boolean;
  querystring: string;
  cookieValue: string | undefined;
}

export function networkUserId({ anonymous, querystring, cookieValue }: NuidSources): string {
  if (anonymous) return ANONYMOUS_NUID;
  if (querystring.includes("nuid=")) {
    const fromQuery = new URLSearchParams(querystring).get("nuid");
    if (fromQuery !== null && isUuid(fromQuery)) return fromQuery;
  }
  if (cookieValue !== undefined && isUuid(cookieValue)) return cookieValue;
  return crypto.randomUUID();
}

/** The value of cookie `name` in a Cookie request header. */
export function cookieValue(cookieHeader: string | null, name: string): string | undefined {
  if (cookieHeader === null) return undefined;
  for (const pair of cookieHeader.split(";")) {
    const equals = pair.indexOf("=");
    if (equals === -1 || pair.slice(0, equals).trim() !== name) continue;
    return pair.slice(equals + 1).trim().replace(/^"(.*)"$/, "$1");
  }
  return undefined;
}

/**
 * The Domain attribute for a response: the first configured domain that the request's Origin host equals
 * or is a subdomain of; otherwise the fallback domain; otherwise none.
 */
export function cookieDomain(origin: string | null, config: CookieConfig): string | undefined {
  if (config.domains.length > 0 && origin !== null) {
    const host = originHost(origin);
    if (host !== undefined) {
      for (const domain of config.domains) {
        if (host === domain || host.endsWith(`.${domain}`)) return domain;
      }
    }
  }
  return config.fallbackDomain;
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin.split(" ")[0]!).hostname;
  } catch {
    return undefined;
  }
}

/** Set-Cookie header values that store (or refresh) the nuid. */
export function setNuidCookies(nuid: string, domain: string | undefined, config: CookieConfig, now: number): string[] {
  const expires = httpDate(now + config.expirationSeconds * 1000);
  const main = renderCookie(config.name, nuid, domain, expires, config, config.httpOnly);
  if (config.clientCookieName === undefined) return [main];
  return [main, renderCookie(config.clientCookieName, nuid, domain, expires, config, false)];
}

/** A Set-Cookie value that makes the browser forget the nuid cookie (SP-Anonymous requests). */
export function deleteNuidCookie(domain: string | undefined, config: CookieConfig): string {
  return renderCookie(config.name, "", domain, new Date(0).toUTCString(), config, config.httpOnly);
}

function renderCookie(
  name: string,
  value: string,
  domain: string | undefined,
  expires: string,
  config: CookieConfig,
  httpOnly: boolean,
): string {
  let cookie = `${name}=${value}; Expires=${expires}; Path=/`;
  if (domain !== undefined) cookie += `; Domain=${domain}`;
  if (config.sameSite !== undefined) cookie += `; SameSite=${config.sameSite}`;
  if (config.secure) cookie += "; Secure";
  if (httpOnly) cookie += "; HttpOnly";
  return cookie;
}

// Formatting a date is the most expensive part of a Set-Cookie; its text only changes once a second.
let cachedSecond = -1;
let cachedDate = "";
function httpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = new Date(second * 1000).toUTCString();
  }
  return cachedDate;
}
