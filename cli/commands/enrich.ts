/**
 * `telemetry enrich`: raw records on stdin, enriched events on stdout, bad rows to --bad. Wires
 * stages/enrich to the process: the Iglu resolver (--iglu), the enrichment configs (--enrichments),
 * the output format, and the shared stdin-stage lifecycle.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import type { OutputFormat } from "../../stages/enrich/output";
import type { BatchEnricher } from "../../stages/enrich/batch";
import { AppendFile, appendProblem } from "../../stages/shared/append-file";
import { IGLU_CENTRAL_URLS } from "../../stages/iglu/iglu-central";
import { ConfigError } from "../../stages/shared/config-error";
import { defaultIgluCacheDir, ENRICH_WORKER_ENTRY, listOrNone, loadBatchEnricher, type EnrichSettings } from "../enrich-setup";
import { countOf } from "../../stages/shared/plural";
import { withExamples } from "../command";
import { exitWithConfigError, runStdinStage, say, stdinStageOptions, type StageIO } from "../runtime";
import {
  kafkaConnectionOptions,
  kafkaConsumerOptions,
  kafkaEnrichedFormatOption,
  kafkaInputTopicOption,
  kafkaOutputTopicOption,
  kafkaProducerOptions,
  kafkaRawFormatOption,
  kafkaStageIO,
  type KafkaArgs,
} from "../kafka";
import { DEFAULT_TOPICS } from "../../stages/kafka/topics";
import type { EnrichedFormat, RawFormat } from "../../stages/kafka/formats";

const STAGE = "enrich";


const options = {
  iglu: {
    type: "string",
    describe: "Iglu resolver config file, registry URL (Iglu Server …/api or static) or schema directory; the embedded schemas/ are always consulted",
  },
  "iglu-apikey": { type: "string", describe: "apikey header for an --iglu registry URL" },
  "iglu-central-urls": {
    type: "string",
    default: IGLU_CENTRAL_URLS.join(","),
    describe: "public registries asked after the embedded one and --iglu (comma-separated static registry URLs; none: no public registry); not used with a resolver config file",
  },
  "iglu-cache": {
    type: "string",
    default: defaultIgluCacheDir(),
    describe: "folder where schemas resolved from HTTP registries are kept, so a restart without the network still validates them (none: keep nothing)",
  },
  "iglu-timeout": { type: "number", default: 5000, describe: "milliseconds before a registry lookup is abandoned (the event becomes a bad row naming it)" },
  enrichments: {
    type: "string",
    describe: "directory of Snowplow enrichment config JSON files (default: the Snowplow Mini set)",
  },
  format: { type: "string", choices: ["json", "tsv"], default: "json", describe: "Analytics-SDK JSON, or the canonical 131-column TSV" },
  pii: {
    type: "string",
    describe: "file or FIFO for the pii_transformation events the PII enrichment emits with emitEvent (Snowplow's pii stream)",
  },
  workers: {
    type: "number",
    default: 0,
    // Not on by default: on two cores one enrich thread already keeps ~1.3 cores busy (JIT and GC threads),
    // and measured there, worker threads cost more in copying and memory than they gained (README, Speed).
    describe: "worker threads that enrich, for machines with cores to spare (0: enrich in the main thread); output order is kept",
  },
  ...stdinStageOptions,
  ...kafkaConnectionOptions,
  ...kafkaProducerOptions,
  ...kafkaConsumerOptions,
  ...kafkaInputTopicOption(DEFAULT_TOPICS.raw),
  ...kafkaOutputTopicOption(DEFAULT_TOPICS.enriched),
  "kafka-bad-topic": { type: "string", default: DEFAULT_TOPICS.bad, describe: "topic bad rows are written to with --kafka (instead of --bad)" },
  ...kafkaRawFormatOption,
  ...kafkaEnrichedFormatOption,
  "kafka-partition-key": {
    type: "string",
    describe: "enriched field whose value keys each event on the enriched topic (e.g. user_id, domain_userid; default a random UUID)",
  },
} as const;

type EnrichArgs = KafkaArgs & ArgumentsCamelCase<{
  kafkaInputTopic: string;
  kafkaOutputTopic: string;
  kafkaBadTopic: string;
  kafkaRawFormat: RawFormat;
  kafkaEnrichedFormat: EnrichedFormat;
  kafkaPartitionKey?: string;
  iglu?: string;
  igluApikey?: string;
  igluCentralUrls: string;
  igluCache: string;
  igluTimeout: number;
  enrichments?: string;
  format: OutputFormat;
  pii?: string;
  workers: number;
  bad?: string;
  maxLineBytes: number;
  statsInterval: number;
}>;

/** The batch function: in this thread, or spread over worker threads (then `close` stops them). */
async function startEnriching(settings: EnrichSettings, workers: number): Promise<{ enrich: BatchEnricher; enrichmentCount: number; close(): void }> {
  if (workers === 0) return { ...(await loadBatchEnricher(settings)), close() {} };
  const { EnrichWorkerPool, WorkerSetupError } = await import("../../stages/enrich/pool");
  try {
    const pool = await EnrichWorkerPool.start(ENRICH_WORKER_ENTRY, workers, settings);
    return { enrich: pool.enrich, enrichmentCount: pool.enrichmentCount, close: () => pool.close() };
  } catch (error) {
    if (error instanceof WorkerSetupError) {
      throw new ConfigError(error.configError ? error.message : `${error.message}; --workers 0 enriches without worker threads.`);
    }
    throw error;
  }
}

