/**
 * How a stage reaches Kafka: the brokers, TLS and SASL, and the start-up check that turns an unreachable
 * broker or a missing topic into one sentence (a ConfigError, exit 2) instead of endless retries.
 */
import { readFileSync } from "node:fs";
import { Admin, type BaseOptions, type SASLOptions } from "@platformatic/kafka";
import { ConfigError } from "../shared/config-error";

export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";

export interface KafkaConnection {
  /** host:port, several separated by commas. */
  brokers: string;
  clientId: string;
  tls?: boolean;
  /** PEM file of the CA that signed the brokers' certificates (implies TLS). */
  tlsCa?: string;
  saslMechanism?: SaslMechanism;
  saslUsername?: string;
  saslPassword?: string;
}

export function brokerList(brokers: string): string[] {
  return brokers.split(",").map((broker) => broker.trim()).filter((broker) => broker !== "");
}

/** The client options every producer, consumer and admin of a stage shares. */
export function clientOptions(connection: KafkaConnection): BaseOptions {
  const options: BaseOptions = {
    clientId: connection.clientId,
    bootstrapBrokers: brokerList(connection.brokers),
    connectTimeout: 5000,
    // Our own loops wait and retry when the broker goes away; the client's retries only bridge a blip.
    retries: 3,
    retryDelay: 500,
  };
  if (connection.tls || connection.tlsCa !== undefined) {
    options.tls = connection.tlsCa === undefined ? {} : { ca: readFileSync(connection.tlsCa) };
  }
  if (connection.saslMechanism !== undefined) {
    const sasl: SASLOptions = { mechanism: connection.saslMechanism, username: connection.saslUsername, password: connection.saslPassword };
    options.sasl = sasl;
  }
  return options;
}

/** Why a broker refused or failed, in a few words: the client nests the cause. */
export function describeKafkaError(error: unknown): string {
  let cause = error as { message?: string; errors?: unknown[]; cause?: unknown } | undefined;
  const seen = new Set<unknown>();
  while (cause && !seen.has(cause)) {
    seen.add(cause);
    const inner = (cause.errors?.[0] ?? cause.cause) as typeof cause;
    if (!inner) break;
    cause = inner;
  }
  return (cause?.message ?? String(error)).replace(/\s+/g, " ").trim();
}

/**
 * Checks at start that the brokers answer and that every topic exists; a ConfigError naming the first
 * problem otherwise. Returns each topic's partition count.
 */
export async function checkTopics(connection: KafkaConnection, topics: string[]): Promise<Map<string, number>> {
  const admin = new Admin({ ...clientOptions(connection), retries: 1 });
  try {
    let metadata;
    try {
      metadata = await admin.metadata({ topics: [] });
    } catch (error) {
      throw new ConfigError(`cannot reach the Kafka broker at ${connection.brokers} (${describeKafkaError(error)}); is it running (make kafka)?`);
    }
    const partitions = new Map<string, number>();
    for (const topic of topics) {
      try {
        metadata = await admin.metadata({ topics: [topic] });
      } catch (error) {
        throw new ConfigError(
          `the Kafka topic ${topic} does not exist on ${connection.brokers} (${describeKafkaError(error)}); create it with \`telemetry kafka-topics --kafka ${connection.brokers}\`.`,
        );
      }
      partitions.set(topic, metadata.topics.get(topic)?.partitionsCount ?? 0);
    }
    return partitions;
  } finally {
    await admin.close().catch(() => {});
  }
}

/** Creates the topics that do not exist yet; returns the names it created. */
export async function createTopics(connection: KafkaConnection, topics: string[], partitions: number, replicas: number): Promise<string[]> {
  const admin = new Admin(clientOptions(connection));
  try {
    let existing: Set<string>;
    try {
      existing = new Set(await admin.listTopics());
    } catch (error) {
      throw new ConfigError(`cannot reach the Kafka broker at ${connection.brokers} (${describeKafkaError(error)}); is it running (make kafka)?`);
    }
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) await admin.createTopics({ topics: missing, partitions, replicas });
    return missing;
  } finally {
    await admin.close().catch(() => {});
  }
}
