/**
 * One raw record in, its enriched events and bad rows out, in Enrich's processing order
 * (snowplow-pipeline.md §3.1):
 *   raw record checks → adapter → per event: setup, field mapping, self-describing validation
 *   → Enrich's own derivations and the configured enrichments → derived-entity and field-length checks.
 * The first failing phase decides the event's bad row: schema_violations, then enrichment_failures,
 * then schema_violations from the final checks.
 */
import type { BadRow, Processor } from "../shared/bad-rows";
import { adapt, apiOf } from "./adapters";
import { firstAddress, isTimestampInRange, tsvSafe } from "./conversions";
import { derivedTimestamp } from "./derived-tstamp";
import { EnrichmentError, type Enrichment, type EnrichmentContext } from "./enrichments/types";
import { emittedEvent } from "./emitted-event";
import { newEnrichedEvent, type EnrichedEvent } from "./event";
import { contentId, derivedEventId } from "./event-id";
import { setEventSchemaFields } from "./event-schema";
import {
  atomicFieldMessage,
  collectorPayloadFormatViolation,
  enrichmentFailures,
  fieldLengthMessage,
  requestFailure,
  schemaViolations,
  type EnrichmentFailureMessage,
  type EventSource,
} from "./failures";
import { overlongFields } from "./field-limits";
import { mapParameters } from "./field-mapping";
import { parseQuerystring, QuerystringError, type NameValue } from "./querystring";
import { isRawRecordProblem, readRawRecord, type RawRecord } from "../shared/raw-record";
import type { SchemaValidator } from "./schema-validator";
import {
  extractContexts,
  extractUnstructEvent,
  validateEntities,
  validateSelfDescribing,
  type SchemaViolationMessage,
} from "./self-describing";
import { setCrossDomainFields, setPageUrlFields, setReferrerUrlFields } from "./url-fields";

export interface EnricherOptions {
  resolver: SchemaValidator;
  /** The configured enrichments, in Snowplow's order. */
  enrichments: readonly Enrichment[];
  processor: Processor;
  /** The clock for etl_tstamp and bad-row timestamps (tests pin it). */
  now?: () => Date;
}

/** A good event may bring events enrichments emitted beside it (see emitted-event.ts), for enrich's --pii output. */
export type EnrichOutcome = { good: EnrichedEvent; emitted?: EnrichedEvent[] } | { bad: BadRow };

/**
 * The client address as Enrich re-derives it from the stored headers: the first X-Forwarded-For address,
 * else the `for=` of a Forwarded header, else the collector's ipAddress.
 */
export function clientAddress(raw: RawRecord): string {
  let forwarded: string | undefined;
  for (const header of raw.headers) {
    const colon = header.indexOf(":");
    // Only "X-Forwarded-For" and "Forwarded" matter; other names are skipped by length before any copying.
    if (colon < 9) continue;
    const name = header.slice(0, colon).trim().toLowerCase();
    if (name === "x-forwarded-for") {
      const address = firstAddress(header.slice(colon + 1));
      if (address !== null) return address;
    } else if (name === "forwarded" && forwarded === undefined) {
      const match = /for=("?)\[?([^\]";,]+)/i.exec(header.slice(colon + 1));
      if (match) forwarded = match[2];
    }
  }
  return forwarded ?? raw.ipAddress;
}

export class Enricher {
  private readonly resolver: SchemaValidator;
  private readonly enrichments: readonly Enrichment[];
  private readonly processor: Processor;
  private readonly now: () => Date;
  private readonly etlVersion: string;
  /** A JavaScript enrichment may rewrite the event's own self-describing data, which is then checked again. */
  private readonly revalidatesEventData: boolean;

  constructor(options: EnricherOptions) {
    this.resolver = options.resolver;
    this.enrichments = options.enrichments;
    this.processor = options.processor;
    this.now = options.now ?? (() => new Date());
    this.etlVersion = `${options.processor.artifact}-${options.processor.version}`;
    this.revalidatesEventData = options.enrichments.some((enrichment) => enrichment.schemaKey.includes("/javascript_script_config/"));
  }

