/**
 * Building raw records the way `collect` writes them, and running them through a real Enricher over the
 * embedded Iglu registry (schemas/), for the enrich suites.
 */
import { Resolver } from "../../stages/iglu/resolver";
import { Enricher, type EnrichOutcome } from "../../stages/enrich/enricher";
import type { Enrichment } from "../../stages/enrich/enrichments/types";
import type { EnrichedEvent } from "../../stages/enrich/event";
import { RAW_RECORD_SCHEMA, type RawRecord } from "../../stages/shared/raw-record";
import type { BadRow } from "../../stages/shared/bad-rows";

export const PROCESSOR = { artifact: "telemetry-enrich", version: "0.1.0" };
export const COLLECTOR_TSTAMP = Date.UTC(2025, 10, 28, 3, 20, 0, 0);
export const ETL_TIME = new Date(Date.UTC(2025, 10, 28, 3, 21, 0, 0));

let resolver: Resolver | undefined;
export async function embeddedResolver(): Promise<Resolver> {
  resolver ??= await Resolver.load();
  return resolver;
}

export async function enricher(enrichments: Enrichment[] = []): Promise<Enricher> {
  return new Enricher({ resolver: await embeddedResolver(), enrichments, processor: PROCESSOR, now: () => ETL_TIME });
}

let sequence = 0;
export function rawRecord(overrides: Partial<RawRecord> = {}): RawRecord {
  sequence++;
  return {
    schema: RAW_RECORD_SCHEMA,
    id: `00000000-0000-4000-8000-${String(sequence).padStart(12, "0")}`,
    timestamp: COLLECTOR_TSTAMP,
    ipAddress: "203.0.113.9",
    encoding: "UTF-8",
    collector: "telemetry-collect-0.1.0",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64)",
    path: "/com.snowplowanalytics.snowplow/tp2",
    querystring: "",
    headers: ["Host: collector.example.com"],
    hostname: "collector.example.com",
    ...overrides,
  };
}

export function getRecord(parameters: Record<string, string>, overrides: Partial<RawRecord> = {}): RawRecord {
  return rawRecord({ querystring: new URLSearchParams(parameters).toString(), ...overrides });
}

export function postRecord(events: Record<string, unknown>[], overrides: Partial<RawRecord> = {}): RawRecord {
  const body = JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", data: events });
  return rawRecord({ body, contentType: "application/json", ...overrides });
}

export function selfDescribingEvent(schema: string, data: unknown): string {
  return JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", data: { schema, data } });
}

export function entities(...items: { schema: string; data: unknown }[]): string {
  return JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", data: items });
}

export function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

export async function enrichOne(record: unknown, enrichments: Enrichment[] = []): Promise<EnrichOutcome[]> {
  return (await enricher(enrichments)).enrichRecord(structuredClone(record), JSON.stringify(record));
}

export async function goodEvents(record: unknown, enrichments: Enrichment[] = []): Promise<EnrichedEvent[]> {
  const outcomes = await enrichOne(record, enrichments);
  const bad = outcomes.filter((outcome) => "bad" in outcome);
  if (bad.length > 0) throw new Error(`unexpected bad rows: ${JSON.stringify(bad)}`);
  return outcomes.map((outcome) => (outcome as { good: EnrichedEvent }).good);
}

export async function goodEvent(record: unknown, enrichments: Enrichment[] = []): Promise<EnrichedEvent> {
  const events = await goodEvents(record, enrichments);
  if (events.length !== 1) throw new Error(`expected one event, got ${events.length}`);
  return events[0]!;
}

export async function badRows(record: unknown, enrichments: Enrichment[] = []): Promise<BadRow[]> {
  return (await enrichOne(record, enrichments)).flatMap((outcome) => ("bad" in outcome ? [outcome.bad] : []));
}

/** The bad-row type name from its schema key. */
export function badRowType(row: BadRow): string {
  return row.schema.split("/")[1]!;
}
