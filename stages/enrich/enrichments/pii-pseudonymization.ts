/**
 * pii_enrichment_config: pseudonymises personal data last in the chain, after every other enrichment
 * has read it. Listed atomic columns (`pojo`) and the strings a JSONPath reaches inside matching
 * entities or the self-describing event (`json`) become hex(hash(value + salt)). With `anonymousOnly`
 * it acts only on requests that carried the `SP-Anonymous` header. With `emitEvent` the originals and
 * their replacements go out as a `pii_transformation` event in the context's `emitted` list (Snowplow
 * writes that event to a separate "pii" stream; enrich writes it to --pii). MD2, which the config schema
 * allows, is not offered by this runtime's crypto, so a config asking for it is refused.
 */
import { createHash } from "node:crypto";
import { JSONPath } from "jsonpath-plus";
import { parseSchemaUri } from "../../iglu/schema-key";
import type { EnrichedEvent, SelfDescribing } from "../event";
import { ConfigProblem, type EnrichmentDefinition, type ParameterReader } from "./config";
import { headerLines } from "./http-headers";

export const PII_TRANSFORMATION_SCHEMA = "iglu:com.snowplowanalytics.snowplow/pii_transformation/jsonschema/1-0-0";

const HASH_FUNCTIONS: Readonly<Record<string, string | null>> = {
  MD2: null,
  MD5: "md5",
  "SHA-1": "sha1",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

/** The atomic columns Snowplow lets this enrichment pseudonymise. */
const POJO_FIELDS = [
  "user_id", "user_ipaddress", "user_fingerprint", "domain_userid", "network_userid", "ip_organization", "ip_domain",
  "tr_orderid", "ti_orderid", "mkt_term", "mkt_content", "se_category", "se_action", "se_label", "se_property",
  "mkt_clickid", "refr_domain_userid", "domain_sessionid",
] as const satisfies readonly (keyof EnrichedEvent)[];
type PojoField = (typeof POJO_FIELDS)[number];

const JSON_FIELDS = ["contexts", "derived_contexts", "unstruct_event"] as const;
type JsonField = (typeof JSON_FIELDS)[number];

/** `iglu:vendor/name/format/M-R-A` where each of M, R, A may be `*`. */
const CRITERION = /^iglu:([a-zA-Z0-9\-_.]+)\/([a-zA-Z0-9\-_]+)\/([a-zA-Z0-9\-_]+)\/([1-9][0-9]*|\*)-((?:0|[1-9][0-9]*)|\*)-((?:0|[1-9][0-9]*)|\*)$/;

function schemaMatcher(criterion: string, where: string): (schema: string) => boolean {
  const match = CRITERION.exec(criterion);
  if (!match) throw new ConfigProblem(`${where}.schemaCriterion "${criterion}" is not an Iglu schema criterion (iglu:vendor/name/format/M-R-A, each of M, R, A a number or *)`);
  const [, vendor, name, format, ...version] = match;
  const fits = (wanted: string | undefined, actual: number) => wanted === "*" || Number(wanted) === actual;
  return (schema) => {
    const key = parseSchemaUri(schema);
    return (
      !("error" in key) && key.vendor === vendor && key.name === name && key.format === format &&
      fits(version[0], key.version.model) && fits(version[1], key.version.revision) && fits(version[2], key.version.addition)
    );
  };
}

interface JsonTarget {
  field: JsonField;
  matches: (schema: string) => boolean;
  jsonPath: string;
}

interface ModifiedPojo {
  fieldName: PojoField;
  originalValue: string;
  modifiedValue: string;
}
/** pii_transformation 1-0-0 wraps each JSON replacement in `fieldMapping`. */
interface ModifiedJson {
  fieldMapping: {
    fieldName: JsonField;
    originalValue: string;
    modifiedValue: string;
    jsonPath: string;
    schema: string;
  };
}

function readTargets(parameters: ParameterReader): { pojo: PojoField[]; json: JsonTarget[] } {
  const pojo: PojoField[] = [];
  const json: JsonTarget[] = [];
  parameters.list("pii").forEach((entry, index) => {
    const where = `parameters.pii[${index}]`;
    if (entry.has("pojo") === entry.has("json")) throw new ConfigProblem(`${where} must have exactly one of "pojo" and "json"`);
    if (entry.has("pojo")) {
      pojo.push(entry.object("pojo").oneOf("field", POJO_FIELDS));
      return;
    }
    const target = entry.object("json");
    json.push({
      field: target.oneOf("field", JSON_FIELDS),
      matches: schemaMatcher(target.string("schemaCriterion"), `${where}.json`),
      jsonPath: target.string("jsonPath"),
    });
  });
  return { pojo, json };
}

function readHash(parameters: ParameterReader): { functionName: string; scramble: (text: string) => string } {
  const pseudonymize = parameters.object("strategy").object("pseudonymize");
  const functionName = pseudonymize.oneOf("hashFunction", Object.keys(HASH_FUNCTIONS));
  const algorithm = HASH_FUNCTIONS[functionName];
  if (!algorithm) throw new ConfigProblem(`parameters.strategy.pseudonymize.hashFunction ${functionName} is not available in this runtime; choose MD5 or SHA-*`);
  const salt = pseudonymize.optionalString("salt") ?? "";
  return { functionName, scramble: (text) => createHash(algorithm).update(text + salt, "utf8").digest("hex") };
}

/** Replaces, inside `data`, every string (or string in an array) that `jsonPath` reaches. */
function pseudonymizeJson(data: unknown, jsonPath: string, scramble: (text: string) => string, record: (original: string, modified: string) => void): void {
  if (typeof data !== "object" || data === null) return;
  const hits = JSONPath({ path: jsonPath, json: data as object, resultType: "all", wrap: true }) as { parent: unknown; parentProperty: string | number; value: unknown }[];
  for (const hit of hits) {
    if (typeof hit.parent !== "object" || hit.parent === null) continue;
    const parent = hit.parent as Record<string | number, unknown>;
    if (typeof hit.value === "string") {
      const modified = scramble(hit.value);
      record(hit.value, modified);
      parent[hit.parentProperty] = modified;
    } else if (Array.isArray(hit.value)) {
      parent[hit.parentProperty] = hit.value.map((item) => {
        if (typeof item !== "string") return item;
        const modified = scramble(item);
        record(item, modified);
        return modified;
      });
    }
  }
}

function entitiesOf(field: JsonField, event: EnrichedEvent, derived: SelfDescribing[]): SelfDescribing[] {
  if (field === "unstruct_event") return event.unstruct_event ? [event.unstruct_event] : [];
  if (field === "contexts") return event.contexts;
  // Entities derived during this run are not yet in the column; Snowplow pseudonymises both.
  return [...event.derived_contexts, ...derived];
}

export const piiPseudonymization: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow.enrichments",
  name: "pii_enrichment_config",
  models: [2],
  create(config) {
    const targets = readTargets(config.parameters);
    const { functionName, scramble } = readHash(config.parameters);
    const flag = (name: string) => {
      const value = config.data[name];
      if (value !== undefined && typeof value !== "boolean") throw new ConfigProblem(`data.${name} must be true or false`);
      return value === true;
    };
    const emitEvent = flag("emitEvent");
    const anonymousOnly = flag("anonymousOnly");

    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ event, raw, derived, emitted }) {
        if (anonymousOnly && !headerLines(raw.headers).some((header) => header.name.trim().toLowerCase() === "sp-anonymous")) return;
        const pojo: ModifiedPojo[] = [];
        const json: ModifiedJson[] = [];
        for (const fieldName of targets.pojo) {
          const originalValue = event[fieldName];
          if (originalValue === null) continue;
          const modifiedValue = scramble(originalValue);
          event[fieldName] = modifiedValue;
          pojo.push({ fieldName, originalValue, modifiedValue });
        }
        for (const target of targets.json) {
          for (const entity of entitiesOf(target.field, event, derived)) {
            if (!target.matches(entity.schema)) continue;
            pseudonymizeJson(entity.data, target.jsonPath, scramble, (originalValue, modifiedValue) =>
              json.push({ fieldMapping: { fieldName: target.field, originalValue, modifiedValue, jsonPath: target.jsonPath, schema: entity.schema } }),
            );
          }
        }
        if (emitEvent && pojo.length + json.length > 0) {
          const pii = { ...(pojo.length ? { pojo } : {}), ...(json.length ? { json } : {}) };
          emitted.push({ schema: PII_TRANSFORMATION_SCHEMA, data: { pii, strategy: { pseudonymize: { hashFunction: functionName } } } });
        }
      },
    };
  },
};
