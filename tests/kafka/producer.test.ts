/**
 * The producer's batches on a real broker: one write far larger than --kafka-batch-bytes goes out as batches
 * within it, so a broker with its default message.max.bytes (1 MiB) takes them all; one batch of the whole
 * write would be refused on every retry and never acknowledged.
 */
import { describe, expect, test } from "bun:test";
import { plainMessage } from "../../stages/kafka/formats";
import { KafkaLineProducer } from "../../stages/kafka/producer";
import { kafkaUrl, newTopics } from "./harness";

const BATCH_BYTES = 256 * 1024;

describe("Kafka producer batches", () => {
  test("a 1.5 MB write to a one-partition topic goes as batches of at most --kafka-batch-bytes, all acknowledged", async () => {
    const broker = await kafkaUrl();
    const { raw: topic } = await newTopics(broker, 1);
    const producer = new KafkaLineProducer({ brokers: broker, clientId: "producer-test" }, plainMessage(), {
      topic,
      compression: "none",
      batchBytes: BATCH_BYTES,
      lingerMs: 5,
    });
    // What each send to the broker carried: messages and bytes (key and value, as the producer counts them).
    const sends: { messages: number; bytes: number }[] = [];
    const client = (producer as unknown as { producer: { send(options: { messages: { key: Buffer; value: Buffer }[] }): Promise<unknown> } }).producer;
    const send = client.send.bind(client);
    client.send = (options) => {
      sends.push({ messages: options.messages.length, bytes: options.messages.reduce((sum, { key, value }) => sum + key.length + value.length, 0) });
      return send(options);
    };
    try {
      const lines = Array.from({ length: 3000 }, (_, i) => `${i} ${"x".repeat(490)}`);
      const acknowledged = producer.writeLines(lines.join("\n") + "\n", lines.length).then(() => producer.written());
      const outcome = await Promise.race([acknowledged.then(() => "acknowledged"), Bun.sleep(60_000).then(() => "not acknowledged within 60 s")]);
      expect(outcome).toBe("acknowledged");
      expect(sends.reduce((sum, { messages }) => sum + messages, 0)).toBe(3000);
      expect(Math.max(...sends.map(({ bytes }) => bytes))).toBeLessThanOrEqual(BATCH_BYTES);
      expect(sends.length).toBeGreaterThanOrEqual(6);
    } finally {
      await Promise.race([producer.close(), Bun.sleep(5000)]);
    }
  }, 120_000);
});
