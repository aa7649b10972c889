import type { EnrichedEvent } from "../event";
import type { RawRecord } from "../../shared/raw-record";
export interface EnrichmentContext {
  event: EnrichedEvent;
  raw: RawRecord;
  /** The event's tracker parameters as its adapter produced them (Snowplow's RawEvent parameters; event_fingerprint hashes them). */
  parameters: Readonly<Record<string, string>>;
  /** add derived contexts here */
  derived: { schema: string; data: unknown }[];
  /**
   * Self-describing events an enrichment asks enrich to write as events of their own, each beside the
   * event it came from (the PII enrichment's pii_transformation with `emitEvent`).
   */
  emitted: { schema: string; data: unknown }[];
}
export class EnrichmentError extends Error { constructor(readonly enrichment: { schemaKey: string; identifier: string } | null, message: string) { super(message); } }
export interface Enrichment { readonly name: string; readonly schemaKey: string; apply(context: EnrichmentContext): void | Promise<void> }
