/**
 * The --kafka flags every stage shares and the wiring of a stage to Kafka topics (stages/kafka/ does the
 * work): connection, TLS and SASL, producer settings, consumer group. A stage on Kafka reads a topic
 * instead of stdin, writes a topic instead of stdout and, for enrich, bad rows to the bad topic; offsets
 * are committed for what it has handled, so `--acks` is not needed there.
 */
import { randomUUID } from "node:crypto";
import { BadRowFile } from "../stages/shared/bad-rows";
import { ConfigError } from "../stages/shared/config-error";
// Types only at the top: the Kafka client is loaded when --kafka is given, so pipes do not pay for it at startup.
import type { KafkaConnection, SaslMechanism } from "../stages/kafka/connection";
import type { ToLine, ToMessage } from "../stages/kafka/formats";
import type { Compression, KafkaLineProducer } from "../stages/kafka/producer";
import { parseByteSize } from "../stages/shared/byte-size";
import { say, type StageIO } from "./runtime";

/** Connection and producer flags: every stage that talks to Kafka. */
export const kafkaConnectionOptions = {
  kafka: { type: "string", describe: "Kafka brokers (host:port, several separated by commas): read and write topics instead of stdin/stdout" },
  "kafka-client-id": { type: "string", describe: "client id the brokers see (default telemetry-<stage>)" },
  "kafka-tls": { type: "boolean", default: false, describe: "connect to the brokers over TLS" },
  "kafka-tls-ca": { type: "string", describe: "PEM file of the CA that signed the brokers' certificates (implies --kafka-tls)" },
  "kafka-sasl-mechanism": { type: "string", choices: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], describe: "SASL authentication (with --kafka-sasl-username/-password)" },
  "kafka-sasl-username": { type: "string", describe: "SASL user name" },
  "kafka-sasl-password": { type: "string", describe: "SASL password (better: TELEMETRY_KAFKA_SASL_PASSWORD)" },
} as const;

export const kafkaProducerOptions = {
  "kafka-compression": { type: "string", choices: ["none", "gzip", "snappy", "lz4", "zstd"], default: "none", describe: "compression of produced batches" },
  "kafka-batch-bytes": {
    type: "string",
    default: "256KiB",
    describe: "bytes of messages gathered before a batch is sent (keep it under the brokers' message.max.bytes, 1MiB by default)",
  },
  "kafka-linger-ms": { type: "number", default: 5, describe: "milliseconds a partial batch waits for more messages" },
} as const;

export const kafkaConsumerOptions = {
  "kafka-group": { type: "string", describe: "consumer group: processes sharing one split the topic's partitions (default telemetry-<stage>)" },
  "kafka-start": { type: "string", choices: ["earliest", "latest"], default: "earliest", describe: "where a group with no committed offsets starts reading" },
  "kafka-session-timeout-ms": { type: "number", default: 10_000, describe: "how long the group waits for a silent member before giving its partitions to others" },
} as const;

/** --kafka-input-topic with the stage's default. */
export function kafkaInputTopicOption(defaultTopic: string) {
  return { "kafka-input-topic": { type: "string", default: defaultTopic, describe: "topic read with --kafka" } } as const;
}

/** --kafka-output-topic with the stage's default. */
export function kafkaOutputTopicOption(defaultTopic: string) {
  return { "kafka-output-topic": { type: "string", default: defaultTopic, describe: "topic written with --kafka" } } as const;
}

export const kafkaRawFormatOption = {
  "kafka-raw-format": {
    type: "string",
    choices: ["thrift", "json"],
    default: "thrift",
    describe: "raw records on Kafka: Snowplow's Thrift CollectorPayload (keyed by the record id), or our JSON lines",
  },
} as const;

export const kafkaEnrichedFormatOption = {
  "kafka-enriched-format": {
    type: "string",
    choices: ["tsv", "json"],
    default: "tsv",
    describe: "enriched events on Kafka: Snowplow's canonical TSV, or the Analytics-SDK JSON lines",
  },
} as const;

export interface KafkaArgs {
  kafka?: string;
  kafkaClientId?: string;
  kafkaTls: boolean;
  kafkaTlsCa?: string;
  kafkaSaslMechanism?: SaslMechanism;
  kafkaSaslUsername?: string;
  kafkaSaslPassword?: string;
  kafkaCompression?: Compression;
  kafkaBatchBytes?: string;
  kafkaLingerMs?: number;
  kafkaGroup?: string;
  kafkaStart?: "earliest" | "latest";
  kafkaSessionTimeoutMs?: number;
}

