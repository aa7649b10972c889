/**
 * `telemetry up`: the whole pipeline on one box, supervised (stages/supervise). This file turns the flags
 * (each also TELEMETRY_<FLAG> or a --config file: the one place for every setting of `make up`) into an
 * UpConfig, starts the supervisor, and stops it on SIGTERM or Ctrl-C.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseByteSize } from "../../stages/shared/byte-size";
import { parseDurationSeconds } from "../../stages/shared/duration";
import { ConfigError } from "../../stages/shared/config-error";
import { shippedPath } from "../../stages/shared/shipped-files";
import { DEFAULT_PARTITIONS, DEFAULT_TOPICS } from "../../stages/kafka/topics";
import type { KafkaTopology } from "../../stages/supervise/pipeline";
import { portOption, withExamples } from "../command";
import { exitWithConfigError, say } from "../runtime";

const STAGE = "up";

const options = {
  data: { type: "string", default: "data", describe: "folder for the SQLite store, the archive, the stage logs and the run state" },
  db: { type: "string", describe: "SQLite file (default <data>/telemetry.db); not used with --es" },
  es: { type: "string", describe: "store into Elasticsearch at this URL (or several, comma-separated) instead of SQLite" },
  "collect-host": { type: "string", default: "127.0.0.1", describe: "address the collector listens on (0.0.0.0 for trackers on other machines)" },
  "collect-port": portOption("collect-port", { default: 8000, describe: "the collector's HTTP port" }),
  "logs-host": { type: "string", default: "127.0.0.1", describe: "address logs-listen listens on" },
  "logs-port": portOption("logs-port", { default: 9600, describe: "logs-listen's TCP port" }),
  "iglu-port": portOption("iglu-port", { default: 8081, describe: "iglu serve's port (loopback); enrich resolves schemas through it" }),
  "dashboard-port": portOption("dashboard-port", { default: 5601, describe: "the dashboard's port (loopback); 0: no dashboard" }),
  enrichments: { type: "string", describe: "folder of Snowplow enrichment configs (default: the Snowplow Mini set)" },
  archive: { type: "string", describe: "folder of the collector's archive of raw records (default <data>/archive)" },
  "archive-segment-bytes": { type: "string", default: "64MiB", describe: "size at which an archive segment is finished" },
  "archive-max-bytes": { type: "string", default: "10GiB", describe: "archive size above which the oldest segments are removed" },
  "archive-max-age": { type: "string", default: "7d", describe: "age (e.g. 12h, 7d) past which archive segments are removed" },
  "collect-queue-size": { type: "string", default: "32MiB", describe: "the collector's queue (records, or bytes like 32MiB); when full, trackers get 503" },
  "sink-batch-ms": { type: "number", default: 250, describe: "each sink stores a partial batch after this many ms (the sinks' --batch-ms): the most a quiet pipeline adds to an event's way to the store" },
  "drain-timeout": { type: "number", default: 10, describe: "seconds a stopping stage gets to finish before it is asked to stop, and again before it is killed" },
  "hold-bytes": { type: "string", default: "64MiB", describe: "unacknowledged lines each hop holds before it stops reading the stages writing it" },
  "restart-max-delay": { type: "number", default: 30, describe: "longest wait, in seconds, before a stage that keeps exiting is started again" },
  kafka: { type: "string", describe: "Kafka brokers (host:port, several separated by commas): collect, enrich, sink-good and sink-bad talk to topics instead of pipes" },
  "kafka-raw-topic": { type: "string", default: DEFAULT_TOPICS.raw, describe: "with --kafka: the topic of raw records, collect → enrich" },
  "kafka-enriched-topic": { type: "string", default: DEFAULT_TOPICS.enriched, describe: "with --kafka: the topic of enriched events, enrich → sink-good" },
  "kafka-bad-topic": { type: "string", default: DEFAULT_TOPICS.bad, describe: "with --kafka: the topic of enrich's bad rows, enrich → sink-bad" },
  "kafka-group-prefix": { type: "string", default: "telemetry-", describe: "with --kafka: each consumer's group is this and the stage's name (telemetry-enrich, telemetry-sink-good, telemetry-sink-bad)" },
  "kafka-partitions": { type: "number", default: DEFAULT_PARTITIONS, describe: "with --kafka: partitions of the topics created at start when missing" },
} as const;

type UpArgs = ArgumentsCamelCase<{
  data: string;
  db?: string;
  es?: string;
  collectHost: string;
  collectPort: number;
  logsHost: string;
  logsPort: number;
  igluPort: number;
  dashboardPort: number;
  enrichments?: string;
  archive?: string;
  archiveSegmentBytes: string;
  archiveMaxBytes: string;
  archiveMaxAge: string;
  collectQueueSize: string;
  sinkBatchMs: number;
  drainTimeout: number;
  holdBytes: string;
  restartMaxDelay: number;
  kafka?: string;
  kafkaRawTopic: string;
  kafkaEnrichedTopic: string;
  kafkaBadTopic: string;
  kafkaGroupPrefix: string;
  kafkaPartitions: number;
}>;

/** How this process runs `telemetry` again: the single executable itself, or Bun with cli/main.ts. */
function telemetryCommand(): string[] {
  const compiled = import.meta.path.startsWith("/$bunfs/");
  return compiled ? [process.execPath] : [process.execPath, join(import.meta.dir, "../main.ts")];
}

