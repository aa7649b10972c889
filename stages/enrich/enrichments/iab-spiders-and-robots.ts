/**
 * iab_spiders_and_robots_enrichment: the `com.iab.snowplow/spiders_and_robots` entity for each event
 * with a user agent and an IP address. Snowplow checks the IAB/ABC International Spiders & Bots List,
 * which is licensed and not public; we classify the user agent with the `isbot` package instead, so the
 * config's `ipFile` / `excludeUseragentFile` / `includeUseragentFile` are accepted but not read, and no
 * IP is ever excluded. The config's own `excludeUseragents` / `includeUseragents` (1-0-1) are applied as
 * IAB applies its lists: a user agent containing an excluded pattern is a robot (FAILED_UA_EXCLUDE), and
 * with an include list, one containing none of its patterns is a robot too (FAILED_UA_INCLUDE).
 */
import { isIP } from "node:net";
import { isbot } from "isbot";
import type { EnrichmentDefinition } from "./config";

export const SPIDERS_AND_ROBOTS_SCHEMA = "iglu:com.iab.snowplow/spiders_and_robots/jsonschema/1-0-0";

interface SpidersAndRobots {
  spiderOrRobot: boolean;
  category: "SPIDER_OR_ROBOT" | "ACTIVE_SPIDER_OR_ROBOT" | "INACTIVE_SPIDER_OR_ROBOT" | "BROWSER";
  reason: "FAILED_IP_EXCLUDE" | "FAILED_UA_INCLUDE" | "FAILED_UA_EXCLUDE" | "PASSED_ALL";
  primaryImpact: "PAGE_IMPRESSIONS" | "AD_IMPRESSIONS" | "PAGE_AND_AD_IMPRESSIONS" | "UNKNOWN" | "NONE";
}

const BROWSER: SpidersAndRobots = { spiderOrRobot: false, category: "BROWSER", reason: "PASSED_ALL", primaryImpact: "NONE" };
/** isbot says nothing of which measurements a robot would distort, hence UNKNOWN. */
const robot = (reason: SpidersAndRobots["reason"]): SpidersAndRobots => ({ spiderOrRobot: true, category: "SPIDER_OR_ROBOT", reason, primaryImpact: "UNKNOWN" });

function classifyUserAgent(useragent: string, include: readonly string[], exclude: readonly string[]): SpidersAndRobots {
  const lower = useragent.toLowerCase();
  if (include.length > 0 && !include.some((pattern) => lower.includes(pattern))) return robot("FAILED_UA_INCLUDE");
  if (exclude.some((pattern) => lower.includes(pattern)) || isbot(useragent)) return robot("FAILED_UA_EXCLUDE");
  return BROWSER;
}

export const iabSpidersAndRobots: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow.enrichments",
  name: "iab_spiders_and_robots_enrichment",
  models: [1],
  create(config) {
    const lowered = (name: string) => (config.parameters.optionalStringList(name) ?? []).map((pattern) => pattern.toLowerCase());
    const include = lowered("includeUseragents");
    const exclude = lowered("excludeUseragents");
    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ event, derived }) {
        // Snowplow asks the IAB client only with both a user agent and a parseable IP address.
        if (event.useragent === null || event.useragent.trim() === "" || event.user_ipaddress === null || isIP(event.user_ipaddress) === 0) return;
        derived.push({ schema: SPIDERS_AND_ROBOTS_SCHEMA, data: { ...classifyUserAgent(event.useragent, include, exclude) } });
      },
    };
  },
};
