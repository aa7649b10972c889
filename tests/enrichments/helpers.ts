/** Builders for enrichment tests: an event, the raw record it came from, and Snowplow config JSON. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newEnrichedEvent, type EnrichedEvent } from "../../stages/enrich/event";
import { RAW_RECORD_SCHEMA, type RawRecord } from "../../stages/shared/raw-record";
import { loadEnrichments } from "../../stages/enrich/enrichments";
import type { Enrichment, EnrichmentContext } from "../../stages/enrich/enrichments/types";

export const CHROME_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
export const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1";
export const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

export function context(
  event: Partial<EnrichedEvent> = {},
  options: { headers?: string[]; parameters?: Record<string, string> } = {},
): EnrichmentContext {
  const raw: RawRecord = {
    schema: RAW_RECORD_SCHEMA,
    id: "5f0e6a4c-6a4e-4d2b-9a55-3f2e0c1d7b10",
    timestamp: 1764300000000,
    ipAddress: "128.101.101.101",
    encoding: "UTF-8",
    collector: "telemetry-collect-0.1.0",
    path: "/com.snowplowanalytics.snowplow/tp2",
    querystring: "",
    headers: options.headers ?? [],
  };
  return { event: { ...newEnrichedEvent(), ...event }, raw, parameters: options.parameters ?? {}, derived: [], emitted: [] };
}

/** A Snowplow enrichment config file's JSON. */
export function sdConfig(schema: string, parameters: unknown, extra: Record<string, unknown> = {}): object {
  const [vendor, name] = schema.replace("iglu:", "").split("/");
  return { schema, data: { vendor, name, enabled: true, parameters, ...extra } };
}

/** Writes the configs into a fresh directory, loads them, and removes the directory. */
export async function loadFrom(files: Record<string, object | string>): Promise<Enrichment[]> {
  const dir = await mkdtemp(join(tmpdir(), "telemetry-enrichments-"));
  try {
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(dir, name), typeof content === "string" ? content : JSON.stringify(content, null, 2));
    }
    return await loadEnrichments(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The one enrichment a single config makes. */
export async function single(schema: string, parameters: unknown, extra: Record<string, unknown> = {}): Promise<Enrichment> {
  const [enrichment, ...rest] = await loadFrom({ "config.json": sdConfig(schema, parameters, extra) });
  if (!enrichment || rest.length > 0) throw new Error("expected exactly one enrichment");
  return enrichment;
}

export async function run(enrichment: Enrichment, ctx: EnrichmentContext): Promise<EnrichmentContext> {
  await enrichment.apply(ctx);
  return ctx;
}

/** The error an enrichment throws on this context (sync or async); fails the test when it throws none. */
export async function failureOf(enrichment: Enrichment, ctx: EnrichmentContext): Promise<unknown> {
  try {
    await enrichment.apply(ctx);
  } catch (error) {
    return error;
  }
  throw new Error(`${enrichment.name} did not fail`);
}
