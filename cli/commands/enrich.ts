/**
 * `telemetry enrich`: raw records on stdin, enriched events on stdout, bad rows to --bad. Wires
 * stages/enrich to the process: the Iglu resolver (--iglu), the enrichment configs (--enrichments),
 * the output format, and the shared stdin-stage lifecycle.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import type { Resolver } from "../../stages/iglu/resolver";
import type { OutputFormat } from "../../stages/enrich/stage";
import { ConfigError, runStdinStage, say, stdinStageOptions } from "../runtime";

const STAGE = "enrich";

const options = {
  iglu: {
    type: "string",
    describe: "Iglu resolver config file, registry URL (Iglu Server …/api or static) or schema directory; the embedded schemas/ are always consulted",
  },
  "iglu-apikey": { type: "string", describe: "apikey header for an --iglu registry URL" },
  enrichments: {
    type: "string",
    describe: "directory of Snowplow enrichment config JSON files (default: the Snowplow Mini set)",
  },
  format: { type: "string", choices: ["json", "tsv"], default: "json", describe: "Analytics-SDK JSON, or the canonical 131-column TSV" },
  ...stdinStageOptions,
} as const;

type EnrichArgs = ArgumentsCamelCase<{
  iglu?: string;
  igluApikey?: string;
  enrichments?: string;
  format: OutputFormat;
  bad?: string;
  maxLineBytes: number;
  statsInterval: number;
}>;

async function loadResolver(args: EnrichArgs): Promise<Resolver> {
  const { Resolver, ResolverConfigError } = await import("../../stages/iglu/resolver");
  try {
    return await Resolver.load(args.iglu, { apikey: args.igluApikey });
  } catch (error) {
    if (error instanceof ResolverConfigError) throw new ConfigError(`--iglu: ${error.message}`);
    throw error;
  }
}

const command: CommandModule<object, EnrichArgs> = {
  command: "enrich",
  describe: "Turn raw collector records into enriched Snowplow events (and typed bad rows)",
  builder: (yargs: Argv) =>
    yargs
      .options(options)
      .example("telemetry collect | telemetry enrich --bad bad.ndjson | telemetry sink-good", "the usual pipe")
      .example("telemetry replay archive/ | telemetry enrich --format tsv > enriched.tsv", "canonical TSV for Snowplow tools")
      .example("telemetry enrich --iglu resolver.json --enrichments enrichments/ < raw.ndjson", "own registry and enrichment configs") as unknown as Argv<EnrichArgs>,
  handler: async (args) => {
    // Loaded here, not at the top, so other commands do not pay for the enrich modules at startup.
    const [{ Enricher }, { loadEnrichments }, { enrichLineProblemBadRow, runEnrich }] = await Promise.all([
      import("../../stages/enrich/enricher"),
      import("../../stages/enrich/enrichments"),
      import("../../stages/enrich/stage"),
    ]);
    await runStdinStage(
      STAGE,
      args,
      async ({ input, output, bad, counters, processor }) => {
        const resolver = await loadResolver(args);
        const enrichments = await loadEnrichments(args.enrichments, resolver);
        say(STAGE, `reading raw records; ${enrichments.length} enrichments; writing ${args.format}`);
        const enricher = new Enricher({ resolver, enrichments, processor });
        await runEnrich(input, output, bad, {
          enricher,
          format: args.format,
          processor,
          maxOutputBytes: args.maxLineBytes,
          counters,
        });
      },
      { lineProblemBadRow: enrichLineProblemBadRow },
    );
  },
};

export default command;
