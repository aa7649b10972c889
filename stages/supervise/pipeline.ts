/**
 * What `telemetry up` runs: the stages of the pipeline on one box, each as a `telemetry` command, and the
 * hops between them (DESIGN.md's topology). Every setting comes from one UpConfig (the `up` command's
 * flags, TELEMETRY_* variables or a --config file), and every stage gets it as explicit flags.
 *
 *   trackers ─HTTP─▶ collect ─raw─▶ enrich ─good─▶ sink-good
 *                                     └──pii──▶ sink-pii
 *   apps ─TCP─▶ logs-listen ─logs─▶ sink-logs
 *   every stage's bad rows ─bad─▶ sink-bad ─▶ (what the store refuses of those) data/sink-bad.failed.ndjson
 *   iglu serve, dashboard: services, no pipes
 *
 * With Kafka (UpConfig.kafka), collect, enrich, sink-good and a second sink-bad talk to topics instead:
 *
 *   trackers ─HTTP─▶ collect ─▶ raw topic ─▶ enrich ─▶ enriched topic ─▶ sink-good
 *                                              └────▶ bad topic ─▶ sink-bad
 *   the pipe stages' bad rows (collect's own, the sinks', logs-listen's) ─bad─▶ sink-bad-pipes
 *
 * The broker then holds what the supervisor's hops hold on pipes: a Kafka stage commits its offsets only
 * for what its output acknowledged, so it gets no --acks and no --spill; the supervisor still starts
 * again whatever exits.
 */
import { join } from "node:path";
import type { RestartPolicy } from "./restart-policy";

export type HopName = "raw" | "good" | "pii" | "bad" | "logs";
export const HOP_NAMES: readonly HopName[] = ["raw", "good", "pii", "bad", "logs"];

export interface UpConfig {
  /** Folder for the SQLite store, the archive, the logs and the run state (data/run). */
  data: string;
  /** Elasticsearch URL(s); without, SQLite `db`. */
  es?: string;
  db: string;
  collectHost: string;
  collectPort: number;
  logsHost: string;
  logsPort: number;
  igluPort: number;
  /** 0: no dashboard. */
  dashboardPort: number;
  enrichments?: string;
  /** The Iglu registry folder iglu serve publishes. */
  schemas: string;
  archive: string;
  archiveSegmentBytes: number;
  archiveMaxBytes: string;
  archiveMaxAge: string;
  /** The collector's --queue-size. */
  collectQueueSize: string;
  /** The sinks' --batch-ms: a partial batch is stored after this long. */
  sinkBatchMs: number;
  /** Seconds a stopping stage gets to finish before it is asked again (SIGTERM) and then killed. */
  drainSeconds: number;
  /** Bytes of unacknowledged lines each hop holds before it stops reading its writers. */
  holdBytes: number;
  restart: RestartPolicy;
  /** Collect, enrich, sink-good and sink-bad on Kafka instead of pipes. */
  kafka?: KafkaTopology;
}

export interface KafkaTopology {
  /** host:port, several separated by commas. */
  brokers: string;
  topics: { raw: string; enriched: string; bad: string };
  /** Each consumer's group is this followed by the stage's name (telemetry-enrich…). */
  groupPrefix: string;
  /** Partitions of the topics `telemetry up` creates when they are missing. */
  partitions: number;
}

export type StageKind = "source" | "stage" | "service";

export interface StageSpec {
  name: string;
  kind: StageKind;
  /** `telemetry` arguments, without the channel flags the supervisor adds. */
  args: string[];
  /** The hop it reads on stdin. */
  input?: HopName;
  /** The hop its stdout goes to. */
  stdout?: HopName;
  /** Where its bad rows go: a hop, or a file of its own. */
  bad?: HopName | { file: string };
  /** The hop its `--pii` events go to. */
  pii?: HopName;
  /** A sink: spills on a stop (`--spill`) into the hop's pending folder, and is stopped with its drain time. */
  sink?: boolean;
  /** The folder where it archives what it writes on stdout before writing it (collect --archive). */
  archive?: string;
  /** It reads or writes Kafka topics: the broker holds its input, so no --acks and no --spill. */
  kafka?: boolean;
}

export function runDir(config: Pick<UpConfig, "data">): string {
  return join(config.data, "run");
}

export function logPath(config: Pick<UpConfig, "data">, stage: string): string {
  return join(config.data, `${stage}.log`);
}

export function storeArgs(config: Pick<UpConfig, "es" | "db">): string[] {
  return config.es ? ["--es", config.es] : ["--db", config.db];
}

export function storeDescription(config: Pick<UpConfig, "es" | "db">): string {
  return config.es ? `Elasticsearch at ${config.es}` : `SQLite ${config.db}`;
}

