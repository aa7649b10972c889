/**
 * The enrichment chain: reads Snowplow enrichment config files, checks them (against their Iglu schema
 * when the resolver has it, and always against what each enrichment needs), and returns the enabled
 * enrichments in Snowplow's processing order. Enrich applies them in that order to every event.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../../shared/config-error";
import { describeIgluError, type Resolver } from "../../iglu/resolver";
import { schemaVerString } from "../../iglu/schema-key";
import defaultCampaignAttribution from "../../../config/enrichments/campaign_attribution.json" with { type: "json" };
import defaultEventFingerprint from "../../../config/enrichments/event_fingerprint_config.json" with { type: "json" };
import defaultRefererParser from "../../../config/enrichments/referer_parser.json" with { type: "json" };
import defaultUaParser from "../../../config/enrichments/ua_parser_config.json" with { type: "json" };
import { anonIp } from "./anon-ip";
import { campaignAttribution } from "./campaign-attribution";
import { ConfigProblem, readEnrichmentConfig, type EnrichmentConfig, type EnrichmentDefinition } from "./config";
import { cookieExtractor } from "./cookie-extractor";
import { eventFingerprintConfig } from "./event-fingerprint";
import { httpHeaderExtractor } from "./http-header-extractor";
import { iabSpidersAndRobots } from "./iab-spiders-and-robots";
import { ipLookups } from "./ip-lookups";
import { javascriptScript } from "./javascript-script";
import { piiPseudonymization } from "./pii-pseudonymization";
import { refererParser } from "./referer-parser";
import type { Enrichment } from "./types";
import { uaParser } from "./ua-parser";

/**
 * Snowplow's fixed order (EnrichmentManager), less the steps enrich itself performs between them:
 * IAB before anything reads the user agent, ip_lookups before anon_ip masks the address, the user's
 * JavaScript after the built-in enrichments, PII pseudonymisation last.
 */
export const PROCESSING_ORDER: readonly EnrichmentDefinition[] = [
  iabSpidersAndRobots,
  uaParser,
  refererParser,
  campaignAttribution,
  eventFingerprintConfig,
  cookieExtractor,
  httpHeaderExtractor,
  ipLookups,
  javascriptScript,
  anonIp,
  piiPseudonymization,
];

/** Snowplow enrichments telemetry does not have: a disabled config for one is fine, an enabled one is refused. */
const NOT_IMPLEMENTED = new Set([
  "user_agent_utils_config",
  "yauaa_enrichment_config",
  "currency_conversion_config",
  "api_request_enrichment_config",
  "sql_query_enrichment_config",
  "weather_enrichment_config",
  "cross_navigation_config",
  "asn_lookups",
  "bot_detection_enrichment_config",
]);

/** What Snowplow Mini turns on (its four config files, kept in config/enrichments/). */
const SNOWPLOW_MINI_DEFAULTS: readonly [string, unknown][] = [
  ["campaign_attribution.json", defaultCampaignAttribution],
  ["event_fingerprint_config.json", defaultEventFingerprint],
  ["referer_parser.json", defaultRefererParser],
  ["ua_parser_config.json", defaultUaParser],
];

/**
 * The enabled enrichments of the config files (`*.json`) in `dir`, in processing order; with no `dir`,
 * the Snowplow Mini defaults. Throws ConfigError, one sentence naming the file, for any bad config.
 */
export async function loadEnrichments(dir?: string, resolver?: Resolver): Promise<Enrichment[]> {
  const files = dir === undefined ? SNOWPLOW_MINI_DEFAULTS.map(([name, json]) => ({ source: `the built-in default ${name}`, json })) : await readConfigFiles(dir);
  const chosen = new Map<EnrichmentDefinition, EnrichmentConfig>();
  for (const { source, json } of files) {
    const config = parse(json, source);
    if (resolver) await checkAgainstSchema(config, resolver);
    const definition = definitionFor(config);
    if (!config.enabled || definition === undefined) continue;
    const earlier = chosen.get(definition);
    if (earlier) throw new ConfigError(`${source} and ${earlier.source} both configure ${definition.name}; keep one.`);
    chosen.set(definition, config);
  }
  const enrichments: Enrichment[] = [];
  for (const definition of PROCESSING_ORDER) {
    const config = chosen.get(definition);
    if (config === undefined) continue;
    try {
      enrichments.push(await definition.create(config));
    } catch (error) {
      if (error instanceof ConfigProblem) throw new ConfigError(`${config.source} is not a valid ${definition.name} config: ${error.message}.`);
      throw error;
    }
  }
  return enrichments;
}

async function readConfigFiles(dir: string): Promise<{ source: string; json: unknown }[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith(".json")).sort();
  } catch (error) {
    throw new ConfigError(`The enrichments directory ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
  return Promise.all(
    names.map(async (name) => {
      const source = join(dir, name);
      try {
        return { source, json: JSON.parse(await readFile(source, "utf8")) as unknown };
      } catch (error) {
        throw new ConfigError(`${source} is not a readable JSON enrichment config (${(error as Error).message}).`);
      }
    }),
  );
}

function parse(json: unknown, source: string): EnrichmentConfig {
  try {
    return readEnrichmentConfig(json, source);
  } catch (error) {
    if (error instanceof ConfigProblem) throw new ConfigError(`${source} is not a valid enrichment config: ${error.message}.`);
    throw error;
  }
}

/** Validates against the config's own schema when the resolver can find it; our own checks run regardless. */
async function checkAgainstSchema(config: EnrichmentConfig, resolver: Resolver): Promise<void> {
  const outcome = await resolver.validate(config.schema, config.data);
  if (outcome.ok || outcome.igluError.error === "ResolutionError") return;
  throw new ConfigError(`${config.source} does not match its schema ${config.schema}: ${describeIgluError(outcome.igluError)}.`);
}

function definitionFor(config: EnrichmentConfig): EnrichmentDefinition | undefined {
  const { vendor, name, version } = config.key;
  const definition = PROCESSING_ORDER.find((candidate) => candidate.name === name);
  if (definition === undefined) {
    if (!config.enabled) return undefined;
    if (NOT_IMPLEMENTED.has(name)) throw new ConfigError(`${config.source} enables the ${name} enrichment, which telemetry does not implement; disable or remove it.`);
    throw new ConfigError(`${config.source} configures ${vendor}/${name}, which is not a Snowplow enrichment telemetry knows.`);
  }
  if (vendor !== definition.vendor || !definition.models.includes(version.model)) {
    const expected = definition.models.map((model) => `iglu:${definition.vendor}/${name}/jsonschema/${model}-*-*`).join(" or ");
    throw new ConfigError(`${config.source} uses schema version ${schemaVerString(version)} of ${vendor}/${name}; telemetry reads ${expected}.`);
  }
  return definition;
}
