/**
 * `telemetry sink`, `sink-good`, `sink-bad`: NDJSON on stdin into Elasticsearch (`--es`) or SQLite.
 * This file only turns flags into a store and options; stages/sink/ does the work.
 */
import type { Argv, CommandModule } from "yargs";
import { AppendFile, appendProblem } from "../../stages/shared/append-file";
import { ConfigError } from "../../stages/shared/config-error";
import { countOf } from "../../stages/shared/plural";
import { withExamples } from "../command";
import { exitWithConfigError, runStdinStage, say, stdinStageOptions, type StageIO, type StdinStageArgs } from "../runtime";
import { kafkaConnectionOptions, kafkaConsumerOptions, kafkaEnrichedFormatOption, kafkaInputTopicOption, kafkaStageIO, type KafkaArgs } from "../kafka";
import { DEFAULT_TOPICS } from "../../stages/kafka/topics";
import type { EnrichedFormat } from "../../stages/kafka/formats";
import type { IndexPattern, Routing } from "../../stages/sink/document";
import type { Store } from "../../stages/sink/sink";
import { DEFAULT_REPLICAS, MAPPING_KINDS, defaultMappingKind, indexTemplate, replicaSettings, type MappingKind } from "../../stages/sink/templates";

export const DEFAULT_DB_PATH = "data/telemetry.db";

interface SinkArgs extends StdinStageArgs, KafkaArgs {
  kafkaInputTopic: string;
  kafkaEnrichedFormat?: EnrichedFormat;
  es?: string;
  esUser?: string;
  esPassword?: string;
  esApiKey?: string;
  esCa?: string;
  db: string;
  index?: string;
  mapping?: MappingKind;
  templates: boolean;
  replicas: string;
  batchDocs: number;
  batchBytes: number;
  batchMs: number;
  concurrency: number;
  drainTimeout: number;
  spill?: string;
}

/** How to reach a store: shared with the dashboard, which reads what the sinks write. */
export const storeConnectionOptions = {
  es: {
    type: "string",
    describe: "Elasticsearch URL, or several separated by commas (without it: SQLite, see --db)",
  },
  "es-user": { type: "string", describe: "user name for basic authentication" },
  "es-password": { type: "string", describe: "password for basic authentication (better: TELEMETRY_ES_PASSWORD)" },
  "es-api-key": { type: "string", describe: "API key (base64 id:key) instead of a user (better: TELEMETRY_ES_API_KEY)" },
  "es-ca": { type: "string", describe: "PEM file of the CA that signed the cluster's HTTPS certificate" },
  db: { type: "string", default: DEFAULT_DB_PATH, describe: "SQLite file used when no --es URL is given" },
} as const;

const storeOptions = {
  ...storeConnectionOptions,
  mapping: {
    choices: MAPPING_KINDS,
    describe: "which index template to install (default: by index name: good, bad, logs; else dynamic)",
  },
  templates: { type: "boolean", default: true, describe: "install index templates on start (--no-templates to skip)" },
  replicas: {
    type: "string",
    default: DEFAULT_REPLICAS,
    describe:
      "replicas of each new index, in its template: a number (1), or a range that follows the number of nodes (0-1: none on a single node, so it is green; one from two nodes on)",
  },
  "batch-docs": { type: "number", default: 1000, describe: "documents per bulk request at most" },
  "batch-bytes": { type: "number", default: 5_000_000, describe: "bytes per bulk request at most" },
  "batch-ms": { type: "number", default: 1000, describe: "send a partial batch after this many ms without filling it" },
  concurrency: { type: "number", default: 2, describe: "bulk requests in flight at once" },
  "drain-timeout": {
    type: "number",
    default: 30,
    describe: "seconds a stopped sink (SIGTERM) keeps trying to store what it read; then it is spilled and the sink exits 0",
  },
  spill: {
    type: "string",
    describe: "file or FIFO that records still unstored at the end of the drain time are appended to, as they came (default: as generic_error bad rows on --bad)",
  },
  ...stdinStageOptions,
} as const;

