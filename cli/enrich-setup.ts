/**
 * Builds enrich's batch function from its settings: the Iglu resolver (--iglu), the enrichment configs
 * (--enrichments), the output format. Shared by the main thread (--workers 0) and every worker thread, so
 * both enrich with exactly the same setup. The settings are plain data because they cross to workers.
 */
import type { BatchEnricher } from "../stages/enrich/batch";
import type { OutputFormat } from "../stages/enrich/output";
import type { Processor } from "../stages/shared/bad-rows";
import { homedir } from "node:os";
import { join } from "node:path";
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
  /** Public registries asked last (Iglu Central and its mirror by default). */
  igluCentral: string[];
  /** Where schemas resolved over HTTP are kept across restarts; undefined: nowhere. */
  igluCache?: string;
  igluTimeoutMs: number;
  enrichments?: string;
  format: OutputFormat;
  processor: Processor;
  maxOutputBytes: number;
  maxLineBytes: number;
}

/** `$XDG_CACHE_HOME/telemetry/iglu`, or `~/.cache/telemetry/iglu`. */
export function defaultIgluCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "telemetry", "iglu");
}

/** A comma-separated flag value as a list; "none" (or nothing) is the empty list. */
export function listOrNone(text: string): string[] {
  const items = text.split(",").map((item) => item.trim()).filter(Boolean);
  return items.length === 1 && items[0] === "none" ? [] : items;
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
    resolver = await Resolver.load(settings.iglu, {
      apikey: settings.igluApikey,
      igluCentral: settings.igluCentral,
      cacheDir: settings.igluCache,
      timeoutMs: settings.igluTimeoutMs,
    });
  } catch (error) {
    if (error instanceof ResolverConfigError) throw new ConfigError(`--iglu: ${error.message}`);
    throw error;
  }
  const enrichments = await loadEnrichments(settings.enrichments, resolver);
  const enricher = new Enricher({ resolver, enrichments, processor: settings.processor });
  const enrich = createBatchEnricher({ enricher, ...settings });
  return { enrich, enrichmentCount: enrichments.length };
}
