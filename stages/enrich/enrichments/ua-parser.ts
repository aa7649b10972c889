/**
 * ua_parser_config: the `ua_parser_context` entity from the `useragent` column, in the shape of
 * Snowplow's (family / major / minor / patch for the browser and the OS, a display version, a device
 * family; "Other" when unknown). Snowplow runs uap-java's regexes; we run `ua-parser-js` (its MIT 1.x
 * line), so names follow that library ("Mobile Chrome", "macOS"). A configured regexes file is not used.
 */
import { LRUCache } from "lru-cache";
import { UAParser } from "ua-parser-js";
import { enrichmentError, type EnrichmentDefinition } from "./config";

export const UA_PARSER_CONTEXT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0";
/** As many distinct user agents as Snowplow's enrichment caches. */
const CACHE_SIZE = 5000;
const UNKNOWN = "Other";

interface UaParserContext {
  useragentFamily: string;
  useragentMajor: string | null;
  useragentMinor: string | null;
  useragentPatch: string | null;
  useragentVersion: string;
  osFamily: string;
  osMajor: string | null;
  osMinor: string | null;
  osPatch: string | null;
  osPatchMinor: string | null;
  osVersion: string;
  deviceFamily: string;
}

/** "Chrome 120.0.1": the family, then the known version parts, as Snowplow displays them. */
function displayVersion(family: string, parts: readonly (string | null)[]): string {
  const known = parts.filter((part): part is string => part !== null);
  return known.length === 0 ? family : `${family} ${known.join(".")}`;
}

function versionParts(version: string | undefined, count: number): (string | null)[] {
  const parts = version === undefined ? [] : version.split(".");
  return Array.from({ length: count }, (_, index) => parts[index] ?? null);
}

function parseUserAgent(useragent: string): UaParserContext {
  const result = new UAParser(useragent).getResult();
  const useragentFamily = result.browser.name ?? UNKNOWN;
  const [useragentMajor, useragentMinor, useragentPatch] = versionParts(result.browser.version, 3) as [string | null, string | null, string | null];
  const osFamily = result.os.name ?? UNKNOWN;
  const [osMajor, osMinor, osPatch, osPatchMinor] = versionParts(result.os.version, 4) as [string | null, string | null, string | null, string | null];
  return {
    useragentFamily,
    useragentMajor,
    useragentMinor,
    useragentPatch,
    useragentVersion: displayVersion(useragentFamily, [useragentMajor, useragentMinor, useragentPatch]),
    osFamily,
    osMajor,
    osMinor,
    osPatch,
    osPatchMinor,
    osVersion: displayVersion(osFamily, [osMajor, osMinor, osPatch, osPatchMinor]),
    deviceFamily: result.device.model ?? UNKNOWN,
  };
}

export const uaParser: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow",
  name: "ua_parser_config",
  models: [1],
  create(config) {
    const cache = new LRUCache<string, UaParserContext>({ max: CACHE_SIZE });
    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ event, derived }) {
        const useragent = event.useragent;
        if (useragent === null) return;
        let context = cache.get(useragent);
        if (context === undefined) {
          try {
            context = parseUserAgent(useragent);
          } catch (error) {
            throw enrichmentError(config, "ua-parser", `could not parse useragent: ${(error as Error).message}`);
          }
          cache.set(useragent, context);
        }
        // Each event gets its own copy: a later enrichment (pii, javascript) may change what it holds.
        derived.push({ schema: UA_PARSER_CONTEXT_SCHEMA, data: { ...context } });
      },
    };
  },
};
