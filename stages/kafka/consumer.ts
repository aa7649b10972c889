/**
 * A stage's input from a Kafka topic, in place of stdin, as a member of a consumer group: the messages read
 * become NDJSON chunks (one line per message, see formats.ts) for the stage's usual line reader, and
 * offsets are committed only for lines the stage has handled for good (`handled(N)`, the same signal
 * `--acks` gives), after its own output has acknowledged them. A stage killed at any moment therefore
 * loses nothing: its partitions go to another member (or to it when it comes back), which reads again
 * from the last commit; what is read twice carries the same ids, so the store keeps it once.
 *
 * When the broker goes away the group's stream fails; it is opened again with a growing pause, said once
 * on stderr, from the committed offsets.
 */
import { Consumer, type Message, type MessagesStream } from "@platformatic/kafka";
import { clientOptions, describeKafkaError, type KafkaConnection } from "./connection";
import type { ToLine } from "./formats";

type KafkaMessage = Message<Buffer, Buffer, Buffer, Buffer>;
type Stream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

export interface ConsumerSettings {
  topic: string;
  group: string;
  /** Where a group without committed offsets starts: the topic's oldest message, or only new ones. */
  start: "earliest" | "latest";
  toLine: ToLine;
  /** Messages joined into one chunk at most (the stage handles a chunk as one batch). */
  maxChunkMessages?: number;
  /** Milliseconds without a heartbeat after which the group gives a dead member's partitions to others. */
  sessionTimeoutMs?: number;
  warn?: (message: string) => void;
}

const MAX_BACKOFF_MS = 10_000;

export class KafkaLineSource {
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private stream: Stream | null = null;
  /** Messages handed on and not yet acknowledged, in line order: unacknowledged[0] is line `firstLine`. */
  private unacknowledged: KafkaMessage[] = [];
  private firstLine = 1;
  private acknowledgedLine = 0;
  private committing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    connection: KafkaConnection,
    private readonly settings: ConsumerSettings,
    /** Resolves once every output of the lines handled so far is acknowledged downstream. */
    private readonly outputWritten: () => Promise<void>,
  ) {
    const sessionTimeout = settings.sessionTimeoutMs ?? 10_000;
    this.consumer = new Consumer({
      ...clientOptions(connection),
      groupId: settings.group,
      sessionTimeout,
      heartbeatInterval: Math.max(250, Math.floor(sessionTimeout / 5)),
      rebalanceTimeout: 30_000,
      maxWaitTime: 200,
      autocommit: false,
    });
  }

  private async open(): Promise<Stream> {
    return this.consumer.consume({
      topics: [this.settings.topic],
      mode: "committed",
      fallbackMode: this.settings.start,
      autocommit: false,
    });
  }

  /**
   * The topic's messages as NDJSON chunks until `stop` is aborted. The stream runs in flowing mode into a
   * small queue and is paused while the queue is full (its paused-mode `read()` was seen to stall under load).
   */
  async *chunks(stop: AbortSignal): AsyncGenerator<Uint8Array> {
    const maxMessages = this.settings.maxChunkMessages ?? 500;
    const maxQueued = maxMessages * 4;
    let failures = 0;
    let queue: KafkaMessage[] = [];
    let wake: (() => void) | null = null;
    const wakeUp = () => {
      const waiting = wake;
      wake = null;
      waiting?.();
    };
    stop.addEventListener("abort", wakeUp);
    try {
      while (!stop.aborted) {
        if (this.stream === null) {
          try {
            const stream = await this.open();
            stream.on("data", (message: KafkaMessage) => {
              queue.push(message);
              if (queue.length >= maxQueued) stream.pause();
              wakeUp();
            });
            stream.on("error", wakeUp);
            stream.on("close", wakeUp);
            this.stream = stream;
            if (failures > 0) this.settings.warn?.(`reading Kafka topic ${this.settings.topic} again`);
            failures = 0;
          } catch (error) {
            if (failures++ === 0) this.settings.warn?.(`cannot read Kafka topic ${this.settings.topic} (${describeKafkaError(error)}); retrying with backoff`);
            await sleepUnless(stop, Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(failures, 6)));
            continue;
          }
        }
        const stream = this.stream;
        if (queue.length > 0) {
          const messages = queue.length <= maxMessages ? queue : queue.slice(0, maxMessages);
          queue = queue.length <= maxMessages ? [] : queue.slice(maxMessages);
          if (stream.isPaused() && queue.length < maxQueued / 2) stream.resume();
          const lines = messages.map(this.settings.toLine);
          this.unacknowledged.push(...messages);
          yield Buffer.from(lines.join("\n") + "\n");
          continue;
        }
        if (stream.destroyed || stream.readableEnded) {
          this.stream = null;
          if (failures++ === 0) this.settings.warn?.(`lost Kafka topic ${this.settings.topic} (${describeKafkaError(stream.errored)}); retrying with backoff`);
          await sleepUnless(stop, Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(failures, 6)));
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      stop.removeEventListener("abort", wakeUp);
    }
  }

  /** Input lines 1..`line` are handled for good: their offsets are committed once the output has them. */
  handled(line: number): void {
    if (line <= this.acknowledgedLine) return;
    this.acknowledgedLine = line;
    this.committing ??= this.commitLoop();
  }

  private async commitLoop(): Promise<void> {
    while (this.firstLine <= this.acknowledgedLine) {
      const through = this.acknowledgedLine;
      const done = this.unacknowledged.splice(0, through - this.firstLine + 1);
      this.firstLine = through + 1;
      await this.outputWritten();
      // Per partition, the newest message handled: committing it commits everything before it there.
      const newest = new Map<string, KafkaMessage>();
      for (const message of done) newest.set(`${message.topic}/${message.partition}`, message);
      try {
        await this.consumer.commit({
          offsets: [...newest.values()].map(({ topic, partition, offset, leaderEpoch }) => ({ topic, partition, offset: offset + 1n, leaderEpoch })),
        });
      } catch (error) {
        // A rebalance took these partitions away; their new owner reads them again from the last commit.
        if (!this.stopped) this.settings.warn?.(`could not commit offsets on ${this.settings.topic} (${describeKafkaError(error)}); they will be read again`);
      }
    }
    this.committing = null;
  }

  /** Waits for the commits under way, then leaves the group (its partitions go to the other members at once). */
  async close(): Promise<void> {
    await this.committing;
    this.stopped = true;
    await this.stream?.close().catch(() => {});
    await this.consumer.close(true).catch(() => {});
  }
}

function sleepUnless(stop: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener("abort", done, { once: true });
  });
}
