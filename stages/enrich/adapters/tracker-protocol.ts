/**
 * The Snowplow tracker protocol adapters: tp1 (one event in a GET querystring, `/i`) and tp2 (one event
 * in a GET querystring, or a `payload_data` batch in a POST body whose events each take the
 * querystring's parameters on top).
 */
import { toParameters, type Parameters } from "../querystring";
import { isSelfDescribing, schemaMatches } from "../self-describing";
import { inputData, type AdapterInput, type AdapterMessage, type AdapterResult } from "./types";

export const PAYLOAD_DATA_CRITERION = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-*";

/** The content types Enrich accepts on a tp2 POST, exactly as written. */
export const TP2_CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8"];

export function tp1({ querystring }: AdapterInput): AdapterResult {
  if (querystring.length === 0) {
    return { ok: false, messages: [inputData("querystring", null, "empty querystring: not a valid tracker protocol event")] };
  }
  return { ok: true, events: [toParameters(querystring)] };
}

export async function tp2({ raw, querystring, resolver }: AdapterInput): Promise<AdapterResult> {
  const fromQuerystring = toParameters(querystring);
  if (raw.body === undefined || raw.body.length === 0) {
    if (querystring.length === 0) {
      return { ok: false, messages: [inputData("body", null, "empty body and querystring: not a valid tracker protocol event")] };
    }
    return { ok: true, events: [fromQuerystring] };
  }
  const contentType = raw.contentType ?? null;
  if (contentType === null || !TP2_CONTENT_TYPES.includes(contentType)) {
    return { ok: false, messages: [inputData("contentType", contentType, `one of ${TP2_CONTENT_TYPES.join(", ")}`)] };
  }
  const body = parseBody(raw.body);
  if ("message" in body) return { ok: false, messages: [body.message] };
  const payload = body.json;
  if (!isSelfDescribing(payload)) {
    return { ok: false, messages: [{ json: payload, error: "INVALID_DATA_PAYLOAD" }] };
  }
  if (!schemaMatches(payload.schema, PAYLOAD_DATA_CRITERION)) {
    return { ok: false, messages: [{ schemaKey: payload.schema, schemaCriterion: PAYLOAD_DATA_CRITERION }] };
  }
  const validation = await resolver.validate(payload.schema, payload.data);
  if (!validation.ok) return { ok: false, messages: [{ schemaKey: validation.schemaKey, error: validation.igluError }] };
  return eventsOf(payload.data, fromQuerystring);
}

function parseBody(body: string): { json: unknown } | { message: AdapterMessage } {
  try {
    return { json: JSON.parse(body) };
  } catch (error) {
    return { message: { field: "body", value: body, error: (error as Error).message } };
  }
}

/** The batch's events, each a flat map of strings with the querystring's parameters winning. */
function eventsOf(data: unknown, fromQuerystring: Parameters): AdapterResult {
  if (!Array.isArray(data) || data.length === 0) {
    return { ok: false, messages: [inputData("data", JSON.stringify(data) ?? null, "a non-empty array of events")] };
  }
  const messages: AdapterMessage[] = [];
  const events: Parameters[] = [];
  for (const [index, event] of data.entries()) {
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      messages.push(inputData(`data[${index}]`, JSON.stringify(event), "an object of string parameters"));
      continue;
    }
    for (const name in event) {
      const value = (event as Record<string, unknown>)[name];
      if (typeof value !== "string") messages.push(inputData(name, JSON.stringify(value) ?? null, "a string value"));
    }
    events.push(Object.assign(event as Parameters, fromQuerystring));
  }
  return messages.length > 0 ? { ok: false, messages } : { ok: true, events };
}