function bytes(text: string, flag: string): number {
  const value = parseByteSize(text);
  if (value === undefined) throw new ConfigError(`--${flag} ${text} is not a size like 64MiB`);
  return value;
}

/**
 * The stages' environment: this one without the TELEMETRY_* variables. Every setting reaches a stage as a
 * flag; a variable left in would reach every stage that has the flag, e.g. TELEMETRY_KAFKA would switch
 * sink-logs and sink-pii to Kafka topics nothing writes.
 */
export function stageEnvironment(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("TELEMETRY_")));
}

/** The raw, enriched and bad topics, created when missing (as `telemetry kafka-topics` does); an unreachable broker is a ConfigError. */
async function createKafkaTopics(kafka: KafkaTopology): Promise<void> {
  const { createTopics } = await import("../../stages/kafka/connection");
  const topics = [kafka.topics.raw, kafka.topics.enriched, kafka.topics.bad];
  const created = await createTopics({ brokers: kafka.brokers, clientId: "telemetry-up" }, topics, kafka.partitions, 1);
  say(STAGE, `Kafka at ${kafka.brokers}: ${created.length === 0 ? `topics ${topics.join(", ")} exist` : `created ${created.join(", ")} (${kafka.partitions} partitions each)`}`);
}

async function run(args: UpArgs): Promise<void> {
  const [{ Supervisor }, { pipelineStages, storeDescription }, { DEFAULT_RESTART_POLICY }, { readStatus, isStale }] = await Promise.all([
    import("../../stages/supervise/supervisor"),
    import("../../stages/supervise/pipeline"),
    import("../../stages/supervise/restart-policy"),
    import("../../stages/supervise/status"),
  ]);
  try {
    bytes(args.archiveMaxBytes, "archive-max-bytes");
    if (parseDurationSeconds(args.archiveMaxAge) === undefined) throw new ConfigError(`--archive-max-age ${args.archiveMaxAge} is not a duration like 7d or 12h`);
    if (!(args.sinkBatchMs > 0)) throw new ConfigError("--sink-batch-ms must be a number of milliseconds above 0");
    if (!(args.drainTimeout > 0)) throw new ConfigError("--drain-timeout must be a number of seconds above 0");
    if (!(args.restartMaxDelay > 0)) throw new ConfigError("--restart-max-delay must be a number of seconds above 0");
    if (!(Number.isInteger(args.kafkaPartitions) && args.kafkaPartitions > 0)) throw new ConfigError("--kafka-partitions must be a whole number above 0");
    const kafka: KafkaTopology | undefined =
      args.kafka === undefined
        ? undefined
        : {
            brokers: args.kafka,
            topics: { raw: args.kafkaRawTopic, enriched: args.kafkaEnrichedTopic, bad: args.kafkaBadTopic },
            groupPrefix: args.kafkaGroupPrefix,
            partitions: args.kafkaPartitions,
          };
    const config = {
      data: args.data,
      es: args.es,
      db: args.db ?? join(args.data, "telemetry.db"),
      collectHost: args.collectHost,
      collectPort: args.collectPort,
      logsHost: args.logsHost,
      logsPort: args.logsPort,
      igluPort: args.igluPort,
      dashboardPort: args.dashboardPort,
      enrichments: args.enrichments,
      schemas: shippedPath("schemas"),
      archive: args.archive ?? join(args.data, "archive"),
      archiveSegmentBytes: bytes(args.archiveSegmentBytes, "archive-segment-bytes"),
      archiveMaxBytes: args.archiveMaxBytes,
      archiveMaxAge: args.archiveMaxAge,
      collectQueueSize: args.collectQueueSize,
      sinkBatchMs: args.sinkBatchMs,
      drainSeconds: args.drainTimeout,
      holdBytes: bytes(args.holdBytes, "hold-bytes"),
      restart: { ...DEFAULT_RESTART_POLICY, maxDelayMs: args.restartMaxDelay * 1000 },
      kafka,
    };
    const previous = readStatus(config);
    if (previous && previous.state !== "stopped" && !isStale(previous)) {
      throw new ConfigError(`telemetry up already runs with --data ${args.data} (pid ${previous.pid}); \`make down\` stops it`);
    }
    if (previous && isStale(previous)) {
      say(STAGE, `the last run (pid ${previous.pid}) did not stop cleanly: records in flight then may be missing; \`telemetry replay ${config.archive}\` sends the archive again`);
    }
    mkdirSync(join(args.data, "run"), { recursive: true });
    if (kafka) await createKafkaTopics(kafka);
    const supervisor = new Supervisor({
      config,
      stages: pipelineStages(config),
      // Each stage in a session of its own, so a terminal's Ctrl-C reaches only the supervisor, which stops them
      // in order; and told SIGTERM (drain and exit) should the supervisor die without stopping them.
      telemetry: ["setsid", "setpriv", "--pdeathsig", "TERM", ...telemetryCommand()],
      env: stageEnvironment(process.env),
      say: (line) => say(STAGE, line),
    });
    const pidFile = join(args.data, "run", "up.pid");
    writeFileSync(pidFile, `${process.pid}\n`);
    await supervisor.start();
    const loopbackOnly = config.collectHost === "127.0.0.1" || config.logsHost === "127.0.0.1";
    say(
      STAGE,
      `collector on http://${config.collectHost}:${config.collectPort}, logs on tcp://${config.logsHost}:${config.logsPort}, Iglu on http://127.0.0.1:${config.igluPort}` +
        (loopbackOnly ? " (127.0.0.1: this machine only; --collect-host 0.0.0.0 and --logs-host 0.0.0.0 let other machines in)" : ""),
    );
    if (config.dashboardPort > 0) say(STAGE, `dashboard on http://127.0.0.1:${config.dashboardPort}`);
    say(STAGE, `storing into ${storeDescription(config)}; archive in ${config.archive}; stage logs in ${args.data}/*.log; \`make status\` for numbers; Ctrl-C or \`make down\` to stop`);
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await supervisor.stop();
      rmSync(pidFile, { force: true });
      say(STAGE, "stopped");
      process.exit(0);
    };
    process.on("SIGTERM", () => void stop());
    process.on("SIGINT", () => void stop());
    // The supervisor holds every line in flight: a mistake of its own is reported, not a reason to drop them all.
    process.on("unhandledRejection", (reason) => say(STAGE, `internal error (still running): ${(reason as Error)?.stack ?? reason}`));
  } catch (error) {
    if (error instanceof ConfigError) exitWithConfigError(STAGE, error.message);
    throw error;
  }
}

const command: CommandModule<object, UpArgs> = {
  command: "up",
  describe: "Run the whole pipeline on this box, supervised: collect, enrich, the sinks, logs-listen, iglu serve, the dashboard",
  builder: (yargs: Argv) =>
    withExamples(yargs.options(options), [
      ["telemetry up", "the pipeline on SQLite data/telemetry.db, collector on :8000, logs on :9600"],
      ["TELEMETRY_ES=http://127.0.0.1:9200 telemetry up --collect-host 0.0.0.0", "into Elasticsearch, trackers from anywhere"],
      ["telemetry up --config telemetry.json", "every setting from one file (the flags' names as keys)"],
      ["telemetry up --kafka 127.0.0.1:9092", "collect, enrich, sink-good and sink-bad over Kafka topics (created if missing)"],
    ]) as unknown as Argv<UpArgs>,
  handler: run,
};

export default command;
