/**
 * A bad row's payload made readable: tracker parameters that carry base64 JSON (`ue_px`, `cx`) decoded,
 * JSON bodies parsed, so a person sees the event that failed rather than an opaque string. The stored row
 * is never changed; this is for showing only.
 */
const BASE64_JSON_PARAMETERS = new Set(["ue_px", "cx"]);
const JSON_PARAMETERS = new Set(["ue_pr", "co"]);

function decodeBase64Json(text: string): unknown {
  try {
    const normalized = text.replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(Buffer.from(normalized, "base64").toString("utf8"));
  } catch {
    return undefined;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decodedParameter(name: string, value: unknown): unknown {
  if (typeof value !== "string") return undefined;
  if (BASE64_JSON_PARAMETERS.has(name)) return decodeBase64Json(value);
  if (JSON_PARAMETERS.has(name)) return parseJson(value);
  return undefined;
}

/** A copy of the payload with decoded forms added beside the encoded ones (`decoded`, `body_decoded`). */
export function decodePayload(payload: unknown): unknown {
  if (typeof payload === "string") {
    const parsed = parseJson(payload);
    return parsed !== undefined && typeof parsed === "object" ? decodePayload(parsed) : payload;
  }
  if (Array.isArray(payload)) return payload.map(decodePayload);
  if (payload === null || typeof payload !== "object") return payload;
  const object = payload as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    out[key] = decodePayload(value);
    const decoded = decodedParameter(key, value);
    if (decoded !== undefined) out[`${key}_decoded`] = decoded;
    if (key === "body" && typeof value === "string") {
      const body = parseJson(value);
      if (body !== undefined) out.body_decoded = decodePayload(body);
    }
  }
  // A {name, value} pair from a querystring or parameter list.
  if (typeof object.name === "string" && "value" in object) {
    const decoded = decodedParameter(object.name, object.value);
    if (decoded !== undefined) out.decoded = decoded;
  }
  return out;
}
