/**
 * A stage's output to a Kafka topic, in place of stdout: lines are turned into messages, gathered into
 * batches (`batchBytes`, or after `lingerMs`), and sent with acks=all by an idempotent producer.
 *
 * `written()` resolves once the broker has acknowledged every line given so far: a consumer stage commits
 * its input offsets only after that (see consumer.ts), which is how nothing is lost when a stage dies.
 * Backpressure: at most `maxInFlight` batches are sent at once and a full batch waits for room, so a slow
 * or absent broker slows the stage instead of growing a queue. A broker that goes away is waited for, with
 * a growing pause between tries, and said on stderr once; the lines are sent when it is back.
 */
import { Producer, compatibilityPartitioner, type CompressionAlgorithmValue } from "@platformatic/kafka";
import { clientOptions, describeKafkaError, type KafkaConnection } from "./connection";
import type { OutgoingMessage, ToMessage } from "./formats";

export type Compression = CompressionAlgorithmValue;

export interface ProducerSettings {
  topic: string;
  compression: Compression;
  /** Bytes of messages gathered before a batch is sent. */
  batchBytes: number;
  /** How long a partial batch waits for more lines. */
  lingerMs: number;
  maxInFlight?: number;
  /** Told once when sends start failing and once when they succeed again. */
  warn?: (message: string) => void;
}

const MAX_BACKOFF_MS = 10_000;

export class KafkaLineProducer {
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private batch: OutgoingMessage[] = [];
  private batchSize = 0;
  /** Batches that reached batchBytes and wait for room to be sent, oldest first. */
  private readonly full: OutgoingMessage[][] = [];
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private failing = false;
  private closedForGood = false;
  /** Never resolves: a Kafka topic does not go away like a pipe's reader (kept for the LineWriter shape). */
  readonly closed: Promise<void> = new Promise(() => {});
  linesWritten = 0;

  constructor(
    connection: KafkaConnection,
    private readonly toMessage: ToMessage,
    private readonly settings: ProducerSettings,
  ) {
    this.producer = new Producer({
      ...clientOptions(connection),
      acks: -1,
      idempotent: true,
      compression: settings.compression,
      // Java's key hashing (murmur2), so a key lands on the partition a Java producer would pick.
      partitioner: compatibilityPartitioner,
    });
  }

  get isBlocked(): boolean {
    return this.inFlight.size >= (this.settings.maxInFlight ?? 4);
  }

  writeLine(line: string): Promise<void> {
    return this.add([line]);
  }

  writeRecord(record: unknown): Promise<void> {
    return this.writeLine(JSON.stringify(record));
  }

  /** `count` lines already joined, each ending in "\n" (the LineSink shape enrich writes through). */
  writeLines(text: string, _count: number): Promise<void> {
    const lines = text.split("\n");
    lines.pop();
    return this.add(lines);
  }

  private async add(lines: string[]): Promise<void> {
    if (this.closedForGood) throw new Error("the Kafka producer is closed");
    for (const line of lines) {
      if (line === "") continue;
      const message = this.toMessage(line);
      const size = message.value.length + message.key.length;
      // A batch stays within batchBytes (a larger message goes alone): the brokers refuse a batch above their
      // message.max.bytes on every retry. Set aside here, at once, so every line given is in a batch.
      if (this.batch.length > 0 && this.batchSize + size > this.settings.batchBytes) {
        this.full.push(this.batch);
        this.batch = [];
        this.batchSize = 0;
      }
      this.batch.push(message);
      this.batchSize += size;
      this.linesWritten++;
    }
    if (this.full.length > 0 || this.batchSize >= this.settings.batchBytes) await this.sendBatch();
    else this.lingerTimer ??= setTimeout(() => void this.sendBatch(), this.settings.lingerMs);
  }

  /** Sends what is gathered, the full batches first; waits before each while too many batches are in flight. */
  private async sendBatch(): Promise<void> {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    for (;;) {
      while (this.isBlocked) await Promise.race(this.inFlight);
      let batch = this.full.shift();
      if (batch === undefined) {
        if (this.batch.length === 0) return;
        batch = this.batch;
        this.batch = [];
        this.batchSize = 0;
      }
      // Taken and put in flight in one step, so a concurrent written() sees it in flight.
      const messages = batch.map(({ key, value }) => ({ topic: this.settings.topic, key, value }));
      const sending = this.sendUntilAcknowledged(messages).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  private async sendUntilAcknowledged(messages: { topic: string; key: Buffer; value: Buffer }[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.producer.send({ messages });
        if (this.failing) {
          this.failing = false;
          this.settings.warn?.(`Kafka takes messages again on ${this.settings.topic}`);
        }
        return;
      } catch (error) {
        if (this.closedForGood) throw error;
        if (!this.failing) {
          this.failing = true;
          this.settings.warn?.(`cannot send to Kafka topic ${this.settings.topic} (${describeKafkaError(error)}); retrying with backoff, input waits`);
        }
        await Bun.sleep(Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  async flush(): Promise<void> {
    await this.sendBatch();
  }

  /**
   * Resolves once the broker has acknowledged every line given so far. It waits for the batches in flight
   * now, not for the set to empty: under a steady load batches sent after the call keep it from ever being
   * empty, and a consumer waiting here would never commit its offsets.
   */
  async written(): Promise<void> {
    // Every line given before this call is now in a batch in flight (this call's or a concurrent sendBatch's).
    await this.sendBatch();
    await Promise.all([...this.inFlight]);
  }

  async end(): Promise<void> {
    await this.written();
  }

  async close(): Promise<void> {
    await this.written();
    this.closedForGood = true;
    await this.producer.close().catch(() => {});
  }
}