  /** Every outcome of one input line (already parsed as JSON): good events and bad rows, in order. */
  async enrichRecord(value: unknown, line: string): Promise<EnrichOutcome[]> {
    const now = this.now();
    const raw = readRawRecord(value);
    if (isRawRecordProblem(raw)) return [{ bad: collectorPayloadFormatViolation(this.processor, raw, line, now) }];
    if (!isTimestampInRange(raw.timestamp)) {
      const message = { payloadField: "timestamp", value: String(raw.timestamp), expectation: "milliseconds since the epoch, between years 0 and 9999" };
      return [{ bad: collectorPayloadFormatViolation(this.processor, message, line, now) }];
    }
    raw.id ??= contentId(line);
    const api = apiOf(raw.path);
    if (api === null) {
      const message = { payloadField: "path", value: raw.path, expectation: "/vendor/version, /i or /ice.png" };
      return [{ bad: collectorPayloadFormatViolation(this.processor, message, line, now) }];
    }
    let querystring: NameValue[];
    try {
      querystring = parseQuerystring(raw.querystring);
    } catch (error) {
      if (!(error instanceof QuerystringError)) throw error;
      const message = { payloadField: "querystring", value: raw.querystring, expectation: error.message };
      return [{ bad: collectorPayloadFormatViolation(this.processor, message, line, now) }];
    }
    const adapted = await adapt(api, { raw, querystring, resolver: this.resolver });
    if (!adapted.ok) {
      // Failures found after schema lookups are stamped when found, so no lookupHistory.lastAttempt is later.
      return [{ bad: requestFailure(adapted.type, this.processor, api, adapted.messages, raw, querystring, this.now()) }];
    }
    const address = clientAddress(raw);
    const outcomes: EnrichOutcome[] = [];
    for (let index = 0; index < adapted.events.length; index++) {
      outcomes.push(await this.enrichEvent({ api, parameters: adapted.events[index]!, raw }, index, address, now));
    }
    return outcomes;
  }

  /** The columns that come from the request rather than the event; `event_id` waits for the tracker's `eid`. */
  private setUp(source: EventSource, address: string, now: Date): EnrichedEvent {
    const { raw } = source;
    const event = newEnrichedEvent();
    event.v_collector = tsvSafe(raw.collector);
    event.v_etl = this.etlVersion;
    event.etl_tstamp = now.getTime();
    event.collector_tstamp = raw.timestamp;
    event.network_userid = raw.networkUserId ?? null;
    event.user_ipaddress = address;
    event.useragent = raw.userAgent === undefined ? null : tsvSafe(raw.userAgent);
    return event;
  }

  private async enrichEvent(source: EventSource, position: number, address: string, now: Date): Promise<EnrichOutcome> {
    const { parameters, raw } = source;
    const event = this.setUp(source, address, now);
    const violations: SchemaViolationMessage[] = [];
    const fieldFailures = mapParameters(parameters, event);
    // Derived only when the tracker sent no usable eid (hashing it for every event cost more than it saved).
    event.event_id ??= derivedEventId(raw.id, position);
    if (fieldFailures.length > 0) violations.push(atomicFieldMessage(fieldFailures));
    event.unstruct_event = await extractUnstructEvent(parameters, this.resolver, violations);
    event.contexts = await extractContexts(parameters, this.resolver, violations);
    // Stamped when found (not with etl_tstamp): after the lookups whose lastAttempt the bad row reports.
    if (violations.length > 0) return { bad: schemaViolations(this.processor, violations, event, source, this.now()) };

    const context: EnrichmentContext = { event, raw, parameters, derived: [], emitted: [] };
    const failures = await this.runEnrichments(context, raw);
    if (failures.length > 0) return { bad: enrichmentFailures(this.processor, failures, event, source, this.now()) };

    event.derived_contexts = await validateEntities(context.derived, this.resolver, violations);
    if (this.revalidatesEventData) await this.revalidateEventData(event, violations);
    const tooLong = overlongFields(event);
    if (tooLong !== null) violations.push(fieldLengthMessage(tooLong));
    if (violations.length > 0) return { bad: schemaViolations(this.processor, violations, event, source, this.now()) };
    if (context.emitted.length === 0) return { good: event };
    return { good: event, emitted: context.emitted.map((emitted) => emittedEvent(event, emitted)) };
  }

  /** Enrich's own derivations, then the configured enrichments; every failure is collected. */
  private async runEnrichments(context: EnrichmentContext, raw: RawRecord): Promise<EnrichmentFailureMessage[]> {
    const { event } = context;
    const failures: EnrichmentFailureMessage[] = [];
    const own = (message: EnrichmentFailureMessage["message"] | null) => {
      if (message !== null) failures.push({ enrichment: null, message });
    };
    if (event.v_collector === null) own({ field: "v_collector", value: null, expectation: "the collector's name and version" });
    own(setPageUrlFields(event, raw.refererUri));
    event.derived_tstamp = derivedTimestamp(event);
    own(setReferrerUrlFields(event));
    own(setCrossDomainFields(event));
    own(setEventSchemaFields(event));
    for (const enrichment of this.enrichments) {
      try {
        // Most enrichments are synchronous: only a returned promise is awaited (a microtask less per enrichment).
        const pending = enrichment.apply(context);
        if (pending !== undefined) await pending;
      } catch (error) {
        failures.push({
          enrichment:
            error instanceof EnrichmentError ? error.enrichment : { schemaKey: enrichment.schemaKey, identifier: enrichment.name },
          message: { error: error instanceof Error ? error.message : String(error) },
        });
      }
    }
    return failures;
  }

  private async revalidateEventData(event: EnrichedEvent, violations: SchemaViolationMessage[]): Promise<void> {
    if (event.unstruct_event !== null) await validateSelfDescribing(event.unstruct_event, this.resolver, violations);
    await validateEntities(event.contexts, this.resolver, violations);
  }
}
