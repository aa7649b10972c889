/**
 * Builds enrich's batch function from its settings: the Iglu resolver (--iglu), the enrichment configs
 * (--enrichments), the output format. Shared by the main thread (--workers 0) and every worker thread, so
 * both enrich with exactly the same setup. The settings are plain data because they cross to workers.
 */
import type { BatchEnricher } from "../stages/enrich/batch";
import type { OutputFormat } from "../stages/enrich/output";
import type { Processor } from "../stages/shared/bad-rows";
import { ConfigError } from "../stages/shared/config-error";

/**
 * The worker thread's entry point. Computed here, beside it, because the same relative URL then holds in
 * the source tree (cli/enrich-worker.ts) and in the executable `make build` makes, which bundles this
 * module into its main entry at the root and the worker as a second entry beside it.
 */
export const ENRICH_WORKER_ENTRY = new URL("./enrich-worker.ts", import.meta.url);

export interface EnrichSettings {
  iglu?: string;
  igluApikey?: string;
  enrichments?: string;
  format: OutputFormat;
  processor: Processor;
  maxOutputBytes: number;
  maxLineBytes: number;
}

export async function loadBatchEnricher(settings: EnrichSettings): Promise<{ enrich: BatchEnricher; enrichmentCount: number }> {
  const [{ Resolver, ResolverConfigError }, { loadEnrichments }, { Enricher }, { createBatchEnricher }] = await Promise.all([
    import("../stages/iglu/resolver"),
    import("../stages/enrich/enrichments"),
    import("../stages/enrich/enricher"),
    import("../stages/enrich/batch"),
  ]);
  let resolver: InstanceType<typeof Resolver>;
  try {
    resolver = await Resolver.load(settings.iglu, { apikey: settings.igluApikey });
  } catch (error) {
    if (error instanceof ResolverConfigError) throw new ConfigError(`--iglu: ${error.message}`);
    throw error;
  }
  const enrichments = await loadEnrichments(settings.enrichments, resolver);
  const enricher = new Enricher({ resolver, enrichments, processor: settings.processor });
  const enrich = createBatchEnricher({ enricher, ...settings });
  return { enrich, enrichmentCount: enrichments.length };
}