function sinkCommand(
  name: string,
  preset: { index: string; describe: string } | null,
  examples: [command: string, description: string][],
): CommandModule<object, SinkArgs> {
  return {
    command: name,
    describe:
      preset?.describe ??
      "Store NDJSON records from stdin in Elasticsearch (--es) or SQLite (--db), in bulk, idempotently",
    builder: (yargs: Argv) => {
      const inputTopic = preset?.index === "good" ? DEFAULT_TOPICS.enriched : preset?.index === "bad" ? DEFAULT_TOPICS.bad : DEFAULT_TOPICS.logs;
      let built = yargs.options({
        ...storeOptions,
        ...kafkaConnectionOptions,
        ...kafkaConsumerOptions,
        ...kafkaInputTopicOption(inputTopic),
        ...(preset?.index === "good" ? kafkaEnrichedFormatOption : {}),
      });
      if (!preset) {
        built = built.option("index", {
          type: "string",
          describe:
            "index name; %Y %m %d %H are filled from each record's time (default: by record kind: good, bad, logs-%Y.%m.%d, raw, other)",
        });
      }
      return withExamples(built, examples) as unknown as Argv<SinkArgs>;
    },
    handler: (args) => runSinkStage(name, { ...args, index: preset?.index ?? args.index }),
  };
}

async function runSinkStage(stage: string, args: SinkArgs): Promise<void> {
  // Loaded here, not at the top, so other commands do not pay for the sink's modules at startup.
  const { runSink, StoreConfigError } = await import("../../stages/sink/sink");
  const io = args.kafka === undefined ? undefined : await sinkKafkaIO(stage, args);
  await runStdinStage(stage, args, async ({ input, bad, counters, signal, processor, acknowledge }) => {
    const notify = (message: string) => say(stage, message);
    const routing = await routingFor(args.index);
    const patterns = "fixed" in routing ? [routing.fixed] : [...new Set(Object.values(routing.byKind))];
    const spill = spillFile(args.spill);
    let store: Store;
    try {
      const opened = await openStore(args, patterns, notify, signal);
      if (!opened) return; // stopped while waiting for Elasticsearch: nothing was read, nothing to drain
      store = opened;
    } catch (error) {
      if (error instanceof StoreConfigError) throw new ConfigError(error.message);
      throw error;
    }
    notify(`storing into ${store.description}`);
    const totals = await runSink(
      input,
      store,
      {
        routing,
        batchDocuments: positive(args.batchDocs, "--batch-docs"),
        batchBytes: positive(args.batchBytes, "--batch-bytes"),
        batchMs: positive(args.batchMs, "--batch-ms"),
        concurrency: positive(args.concurrency, "--concurrency"),
        drainMs: nonNegative(args.drainTimeout, "--drain-timeout") * 1000,
      },
      {
        bad,
        processor,
        notify,
        onStored: (count) => (counters.out += count),
        onBad: (count) => (counters.bad += count),
        stop: signal,
        onProgress: acknowledge,
        spill: spill && ((lines) => spill.writeLines(lines.join("\n") + "\n", lines.length)),
      },
    );
    await store.close();
    spill?.close();
    let unstored = "";
    if (totals.unstored > 0) {
      const where = spill ? `appended to ${args.spill}` : "written as bad rows";
      unstored = `, ${totals.unstored} not stored within the drain time (${where})`;
    }
    notify(`stored ${countOf(totals.stored, "document")}, ${totals.rejected} refused (written as bad rows)${unstored}`);
  }, { io });
}

