/**
 * The self-describing parts of a tracker event: the event of a `ue` (`ue_pr` plain, `ue_px` base64) and the
 * entities (`co` plain, `cx` base64). Each is unwrapped from its Snowplow envelope, and the envelope and
 * every inner self-describing JSON are validated through the resolver, as Enrich does before enriching.
 */
import type { SelfDescribing } from "./event";
import type { Parameters } from "./querystring";
import type { SchemaValidator } from "./schema-validator";

/** The envelopes trackers (and our adapters) wrap self-describing events and entities in. */
export const UNSTRUCT_EVENT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0";
export const CONTEXTS_SCHEMA = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0";
export const UNSTRUCT_EVENT_CRITERION = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-*";
export const CONTEXTS_CRITERION = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-*";

/** The schema_violations message kinds for self-describing data (snowplow-badrows FailureDetails). */
export type SchemaViolationMessage =
  | { field: string; value: string | null; error: string }
  | { json: unknown; error: "INVALID_SCHEMAVER" | "INVALID_IGLUURI" | "INVALID_DATA_PAYLOAD" | "INVALID_SCHEMA" }
  | { schemaKey: string; schemaCriterion: string }
  | { schemaKey: string; error: unknown };

const IGLU_URI = /^iglu:([a-zA-Z0-9-_.]+)\/([a-zA-Z0-9-_]+)\/([a-zA-Z0-9-_]+)\/([^/]+)$/;
const SCHEMA_VER = /^[1-9][0-9]*-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$/;

export function isSelfDescribing(value: unknown): value is SelfDescribing {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as SelfDescribing).schema === "string" &&
    "data" in value
  );
}

/** Why a value is not a self-describing JSON with a valid Iglu URI, or null when it is one. */
export function notIgluReason(value: unknown): "INVALID_DATA_PAYLOAD" | "INVALID_IGLUURI" | "INVALID_SCHEMAVER" | null {
  if (!isSelfDescribing(value)) return "INVALID_DATA_PAYLOAD";
  return uriReason(value.schema);
}

/**
 * The verdict on each schema URI seen, as every event repeats the same few: the two regexes ran several
 * times per event. Cleared when full, so a stream of made-up URIs cannot grow it.
 */
const uriVerdicts = new Map<string, "INVALID_IGLUURI" | "INVALID_SCHEMAVER" | null>();

function uriReason(uri: string): "INVALID_IGLUURI" | "INVALID_SCHEMAVER" | null {
  let verdict = uriVerdicts.get(uri);
  if (verdict === undefined) {
    const match = IGLU_URI.exec(uri);
    verdict = !match ? "INVALID_IGLUURI" : SCHEMA_VER.test(match[4]!) ? null : "INVALID_SCHEMAVER";
    if (uriVerdicts.size >= 1000) uriVerdicts.clear();
    uriVerdicts.set(uri, verdict);
  }
  return verdict;
}

/** Each criterion as a regex (criteria are the few constants of the code). */
const criterionPatterns = new Map<string, RegExp>();

/** Whether `iglu:v/n/f/M-R-A` matches a criterion such as `iglu:v/n/f/1-0-*` (`*` matches any number). */
export function schemaMatches(uri: string, criterion: string): boolean {
  let pattern = criterionPatterns.get(criterion);
  if (pattern === undefined) {
    const cut = criterion.lastIndexOf("/");
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    // Exactly three `-`-separated parts after the prefix; a `*` (or missing) part of the criterion is any part.
    const wanted = criterion.slice(cut + 1).split("-");
    const parts = [0, 1, 2].map((index) => (wanted[index] === undefined || wanted[index] === "*" ? "[^-]*" : escape(wanted[index]!)));
    const matchable = wanted.slice(3).every((part) => part === "*");
    pattern = matchable ? new RegExp(`^${escape(criterion.slice(0, cut + 1))}${parts.join("-")}$`) : /(?!)/;
    criterionPatterns.set(criterion, pattern);
  }
  return pattern.test(uri);
}