export function kafkaConnection(stage: string, args: KafkaArgs): KafkaConnection {
  if (args.kafkaSaslMechanism && (args.kafkaSaslUsername === undefined || args.kafkaSaslPassword === undefined)) {
    throw new ConfigError(`--kafka-sasl-mechanism ${args.kafkaSaslMechanism} needs --kafka-sasl-username and --kafka-sasl-password.`);
  }
  return {
    brokers: args.kafka!,
    clientId: args.kafkaClientId ?? `telemetry-${stage}-${randomUUID().slice(0, 8)}`,
    tls: args.kafkaTls,
    tlsCa: args.kafkaTlsCa,
    saslMechanism: args.kafkaSaslMechanism,
    saslUsername: args.kafkaSaslUsername,
    saslPassword: args.kafkaSaslPassword,
  };
}

/** A producer to `topic` with the stage's --kafka-* settings. */
export async function kafkaProducer(stage: string, args: KafkaArgs, connection: KafkaConnection, topic: string, toMessage: ToMessage): Promise<KafkaLineProducer> {
  const { KafkaLineProducer } = await import("../stages/kafka/producer");
  const batchBytes = parseByteSize(args.kafkaBatchBytes ?? "256KiB");
  if (batchBytes === undefined || batchBytes <= 0) throw new ConfigError(`--kafka-batch-bytes ${args.kafkaBatchBytes} is not a size like 256KiB`);
  const lingerMs = args.kafkaLingerMs ?? 5;
  if (!(lingerMs >= 0)) throw new ConfigError("--kafka-linger-ms must be 0 or more");
  return new KafkaLineProducer(connection, toMessage, {
    topic,
    compression: args.kafkaCompression ?? "none",
    batchBytes,
    lingerMs,
    warn: (message) => say(stage, message),
  });
}

/** Bad rows sent to a topic instead of appended to --bad: the same writes, acknowledged by the broker. */
class KafkaBadRows extends BadRowFile {
  constructor(readonly producer: KafkaLineProducer, topic: string) {
    super(`kafka:${topic}`);
  }

  override writeLines(text: string, count: number): Promise<void> {
    return this.producer.writeLines(text, count);
  }

  override close(): void {}
}

export interface KafkaStageTopics {
  input: { topic: string; toLine: ToLine };
  output?: { topic: string; toMessage: ToMessage };
  /** Bad rows to this topic (else to --bad). */
  bad?: { topic: string; toMessage: ToMessage };
}

/**
 * The StageIO of a stage that consumes `topics.input` as a member of its group and produces to the
 * output and bad topics. Checks at start that the brokers answer and that every topic exists.
 */
export async function kafkaStageIO(stage: string, args: KafkaArgs, topics: KafkaStageTopics): Promise<StageIO> {
  const [{ checkTopics }, { KafkaLineSource }] = await Promise.all([import("../stages/kafka/connection"), import("../stages/kafka/consumer")]);
  const connection = kafkaConnection(stage, args);
  const named = [topics.input.topic, topics.output?.topic, topics.bad?.topic].filter((topic): topic is string => topic !== undefined);
  await checkTopics(connection, [...new Set(named)]);
  const output = topics.output && (await kafkaProducer(stage, args, connection, topics.output.topic, topics.output.toMessage));
  const badProducer = topics.bad && (await kafkaProducer(stage, args, connection, topics.bad.topic, topics.bad.toMessage));
  const group = args.kafkaGroup ?? `telemetry-${stage}`;
  const source = new KafkaLineSource(
    connection,
    {
      topic: topics.input.topic,
      group,
      start: args.kafkaStart ?? "earliest",
      toLine: topics.input.toLine,
      sessionTimeoutMs: args.kafkaSessionTimeoutMs,
      warn: (message) => say(stage, message),
    },
    async () => {
      await Promise.all([output?.written(), badProducer?.written()]);
    },
  );
  say(stage, `reading Kafka topic ${topics.input.topic} in group ${group}${output ? `, writing ${topics.output!.topic}` : ""}${badProducer ? `, bad rows to ${topics.bad!.topic}` : ""} (${connection.brokers})`);
  return {
    name: "--kafka",
    input: (stop) => source.chunks(stop),
    output,
    bad: badProducer && new KafkaBadRows(badProducer, topics.bad!.topic),
    handled: (line) => source.handled(line),
    async close() {
      await source.close();
      await output?.close();
      await badProducer?.close();
    },
  };
}
