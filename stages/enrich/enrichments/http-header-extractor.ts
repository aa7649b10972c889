/**
 * http_header_extractor_config: one `org.ietf/http_header` entity per request header whose whole name
 * matches `headersPattern` (a Java regex in Snowplow; the common patterns read the same in JavaScript).
 * Names match case-insensitively: HTTP header names are, and our collector may store them lower-cased.
 */
import { ConfigProblem, type EnrichmentDefinition } from "./config";
import { headerLines } from "./http-headers";

export const HTTP_HEADER_SCHEMA = "iglu:org.ietf/http_header/jsonschema/1-0-0";

export const httpHeaderExtractor: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow.enrichments",
  name: "http_header_extractor_config",
  models: [1],
  create(config) {
    const pattern = config.parameters.string("headersPattern");
    let matcher: RegExp;
    try {
      matcher = new RegExp(`^(?:${pattern})$`, "i");
    } catch (error) {
      throw new ConfigProblem(`parameters.headersPattern is not a regular expression (${(error as Error).message})`);
    }
    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ raw, derived }) {
        for (const header of headerLines(raw.headers)) {
          if (matcher.test(header.name)) derived.push({ schema: HTTP_HEADER_SCHEMA, data: { name: header.name.trim(), value: header.value.trim() } });
        }
      },
    };
  },
};
