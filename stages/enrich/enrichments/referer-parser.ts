/**
 * referer_parser: classifies `page_referrer` into `refr_medium` / `refr_source` / `refr_term` as
 * Snowplow's referer-parser does: a referer on the page's own host or on a configured internal domain is
 * "internal"; a known host gets its medium and source (and, for search engines, the term from the
 * referer's querystring); any other http(s) referer is "unknown".
 */
import { readFileSync } from "node:fs";
import { tsvSafe } from "../conversions";
import { urlParts } from "../url-fields";
import { ConfigProblem, localAsset, type EnrichmentDefinition } from "./config";
import { bundledRefererDatabase, RefererDatabase, type RefererEntry } from "./referer-database";

const REFERER_SCHEMES = new Set(["http", "https", "android-app"]);

/** Java's URLDecoder: `+` is a space; a malformed escape makes the pair unusable. */
function decodeQueryPart(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return undefined;
  }
}

function searchTerm(rawQuery: string, parameters: readonly string[]): string | null {
  for (const pair of rawQuery.split("&")) {
    const equals = pair.indexOf("=");
    const name = decodeQueryPart(equals > 0 ? pair.slice(0, equals) : pair);
    if (name === undefined || !parameters.includes(name)) continue;
    return equals > 0 ? (decodeQueryPart(pair.slice(equals + 1)) ?? null) : "";
  }
  return null;
}

function loadDatabase(path: string): RefererDatabase {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigProblem(`its referer database ${path} is not readable JSON (${(error as Error).message})`);
  }
  const database = new RefererDatabase();
  database.addSnowplowFormat(json, path);
  return database;
}

export const refererParser: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow",
  name: "referer_parser",
  models: [1, 2],
  create(config) {
    const parameters = config.parameters;
    const internalDomains = new Set(parameters.stringList("internalDomains").map((domain) => domain.trim()));
    // A local copy of the configured database replaces the bundled one; a remote URI is not fetched.
    const file = parameters.has("database") ? localAsset(config, parameters) : undefined;
    const base = file === undefined ? bundledRefererDatabase() : loadDatabase(file);
    let lookup = (host: string, path: string): RefererEntry | undefined => base.lookup(host, path);
    if (parameters.has("referrers")) {
      const custom = new RefererDatabase();
      custom.addSnowplowFormat(parameters.values.referrers, "parameters.referrers");
      lookup = (host, path) => custom.lookup(host, path) ?? base.lookup(host, path);
    }

    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ event }) {
        const url = event.page_referrer === null ? null : urlParts(event.page_referrer);
        if (url === null || !REFERER_SCHEMES.has(url.scheme) || url.host === null) return;
        const host = url.host;
        if (host === event.page_urlhost || internalDomains.has(host)) {
          event.refr_medium = "internal";
          return;
        }
        const entry = lookup(host, url.path ?? "");
        if (entry === undefined || entry.medium === "unknown") {
          event.refr_medium = "unknown";
          return;
        }
        event.refr_medium = entry.medium;
        event.refr_source = tsvSafe(entry.source);
        if (entry.medium === "search" && url.query !== null) {
          const term = searchTerm(url.query, entry.parameters);
          event.refr_term = term === null ? null : tsvSafe(term);
        }
      },
    };
  },
};
