import type { EnrichedEvent } from "../event";
import type { RawRecord } from "../raw-record";
export interface EnrichmentContext { event: EnrichedEvent; raw: RawRecord; /** add derived contexts here */ derived: { schema: string; data: unknown }[] }
export class EnrichmentError extends Error { constructor(readonly enrichment: { schemaKey: string; identifier: string } | null, message: string) { super(message); } }
export interface Enrichment { readonly name: string; readonly schemaKey: string; apply(context: EnrichmentContext): void | Promise<void> }
