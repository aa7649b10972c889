/**
 * event_vendor / event_name / event_format / event_version: fixed per built-in event type, and taken
 * from the self-describing event's schema for `ue` events.
 */
import type { EnrichedEvent } from "./event";

const SNOWPLOW = "com.snowplowanalytics.snowplow";
const BUILT_IN: Readonly<Record<string, readonly [string, string]>> = {
  page_view: [SNOWPLOW, "page_view"],
  page_ping: [SNOWPLOW, "page_ping"],
  struct: ["com.google.analytics", "event"],
  transaction: [SNOWPLOW, "transaction"],
  transaction_item: [SNOWPLOW, "transaction_item"],
};
const IGLU_URI = /^iglu:([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/;

/** Sets the four columns, or says why it cannot (an enrichment failure in Enrich). */
export function setEventSchemaFields(event: EnrichedEvent): { field: string; value: string | null; expectation: string } | null {
  if (event.event === "unstruct") {
    const match = event.unstruct_event === null ? null : IGLU_URI.exec(event.unstruct_event.schema);
    if (match === null) {
      return { field: "unstruct_event", value: null, expectation: "a valid self-describing event (ue_pr or ue_px) for event type ue" };
    }
    event.event_vendor = match[1]!;
    event.event_name = match[2]!;
    event.event_format = match[3]!;
    event.event_version = match[4]!;
    return null;
  }
  const builtIn = event.event === null ? undefined : BUILT_IN[event.event];
  if (builtIn === undefined) {
    return { field: "event", value: event.event, expectation: "an event type with a known schema (pv, pp, se, ue, tr, ti)" };
  }
  event.event_vendor = builtIn[0];
  event.event_name = builtIn[1];
  event.event_format = "jsonschema";
  event.event_version = "1-0-0";
  return null;
}
