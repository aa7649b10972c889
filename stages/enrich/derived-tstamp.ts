/**
 * derived_tstamp (snowplow-pipeline.md §3.4): the tracker's true timestamp when given; otherwise the
 * collector time moved back by the on-device delay between creating and sending the event, so a wrong
 * device clock does not matter but offline caching still shows.
 */
import type { EnrichedEvent } from "./event";

export function derivedTimestamp(event: EnrichedEvent): number | null {
  if (event.true_tstamp !== null) return event.true_tstamp;
  const { dvce_created_tstamp: created, dvce_sent_tstamp: sent, collector_tstamp: collected } = event;
  if (created !== null && sent !== null && collected !== null && created < sent) return collected - (sent - created);
  return collected;
}