/** Raw records from the raw topic, enriched events to the enriched topic, bad rows to the bad topic. */
async function enrichKafkaIO(args: EnrichArgs): Promise<StageIO> {
  const { rawRecordLine, enrichedMessage, plainMessage } = await import("../../stages/kafka/formats");
  const { enrichedColumnIndex } = await import("../../stages/kafka/enriched-tsv");
  if (args.kafkaPartitionKey !== undefined && enrichedColumnIndex(args.kafkaPartitionKey) < 0) {
    exitWithConfigError(STAGE, `--kafka-partition-key ${args.kafkaPartitionKey} is not an enriched event field (e.g. user_id, domain_userid).`);
  }
  try {
    return await kafkaStageIO(STAGE, args, {
      input: { topic: args.kafkaInputTopic, toLine: rawRecordLine(args.kafkaRawFormat) },
      output: { topic: args.kafkaOutputTopic, toMessage: enrichedMessage(args.kafkaEnrichedFormat, args.kafkaPartitionKey) },
      bad: { topic: args.kafkaBadTopic, toMessage: plainMessage() },
    });
  } catch (error) {
    if (error instanceof ConfigError) exitWithConfigError(STAGE, error.message);
    throw error;
  }
}

const command: CommandModule<object, EnrichArgs> = {
  command: "enrich",
  describe: "Turn raw collector records into enriched Snowplow events (and typed bad rows)",
  builder: (yargs: Argv) =>
    withExamples(yargs.options(options), [
      ["$0 collect | $0 enrich --bad bad.ndjson | $0 sink-good", "the usual pipe"],
      ["$0 replay archive/ | $0 enrich --format tsv > enriched.tsv", "canonical TSV for Snowplow tools"],
      ["$0 enrich --iglu resolver.json --enrichments enrichments/ < raw.ndjson", "own registry and enrichment configs"],
      ["$0 enrich --kafka 127.0.0.1:9092", "Thrift payloads from snowplow-collector-payloads to TSV on snowplow-enriched, bad rows on snowplow-bad"],
    ]).check((args) => {
      if (!Number.isInteger(args.workers) || args.workers < 0) throw new Error("--workers must be a whole number, 0 or more");
      if (!((args.igluTimeout as number) > 0)) throw new Error("--iglu-timeout must be a number of milliseconds above 0");
      return true;
    }) as unknown as Argv<EnrichArgs>,
  handler: async (args) => {
    // Loaded here, not at the top, so other commands do not pay for the enrich modules at startup.
    const [{ runEnrich }, { enrichLineProblemBadRow }] = await Promise.all([
      import("../../stages/enrich/stage"),
      import("../../stages/enrich/failures"),
    ]);
    const io = args.kafka === undefined ? undefined : await enrichKafkaIO(args);
    // On Kafka the enriched topic's format decides the output form.
    const format: OutputFormat = io ? (args.kafkaEnrichedFormat === "json" ? "json" : "tsv") : args.format;
    await runStdinStage(
      STAGE,
      args,
      async ({ lineBatches, output, bad, counters, processor, acknowledge }) => {
        const settings: EnrichSettings = {
          iglu: args.iglu,
          igluApikey: args.igluApikey,
          igluCentral: listOrNone(args.igluCentralUrls),
          igluCache: args.igluCache === "none" ? undefined : args.igluCache,
          igluTimeoutMs: args.igluTimeout,
          enrichments: args.enrichments,
          format,
          processor,
          maxOutputBytes: args.maxLineBytes,
          maxLineBytes: args.maxLineBytes,
        };
        const piiProblem = args.pii === undefined ? null : appendProblem(args.pii);
        if (piiProblem !== null) throw new ConfigError(`--pii ${args.pii} cannot be written (${piiProblem}).`);
        const enriching = await startEnriching(settings, args.workers);
        const threads = args.workers === 0 ? "in the main thread" : `on ${countOf(args.workers, "worker thread")}`;
        say(STAGE, `reading raw records; ${countOf(enriching.enrichmentCount, "enrichment")} ${threads}; writing ${format}`);
        const pii = args.pii === undefined ? undefined : new AppendFile(args.pii);
        let warnedAboutPii = false;
        try {
          await runEnrich(lineBatches(), enriching.enrich, output, bad, {
            concurrency: Math.max(1, args.workers * 2),
            counters,
            pii,
            onWritten: acknowledge,
            onUnwrittenPii: () => {
              if (warnedAboutPii) return;
              warnedAboutPii = true;
              say(STAGE, "the PII enrichment emits pii_transformation events (emitEvent) but --pii is not given: they are not written");
            },
          });
        } finally {
          enriching.close();
          pii?.close();
        }
      },
      { lineProblemBadRow: enrichLineProblemBadRow, io },
    );
  },
};

export default command;
