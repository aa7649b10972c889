/**
 * The event enrich writes for a self-describing event an enrichment emitted beside the event it was
 * enriching (the PII enrichment's pii_transformation), shaped as Snowplow Enrich shapes its PII event:
 * platform `srv`, the parent's app and timestamps, the emitted event as the self-describing event, and a
 * parent_event entity naming the parent's id. Snowplow gives it a random id; ours is derived from the
 * parent's id and the schema, so a replay yields the same id.
 */
import { newEnrichedEvent, type EnrichedEvent } from "./event";
import { derivedEventId } from "./event-id";
import { setEventSchemaFields } from "./event-schema";

export const PARENT_EVENT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/parent_event/jsonschema/1-0-0";

export function emittedEvent(parent: EnrichedEvent, emitted: { schema: string; data: unknown }): EnrichedEvent {
  const event = newEnrichedEvent();
  event.app_id = parent.app_id;
  event.platform = "srv";
  event.etl_tstamp = parent.etl_tstamp;
  event.collector_tstamp = parent.collector_tstamp;
  event.event = "unstruct";
  event.unstruct_event = { schema: emitted.schema, data: emitted.data };
  event.event_id = derivedEventId(`${parent.event_id}>${emitted.schema}`, 0);
  // Snowplow stamps both with the moment it made the event, which is the parent's etl_tstamp here.
  event.derived_tstamp = parent.etl_tstamp;
  event.true_tstamp = parent.etl_tstamp;
  event.v_etl = parent.v_etl;
  event.contexts = [{ schema: PARENT_EVENT_SCHEMA, data: { parentEventId: parent.event_id } }];
  setEventSchemaFields(event);
  // Snowplow names the event after the emitted schema rather than the generic "unstruct".
  event.event = event.event_name;
  return event;
}