/** The JSON text of a plain or base64 parameter; base64 is read in either alphabet, padding optional. */
function jsonParameter(parameters: Parameters, plain: string, encoded: string): { field: string; text: string } | null {
  const text = parameters[plain];
  if (text !== undefined && text !== "") return { field: plain, text };
  const base64 = parameters[encoded];
  if (base64 !== undefined && base64 !== "") return { field: encoded, text: Buffer.from(base64, "base64").toString("utf8") };
  return null;
}

function parseJson(field: string, text: string, messages: SchemaViolationMessage[]): { json: unknown } | null {
  try {
    return { json: JSON.parse(text) };
  } catch (error) {
    messages.push({ field, value: text, error: (error as Error).message });
    return null;
  }
}

/** Checks the envelope's key against its criterion and its data against its schema. */
async function openEnvelope(
  json: unknown,
  criterion: string,
  resolver: SchemaValidator,
  messages: SchemaViolationMessage[],
): Promise<unknown | undefined> {
  // The criterion is checked between "is it self-describing" and "is its data valid", as Enrich does.
  if (notIgluReason(json) === null && !schemaMatches((json as SelfDescribing).schema, criterion)) {
    messages.push({ schemaKey: (json as SelfDescribing).schema, schemaCriterion: criterion });
    return undefined;
  }
  const envelope = await validateSelfDescribing(json, resolver, messages);
  return envelope === null ? undefined : envelope.data;
}

/** Checks one self-describing JSON against its own schema; null (and a message) when it fails. */
export async function validateSelfDescribing(
  json: unknown,
  resolver: SchemaValidator,
  messages: SchemaViolationMessage[],
): Promise<SelfDescribing | null> {
  const reason = notIgluReason(json);
  if (reason !== null) {
    messages.push({ json, error: reason });
    return null;
  }
  const inner = json as SelfDescribing;
  const outcome = await resolver.validate(inner.schema, inner.data);
  if (!outcome.ok) {
    messages.push({ schemaKey: outcome.schemaKey, error: outcome.igluError });
    return null;
  }
  return inner;
}

/** The event's self-describing event (null when it has none); problems are added to `messages`. */
export async function extractUnstructEvent(
  parameters: Parameters,
  resolver: SchemaValidator,
  messages: SchemaViolationMessage[],
): Promise<SelfDescribing | null> {
  const parameter = jsonParameter(parameters, "ue_pr", "ue_px");
  if (parameter === null) return null;
  const parsed = parseJson(parameter.field, parameter.text, messages);
  if (parsed === null) return null;
  const data = await openEnvelope(parsed.json, UNSTRUCT_EVENT_CRITERION, resolver, messages);
  return data === undefined ? null : validateSelfDescribing(data, resolver, messages);
}

/** The event's entities (empty when it has none); problems are added to `messages`. */
export async function extractContexts(
  parameters: Parameters,
  resolver: SchemaValidator,
  messages: SchemaViolationMessage[],
): Promise<SelfDescribing[]> {
  const parameter = jsonParameter(parameters, "co", "cx");
  if (parameter === null) return [];
  const parsed = parseJson(parameter.field, parameter.text, messages);
  if (parsed === null) return [];
  const data = await openEnvelope(parsed.json, CONTEXTS_CRITERION, resolver, messages);
  if (data === undefined) return [];
  if (!Array.isArray(data)) {
    messages.push({ json: parsed.json, error: "INVALID_DATA_PAYLOAD" });
    return [];
  }
  const contexts: SelfDescribing[] = [];
  for (const entity of data) {
    const valid = await validateSelfDescribing(entity, resolver, messages);
    if (valid !== null) contexts.push(valid);
  }
  return contexts;
}

/** Validates entities (those enrichments derive, or those an enrichment rewrote) one by one. */
export async function validateEntities(
  entities: readonly unknown[],
  resolver: SchemaValidator,
  messages: SchemaViolationMessage[],
): Promise<SelfDescribing[]> {
  const valid: SelfDescribing[] = [];
  for (const entity of entities) {
    const checked = await validateSelfDescribing(entity, resolver, messages);
    if (checked !== null) valid.push(checked);
  }
  return valid;
}
