/**
 * cookie_extractor_config: one `org.ietf/http_cookie` entity per configured cookie found in the
 * request's Cookie headers (RFC 6265 pairs separated by ";"), in the order they appear.
 */
import type { EnrichmentDefinition } from "./config";
import { headerLines } from "./http-headers";

export const HTTP_COOKIE_SCHEMA = "iglu:org.ietf/http_cookie/jsonschema/1-0-0";

/** `name=value` pairs of one Cookie header; a quoted value loses its quotes, a pair without "=" has no value. */
function parseCookieHeader(value: string): { name: string; value: string | null }[] {
  const cookies: { name: string; value: string | null }[] = [];
  for (const part of value.split(";")) {
    const equals = part.indexOf("=");
    const name = (equals === -1 ? part : part.slice(0, equals)).trim();
    if (name === "") continue;
    if (equals === -1) {
      cookies.push({ name, value: null });
      continue;
    }
    const raw = part.slice(equals + 1).trim();
    cookies.push({ name, value: raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw });
  }
  return cookies;
}

export const cookieExtractor: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow",
  name: "cookie_extractor_config",
  models: [1],
  create(config) {
    const wanted = new Set(config.parameters.stringList("cookies"));
    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ raw, derived }) {
        for (const header of headerLines(raw.headers)) {
          if (header.name.toLowerCase() !== "cookie") continue;
          for (const cookie of parseCookieHeader(header.value)) {
            if (wanted.has(cookie.name)) derived.push({ schema: HTTP_COOKIE_SCHEMA, data: cookie });
          }
        }
      },
    };
  },
};
