/**
 * Which adapter reads a raw record, chosen as Enrich chooses it: by the request path, `/vendor/version`,
 * with `/i` and `/ice.png` meaning tp1. Failures of tp2 and r/tp2 are tracker protocol violations; those of
 * every other adapter, and paths no adapter serves, are adapter failures.
 */
import type { Parameters } from "../querystring";
import { igluWebhook } from "./iglu-webhook";
import { redirect } from "./redirect";
import { tp1, tp2 } from "./tracker-protocol";
import { inputData, type Adapter, type AdapterInput, type AdapterMessage } from "./types";

export interface Api {
  vendor: string;
  version: string;
}

const SNOWPLOW = "com.snowplowanalytics.snowplow";
const TP1: Api = { vendor: SNOWPLOW, version: "tp1" };
const VENDOR_VERSION = /^\/?([^/]+)\/([^/]+)\/?$/;

/** The vendor/version a path addresses, or null when it is neither `/vendor/version` nor an ice request. */
export function apiOf(path: string): Api | null {
  if (path === "/i" || path === "/ice.png") return TP1;
  const match = VENDOR_VERSION.exec(path);
  return match ? { vendor: match[1]!, version: match[2]! } : null;
}

type FailureType = "adapter_failures" | "tracker_protocol_violations";

const ADAPTERS = new Map<string, { adapter: Adapter; failureType: FailureType }>([
  [`${SNOWPLOW}/tp1`, { adapter: tp1, failureType: "adapter_failures" }],
  [`${SNOWPLOW}/tp2`, { adapter: tp2, failureType: "tracker_protocol_violations" }],
  ["r/tp2", { adapter: redirect, failureType: "tracker_protocol_violations" }],
  ["com.snowplowanalytics.iglu/v1", { adapter: igluWebhook, failureType: "adapter_failures" }],
]);

export type AdaptedRequest =
  | { ok: true; events: Parameters[] }
  | { ok: false; type: FailureType; messages: AdapterMessage[] };

export async function adapt(api: Api, input: AdapterInput): Promise<AdaptedRequest> {
  const entry = ADAPTERS.get(`${api.vendor}/${api.version}`);
  if (entry === undefined) {
    return {
      ok: false,
      type: "adapter_failures",
      messages: [inputData("vendor/version", `${api.vendor}/${api.version}`, "a supported vendor/version combination")],
    };
  }
  const result = await entry.adapter(input);
  return result.ok ? result : { ok: false, type: entry.failureType, messages: result.messages };
}