/** The stages in the order they start: services and stores' readers first, so nothing waits on a missing reader. */
export function pipelineStages(config: UpConfig): StageSpec[] {
  const store = storeArgs(config);
  // Every sink gets the drain time and the batch interval.
  const sinkFlags = ["--drain-timeout", String(config.drainSeconds), "--batch-ms", String(config.sinkBatchMs)];
  const stages: StageSpec[] = [
    {
      name: "iglu",
      kind: "service",
      args: ["iglu", "serve", "--host", "127.0.0.1", "--port", String(config.igluPort), "--dir", config.schemas,
        "--state", join(config.data, "iglu-server.json")],
    },
  ];
  if (config.dashboardPort > 0) {
    stages.push({ name: "dashboard", kind: "service", args: ["dashboard", "--host", "127.0.0.1", "--port", String(config.dashboardPort), ...store] });
  }
  const enrichArgs = ["enrich", ...(config.enrichments ? ["--enrichments", config.enrichments] : []), "--iglu", `http://127.0.0.1:${config.igluPort}/api`];
  const collectArgs = ["collect", "--host", config.collectHost, "--port", String(config.collectPort), "--queue-size", config.collectQueueSize,
    "--archive", config.archive, "--archive-segment-bytes", String(config.archiveSegmentBytes),
    "--archive-max-bytes", config.archiveMaxBytes, "--archive-max-age", config.archiveMaxAge];
  const kafka = config.kafka;
  if (kafka) {
    const brokers = ["--kafka", kafka.brokers];
    const group = (stage: string) => ["--kafka-group", `${kafka.groupPrefix}${stage}`];
    stages.push(
      { name: "sink-bad-pipes", kind: "stage", args: ["sink-bad", ...store, ...sinkFlags], input: "bad", bad: { file: join(config.data, "sink-bad-pipes.failed.ndjson") }, sink: true },
      {
        name: "sink-bad",
        kind: "stage",
        args: ["sink-bad", ...store, ...sinkFlags, ...brokers, "--kafka-input-topic", kafka.topics.bad, ...group("sink-bad")],
        bad: { file: join(config.data, "sink-bad.failed.ndjson") },
        sink: true,
        kafka: true,
      },
      {
        name: "sink-good",
        kind: "stage",
        args: ["sink-good", ...store, ...sinkFlags, ...brokers, "--kafka-input-topic", kafka.topics.enriched, ...group("sink-good")],
        bad: "bad",
        sink: true,
        kafka: true,
      },
      { name: "sink-pii", kind: "stage", args: ["sink", "--index", "pii", "--mapping", "good", ...store, ...sinkFlags], input: "pii", bad: "bad", sink: true },
      { name: "sink-logs", kind: "stage", args: ["sink", "--index", "logs-%Y.%m.%d", ...store, ...sinkFlags], input: "logs", bad: "bad", sink: true },
      {
        name: "enrich",
        kind: "stage",
        // Its bad rows go to the bad topic (enrich --kafka writes them there instead of --bad).
        args: [...enrichArgs, ...brokers, "--kafka-input-topic", kafka.topics.raw, "--kafka-output-topic", kafka.topics.enriched,
          "--kafka-bad-topic", kafka.topics.bad, ...group("enrich")],
        pii: "pii",
        kafka: true,
      },
      // Its archive stays (telemetry replay), but the supervisor cannot tell what a killed collector had not produced.
      { name: "collect", kind: "source", args: [...collectArgs, ...brokers, "--kafka-output-topic", kafka.topics.raw], bad: "bad", kafka: true },
    );
  } else {
    stages.push(
      { name: "sink-bad", kind: "stage", args: ["sink-bad", ...store, ...sinkFlags], input: "bad", bad: { file: join(config.data, "sink-bad.failed.ndjson") }, sink: true },
      { name: "sink-good", kind: "stage", args: ["sink-good", ...store, ...sinkFlags], input: "good", bad: "bad", sink: true },
      { name: "sink-pii", kind: "stage", args: ["sink", "--index", "pii", "--mapping", "good", ...store, ...sinkFlags], input: "pii", bad: "bad", sink: true },
      { name: "sink-logs", kind: "stage", args: ["sink", "--index", "logs-%Y.%m.%d", ...store, ...sinkFlags], input: "logs", bad: "bad", sink: true },
      { name: "enrich", kind: "stage", args: enrichArgs, input: "raw", stdout: "good", bad: "bad", pii: "pii" },
      { name: "collect", kind: "source", args: collectArgs, stdout: "raw", bad: "bad", archive: config.archive },
    );
  }
  stages.push({ name: "logs-listen", kind: "source", args: ["logs-listen", "--host", config.logsHost, "--port", String(config.logsPort)], stdout: "logs", bad: "bad" });
  return stages;
}
