/**
 * The generic Iglu webhook (`/com.snowplowanalytics.iglu/v1`): a request that names its own schema, either
 * with `schema=<iglu uri>` and the data as querystring fields, a JSON body or a form body, or with a
 * self-describing JSON body. Each becomes a `ue` event from tracker `com.snowplowanalytics.iglu-v1`.
 */
import { parseQuerystring, QuerystringError, toParameters, type Parameters } from "../querystring";
import { notIgluReason, UNSTRUCT_EVENT_SCHEMA } from "../self-describing";
import { inputData, type AdapterInput, type AdapterMessage, type AdapterResult } from "./types";

const TRACKER_VERSION = "com.snowplowanalytics.iglu-v1";
const JSON_TYPES = ["application/json", "application/json; charset=utf-8"];
const FORM_TYPE = "application/x-www-form-urlencoded";
/** Querystring parameters that keep their tracker-protocol meaning beside the webhook's data. */
const KEPT_PARAMETERS = ["nuid", "aid", "cv", "eid", "ttm", "url"];

function unstructEvent(parameters: Parameters, schema: string, data: unknown, platform: string): Parameters {
  const event: Parameters = Object.create(null);
  for (const name of KEPT_PARAMETERS) if (parameters[name] !== undefined) event[name] = parameters[name]!;
  event.tv = TRACKER_VERSION;
  event.e = "ue";
  event.p = parameters.p ?? platform;
  event.ue_pr = JSON.stringify({ schema: UNSTRUCT_EVENT_SCHEMA, data: { schema, data } });
  return event;
}

function fail(message: AdapterMessage): AdapterResult {
  return { ok: false, messages: [message] };
}

function parseJson(body: string): { json: unknown } | AdapterResult {
  try {
    return { json: JSON.parse(body) };
  } catch (error) {
    return fail({ field: "body", value: body, error: (error as Error).message });
  }
}

export function igluWebhook({ raw, querystring }: AdapterInput): AdapterResult {
  const parameters = toParameters(querystring);
  const schema = parameters.schema;
  const body = raw.body !== undefined && raw.body.length > 0 ? raw.body : undefined;
  const contentType = raw.contentType;
  if (body !== undefined && contentType === undefined) return fail(inputData("contentType", null, "a content type on a request with a body"));
  if (schema === undefined) {
    if (body === undefined) return fail(inputData("schema", null, "a `schema` parameter or a self-describing JSON body"));
    if (!JSON_TYPES.includes(contentType!)) return fail(inputData("contentType", contentType, JSON_TYPES.join(" or ")));
    const parsed = parseJson(body);
    if (!("json" in parsed)) return parsed;
    const reason = notIgluReason(parsed.json);
    if (reason !== null) return fail({ json: parsed.json, error: reason });
    const { schema: bodySchema, data } = parsed.json as { schema: string; data: unknown };
    return { ok: true, events: [unstructEvent(parameters, bodySchema, data, "app")] };
  }
  if (notIgluReason({ schema, data: null }) !== null) return fail(inputData("schema", schema, "an Iglu URI iglu:vendor/name/format/M-R-A"));
  const fields: Parameters = Object.create(null);
  for (const name in parameters) if (name !== "schema") fields[name] = parameters[name]!;
  if (body === undefined) return { ok: true, events: [unstructEvent(parameters, schema, fields, "app")] };
  if (JSON_TYPES.includes(contentType!)) {
    const parsed = parseJson(body);
    if (!("json" in parsed)) return parsed;
    const items = Array.isArray(parsed.json) ? parsed.json : [parsed.json];
    const empty = items.length === 0 || items.some((item) => typeof item !== "object" || item === null || Object.keys(item).length === 0);
    if (empty) return fail(inputData("body", body, "a JSON object with fields, or a non-empty array of them"));
    return { ok: true, events: items.map((item) => unstructEvent(parameters, schema, item, "app")) };
  }
  if (contentType === FORM_TYPE) {
    let form: Parameters;
    try {
      form = toParameters(parseQuerystring(body));
    } catch (error) {
      if (!(error instanceof QuerystringError)) throw error;
      return fail(inputData("body", body, "a form body in percent-encoded UTF-8"));
    }
    return { ok: true, events: [unstructEvent(parameters, schema, { ...form }, "srv")] };
  }
  return fail(inputData("contentType", contentType!, `${JSON_TYPES.join(", ")} or ${FORM_TYPE}`));
}
