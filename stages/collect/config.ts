/**
 * What a collector can be told, with the defaults of the Snowplow collector 3.4 where it has one
 * (reference/snowplow-pipeline.md §1). The CLI builds this from flags; tests build it with `collectorConfig`.
 */

export type SameSite = "None" | "Lax" | "Strict";

export interface CookieConfig {
  /** false: no Set-Cookie at all (the network user id is still made and recorded). */
  enabled: boolean;
  name: string;
  /** Matched against the request's Origin host (exact or any subdomain); the first match is the Domain. */
  domains: string[];
  /** Domain when no entry of `domains` matches; none means the cookie is bound to the collector host. */
  fallbackDomain?: string;
  expirationSeconds: number;
  /** undefined leaves the attribute out. */
  sameSite?: SameSite;
  secure: boolean;
  httpOnly: boolean;
  /** A second cookie with the same value that page scripts may read (not HttpOnly). */
  clientCookieName?: string;
}

export interface DoNotTrackCookie {
  name: string;
  /** Whole-value match. */
  value: RegExp;
}

export interface CollectorConfig {
  /** Written into every raw record's `collector` field. */
  collectorName: string;
  cookie: CookieConfig;
  doNotTrackCookie?: DoNotTrackCookie;
  /** Use the first X-Forwarded-For entry as the client address (only behind a proxy you run). */
  trustForwardedFor: boolean;
  corsMaxAgeSeconds: number;
  /** `/r/…` click redirects; when enabled, targets must be on one of `redirectDomains`. */
  redirects: boolean;
  redirectDomains: string[];
  /** Domains for /crossdomain.xml; empty means the route answers 404. */
  crossDomainDomains: string[];
  crossDomainSecure: boolean;
  /** Custom two-segment paths mapped onto canonical ones before routing and recording. */
  paths: Record<string, string>;
  /** Bodies larger than this are refused with 413 and never recorded. */
  dropPayloadBytes: number;
  /**
   * Raw records larger than this (the sink's limit) are split when they hold a POST batch of events
   * (split-batch.ts); what cannot be split becomes size_violation bad rows.
   */
  maxRecordBytes: number;
  /** Records larger than this are never split: one size_violation (Snowplow's networking.maxPayloadSize). */
  maxSplitBytes: number;
  /** A request body not received within this time is answered 408. */
  bodyReadTimeoutMs: number;
}

export const CANONICAL_PATHS = [
  "/com.snowplowanalytics.snowplow/tp2",
  "/r/tp2",
  "/com.snowplowanalytics.iglu/v1",
] as const;

export function collectorConfig(
  overrides: Omit<Partial<CollectorConfig>, "cookie"> & { cookie?: Partial<CookieConfig> } = {},
): CollectorConfig {
  const { cookie, ...rest } = overrides;
  return {
    collectorName: "telemetry-collect",
    trustForwardedFor: false,
    corsMaxAgeSeconds: 3600,
    redirects: false,
    redirectDomains: [],
    crossDomainDomains: [],
    crossDomainSecure: true,
    paths: {},
    dropPayloadBytes: 2 * 1024 * 1024,
    maxRecordBytes: 1_000_000,
    maxSplitBytes: 1_048_576,
    bodyReadTimeoutMs: 25_000,
    ...rest,
    cookie: {
      enabled: true,
      name: "sp",
      domains: [],
      expirationSeconds: 365 * 24 * 3600,
      sameSite: "None",
      secure: true,
      httpOnly: true,
      ...cookie,
    },
  };
}

/** Explains the first thing wrong with a configuration, or returns undefined when it is usable. */
export function configProblem(config: CollectorConfig): string | undefined {
  if (config.redirects && config.redirectDomains.length === 0) {
    return "redirects need at least one --redirect-domain, otherwise the collector would be an open redirect";
  }
  for (const [from, to] of Object.entries(config.paths)) {
    if (!/^\/[^/]+\/[^/]+$/.test(from)) return `custom path ${from} must have exactly two segments, like /com.acme/track`;
    if (!(CANONICAL_PATHS as readonly string[]).includes(to)) {
      return `custom path ${from} must map to one of ${CANONICAL_PATHS.join(", ")}, not ${to}`;
    }
  }
  for (const domain of [...config.cookie.domains, config.cookie.fallbackDomain ?? ""]) {
    if (domain.startsWith(".")) return `cookie domain ${domain} must not start with a dot`;
  }
  if (config.cookie.sameSite === "None" && !config.cookie.secure && config.cookie.enabled) {
    return "SameSite=None cookies must be Secure (browsers drop them otherwise); use --cookie-same-site Lax or keep --cookie-secure";
  }
  if (config.maxRecordBytes <= 0 || config.maxSplitBytes <= 0 || config.dropPayloadBytes <= 0) return "size limits must be positive";
  return undefined;
}
