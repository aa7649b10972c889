/**
 * What goes on each topic and how a stage turns its NDJSON lines into Kafka messages and back. Snowplow's
 * formats by default (raw: Thrift CollectorPayload keyed by a UUID; enriched: canonical TSV; bad rows:
 * JSON), our JSON lines as an option.
 *
 * A consumed message always becomes exactly one non-empty line without a newline, so a stage's input line
 * N is the N-th message read, and acknowledging line N says which offsets may be committed.
 */
import { createHash, randomUUID } from "node:crypto";
import { toAnalyticsJsonLine } from "../enrich/output";
import { decodeCollectorPayload, encodeCollectorPayload, ThriftDecodeError } from "./collector-payload";
import { enrichedColumnIndex, EnrichedTsvError, parseEnrichedTsv } from "./enriched-tsv";

export type RawFormat = "thrift" | "json";
export type EnrichedFormat = "tsv" | "json";

export interface OutgoingMessage {
  key: Buffer;
  value: Buffer;
}

export interface IncomingMessage {
  key: Buffer | null | undefined;
  value: Buffer | null | undefined;
  topic: string;
  partition: number;
  offset: bigint;
}

/** Turns one output line into a message. */
export type ToMessage = (line: string) => OutgoingMessage;
/** Turns one consumed message into one input line. */
export type ToLine = (message: IncomingMessage) => string;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A random UUID key, as Snowplow's collector and enrich use when nothing else decides the partition. */
function randomKey(): Buffer {
  return Buffer.from(randomUUID());
}

/** A raw record line (collect's JSON) as a raw-topic message, keyed by the record's id. */
export function rawRecordMessage(format: RawFormat): ToMessage {
  return (line) => {
    const record = JSON.parse(line);
    const key = typeof record.id === "string" ? Buffer.from(record.id) : randomKey();
    if (format === "json") return { key, value: Buffer.from(line) };
    const { id: _id, ...payload } = record;
    return { key, value: Buffer.from(encodeCollectorPayload(payload)) };
  };
}

/**
 * A stable UUID (v4 in form) for a message whose key is not one: derived from where it sits in the log,
 * so reading it again after a crash gives its events the same ids.
 */
export function messageId(message: IncomingMessage): string {
  const key = message.key?.toString();
  if (key !== undefined && UUID.test(key)) return key.toLowerCase();
  const hex = createHash("sha256").update(`${message.topic}/${message.partition}/${message.offset}`).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A raw-topic message as a raw record line. Thrift that does not decode becomes its bytes in base64, a
 * line that is not JSON: enrich makes it a collector_payload_format_violation carrying them, as Snowplow's does.
 */
export function rawRecordLine(format: RawFormat): ToLine {
  return (message) => {
    if (format === "json") return plainLine(message);
    const bytes = message.value ?? Buffer.alloc(0);
    try {
      const payload = decodeCollectorPayload(bytes);
      return JSON.stringify({ ...payload, id: messageId(message) });
    } catch (error) {
      if (!(error instanceof ThriftDecodeError)) throw error;
      return bytes.length === 0 ? '""' : bytes.toString("base64");
    }
  };
}

/**
 * An enriched line as an enriched-topic message: keyed by the value of `partitionKey` (an enriched field
 * such as user_id or domain_userid, as Snowplow's `partitionKey` setting) when set, else a random UUID.
 */
export function enrichedMessage(format: EnrichedFormat, partitionKey?: string): ToMessage {
  const column = partitionKey === undefined ? -1 : enrichedColumnIndex(partitionKey);
  return (line) => {
    let key: string | undefined;
    if (partitionKey !== undefined) {
      if (format === "tsv") key = line.split("\t", column + 1)[column];
      else {
        const value = JSON.parse(line)[partitionKey];
        key = value === undefined || value === null ? undefined : String(value);
      }
    }
    return { key: key ? Buffer.from(key) : randomKey(), value: Buffer.from(line) };
  };
}

/** An enriched-topic message as the Analytics-SDK JSON line sink-good stores; a TSV that does not parse is passed on as it is (the sink refuses it as a bad row). */
export function enrichedLine(format: EnrichedFormat): ToLine {
  return (message) => {
    const text = plainLine(message);
    if (format === "json") return text;
    try {
      return toAnalyticsJsonLine(parseEnrichedTsv(text));
    } catch (error) {
      if (!(error instanceof EnrichedTsvError)) throw error;
      return text;
    }
  };
}

/** Bad rows and log records: the JSON line itself, keyed by a random UUID. */
export function plainMessage(): ToMessage {
  return (line) => ({ key: randomKey(), value: Buffer.from(line) });
}

/** The message's text as one line: newlines inside it (a pretty-printed JSON) are folded, an empty one is `""`. */
export function plainLine(message: IncomingMessage): string {
  const text = message.value?.toString() ?? "";
  if (text.trim() === "") return '""';
  if (!/[\r\n]/.test(text)) return text;
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text.replace(/[\r\n]+/g, " ");
  }
}
