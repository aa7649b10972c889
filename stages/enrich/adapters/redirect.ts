/**
 * The click-redirect adapter (`/r/tp2?u=<target>&…`): the target becomes a `uri_redirect` self-describing
 * event, or, when the request also names an event type, an entity put first among the event's entities.
 */
import { toParameters } from "../querystring";
import { CONTEXTS_SCHEMA, notIgluReason, UNSTRUCT_EVENT_SCHEMA } from "../self-describing";
import { inputData, type AdapterInput, type AdapterResult } from "./types";

export const URI_REDIRECT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/uri_redirect/jsonschema/1-0-0";

export function redirect({ raw, querystring }: AdapterInput): AdapterResult {
  const parameters = toParameters(querystring);
  const target = parameters.u;
  if (target === undefined || target === "") {
    return { ok: false, messages: [inputData("querystring", raw.querystring, "a `u` parameter with the redirect target")] };
  }
  delete parameters.u;
  const entity = { schema: URI_REDIRECT_SCHEMA, data: { uri: target } };
  parameters.tv = "r-tp2";
  parameters.p ??= "web";
  if (parameters.e === undefined) {
    parameters.e = "ue";
    parameters.ue_pr = JSON.stringify({ schema: UNSTRUCT_EVENT_SCHEMA, data: entity });
    return { ok: true, events: [parameters] };
  }
  const field = parameters.co !== undefined ? "co" : parameters.cx !== undefined ? "cx" : null;
  let entities: unknown[] = [];
  if (field !== null) {
    const text = field === "co" ? parameters.co! : Buffer.from(parameters.cx!, "base64").toString("utf8");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return { ok: false, messages: [{ field, value: text, error: (error as Error).message }] };
    }
    const reason = notIgluReason(json);
    if (reason !== null || !Array.isArray((json as { data: unknown }).data)) {
      return { ok: false, messages: [{ json, error: reason ?? "INVALID_DATA_PAYLOAD" }] };
    }
    entities = (json as { data: unknown[] }).data;
  }
  delete parameters.cx;
  parameters.co = JSON.stringify({ schema: CONTEXTS_SCHEMA, data: [entity, ...entities] });
  return { ok: true, events: [parameters] };
}