/** The sink's input from a topic: enriched TSV turned into the JSON it stores, bad rows and logs as they are. */
async function sinkKafkaIO(stage: string, args: SinkArgs): Promise<StageIO> {
  const { enrichedLine, plainLine } = await import("../../stages/kafka/formats");
  const toLine = args.kafkaEnrichedFormat === undefined ? plainLine : enrichedLine(args.kafkaEnrichedFormat);
  try {
    return await kafkaStageIO(stage, args, { input: { topic: args.kafkaInputTopic, toLine } });
  } catch (error) {
    if (error instanceof ConfigError) exitWithConfigError(stage, error.message);
    throw error;
  }
}

async function routingFor(index: string | undefined): Promise<Routing> {
  const { IndexPattern, routeByKind } = await import("../../stages/sink/document");
  if (index === undefined) return routeByKind();
  try {
    return { fixed: new IndexPattern(index) };
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

function spillFile(path: string | undefined): AppendFile | undefined {
  if (path === undefined) return undefined;
  const problem = appendProblem(path);
  if (problem !== null) throw new ConfigError(`unstored records cannot be written to ${path} (${problem}); choose another --spill PATH.`);
  return new AppendFile(path);
}

function nonNegative(value: number, flag: string): number {
  if (!(value >= 0)) throw new ConfigError(`${flag} must be a number of seconds, 0 or more`);
  return value;
}

function positive(value: number, flag: string): number {
  if (!(value > 0)) throw new ConfigError(`${flag} must be a number above 0`);
  return value;
}

async function openStore(
  args: SinkArgs,
  patterns: IndexPattern[],
  notify: (message: string) => void,
  signal: AbortSignal,
): Promise<Store | null> {
  if (args.es && args.templates) {
    try {
      replicaSettings(args.replicas);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  if (!args.es) {
    const { SqliteStore } = await import("../../stages/sink/sqlite");
    const store = new SqliteStore(args.db);
    store.prepareTables(patterns.map((pattern) => pattern.family));
    return store;
  }
  const { ElasticsearchHttp, ElasticsearchStore } = await import("../../stages/sink/elasticsearch");
  const http = new ElasticsearchHttp({
    urls: args.es.split(",").map((url) => url.trim()).filter(Boolean),
    username: args.esUser,
    password: args.esPassword,
    apiKey: args.esApiKey,
    caFile: args.esCa,
  });
  const store = new ElasticsearchStore(http);
  if (!(await store.waitUntilReachable(notify, signal))) {
    await store.close();
    return null;
  }
  if (args.templates) {
    const options = { flavour: store.engine!.flavour, replicas: args.replicas };
    await store.installTemplates(patterns.map((pattern) => indexTemplate(pattern, args.mapping ?? defaultMappingKind(pattern.family), options)));
  }
  return store;
}

export const sinkGood = sinkCommand(
  "sink-good",
  { index: "good", describe: 'Store enriched events from stdin in the "good" index (sink with --index good)' },
  [
    ["$0 collect | $0 enrich --bad bad.fifo | $0 sink-good --es http://127.0.0.1:9200", 'enriched events into the "good" index'],
    ["$0 replay archive/ | $0 enrich | $0 sink-good", `re-enriched archives into SQLite ${DEFAULT_DB_PATH}`],
  ],
);
export const sinkBad = sinkCommand(
  "sink-bad",
  { index: "bad", describe: 'Store bad rows from stdin in the "bad" index (sink with --index bad)' },
  [
    ["mkfifo bad.fifo; $0 sink-bad --es http://127.0.0.1:9200 < bad.fifo", 'bad rows the stages append to bad.fifo (their --bad) into the "bad" index'],
    ["$0 sink-bad < telemetry-bad.ndjson", `a file of bad rows into SQLite ${DEFAULT_DB_PATH}`],
  ],
);
export default sinkCommand("sink", null, [
  ["$0 logs-listen | $0 sink --index 'logs-%Y.%m.%d' --es http://127.0.0.1:9200", "logs into one index per day"],
  ["$0 replay archive/ | $0 sink", `raw records into SQLite ${DEFAULT_DB_PATH}`],
]);
