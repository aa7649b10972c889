/**
 * campaign_attribution: the `mkt_*` columns from the page URL's querystring. For each column the first
 * configured parameter present wins (utm_* in the usual config); click ids map to their ad network,
 * Snowplow's three defaults (gclid, msclkid, dclid) first, then the config's `mktClickId`.
 */
import { tsvSafe } from "../conversions";
import type { EnrichedEvent } from "../event";
import { parseQuerystring, QuerystringError } from "../querystring";
import { ConfigProblem, enrichmentError, type EnrichmentDefinition } from "./config";

const DEFAULT_CLICK_ID_NETWORKS: Readonly<Record<string, string>> = { gclid: "Google", msclkid: "Microsoft", dclid: "DoubleClick" };

/** The raw querystring of the page URL: the split-out column when enrich set it, else cut from page_url. */
function pageQuerystring(event: EnrichedEvent): string | null {
  if (event.page_urlquery !== null) return event.page_urlquery;
  if (event.page_url === null) return null;
  const start = event.page_url.indexOf("?");
  if (start === -1) return null;
  const end = event.page_url.indexOf("#", start);
  return event.page_url.slice(start + 1, end === -1 ? undefined : end);
}

export const campaignAttribution: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow",
  name: "campaign_attribution",
  models: [1],
  create(config) {
    const parameters = config.parameters;
    const mapping = parameters.optionalString("mapping");
    if (mapping !== undefined && mapping !== "static") throw new ConfigProblem(`parameters.mapping must be "static" (got "${mapping}")`);
    const fields = parameters.object("fields");
    const medium = fields.stringList("mktMedium");
    const source = fields.stringList("mktSource");
    const term = fields.stringList("mktTerm");
    const content = fields.stringList("mktContent");
    const campaign = fields.stringList("mktCampaign");
    // The config's own click ids add to (and may rename) the defaults, as a Scala Map `++` does.
    const clickIds = Object.entries({ ...DEFAULT_CLICK_ID_NETWORKS, ...(fields.has("mktClickId") ? fields.stringMap("mktClickId") : {}) });

    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ event }) {
        const querystring = pageQuerystring(event);
        if (querystring === null) return;
        const values = new Map<string, string>();
        try {
          for (const pair of parseQuerystring(querystring)) values.set(pair.name, pair.value ?? "");
        } catch (error) {
          if (!(error instanceof QuerystringError)) throw error;
          throw enrichmentError(config, "campaign-attribution", `could not parse the page URL's querystring: ${error.message}`);
        }
        const first = (names: readonly string[]): string | null => {
          const found = names.find((name) => values.has(name));
          return found === undefined ? null : tsvSafe(values.get(found)!);
        };
        event.mkt_medium = first(medium);
        event.mkt_source = first(source);
        event.mkt_term = first(term);
        event.mkt_content = first(content);
        event.mkt_campaign = first(campaign);
        const click = clickIds.find(([name]) => values.has(name));
        event.mkt_clickid = click ? tsvSafe(values.get(click[0])!) : null;
        event.mkt_network = click ? tsvSafe(click[1]) : null;
      },
    };
  },
};
