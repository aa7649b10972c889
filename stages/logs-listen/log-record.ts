/**
 * One received line → log records (contracts.md, "log record"), following Logstash's `json_lines` codec:
 * a JSON object is one event, a JSON array of objects is one event per element, anything else (plain
 * text, broken JSON, a bare number) is one event with the raw text in `message` and the tag
 * `_jsonparsefailure`.
 *
 * The client's fields are kept as sent: our fields are spliced into the received JSON text instead of
 * re-serialising the parsed object, so numbers beyond 2^53, key order and escapes reach the store
 * unchanged (and it is the cheapest way). A field the client already sent is never overwritten, as the
 * Logstash tcp input does with `host` and `port`.
 *
 * Every record also gets ECS's `event.created` (the receipt time) and `event.sequence` (its number in the
 * order this process took records in). Two identical lines are two occurrences, and the store's id is a
 * hash of the record, so these two fields are what keeps them apart; a replay of the same records
 * carries the same values and so overwrites instead of adding.
 */
import { summarizeStackTrace } from "./stack-trace";

export type Transport = "tcp" | "udp" | "tls";

export interface LogSource {
  address: string;
  port: number;
  transport: Transport;
}

export interface RecordContext {
  /** `source` as JSON text; made once per connection. */
  readonly sourceJson: string;
  /** Receipt time as an ISO string: `event.created`, and `@timestamp` for events without a usable one. */
  receivedAt(): string;
  /** The next record's `event.sequence`. */
  nextSequence(): number;
}

export const JSON_PARSE_FAILURE = "_jsonparsefailure";
export const TIMESTAMP_PARSE_FAILURE = "_timestampparsefailure";

export function sourceJson(source: LogSource): string {
  return JSON.stringify(source);
}

/** Calls `emit` with each record (JSON text) that the line stands for. */
export function logRecordsFromLine(text: string, context: RecordContext, emit: (json: string) => void): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    emit(parseFailureRecord(text, context));
    return;
  }
  if (isEvent(value)) {
    emit(completeEvent(text.trim(), value, context));
  } else if (Array.isArray(value) && value.every(isEvent)) {
    for (const event of value) emit(completeEvent(JSON.stringify(event), event, context));
  } else {
    emit(parseFailureRecord(text, context));
  }
}

type Event = Record<string, unknown>;

function isEvent(value: unknown): value is Event {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function receiptJson(context: RecordContext): string {
  return `{"created":"${context.receivedAt()}","sequence":${context.nextSequence()}}`;
}

function parseFailureRecord(text: string, context: RecordContext): string {
  return (
    `{"@timestamp":"${context.receivedAt()}","message":${JSON.stringify(text)},` +
    `"tags":["${JSON_PARSE_FAILURE}"],"source":${context.sourceJson},"event":${receiptJson(context)}}`
  );
}

/** `eventText` is the JSON text of `event`, ending in `}`. */
function completeEvent(eventText: string, event: Event, context: RecordContext): string {
  let text = eventText;
  let additions = "";
  const timestamp = event["@timestamp"];
  if (timestamp === undefined) {
    additions += `,"@timestamp":"${context.receivedAt()}"`;
  } else if (!isTime(timestamp)) {
    // Logstash's rule: keep the unusable value under `_@timestamp`, use the receipt time, tag the event.
    text = JSON.stringify(withReplacedTimestamp(event, context.receivedAt()));
  }
  if (!("source" in event)) additions += `,"source":${context.sourceJson}`;
  if (!("event" in event)) additions += `,"event":${receiptJson(context)}`;
  if (typeof event.stack_trace === "string" && !("exception" in event)) {
    const exception = summarizeStackTrace(event.stack_trace);
    if (exception) additions += `,"exception":${JSON.stringify(exception)}`;
  }
  if (additions === "") return text;
  const close = text.lastIndexOf("}");
  return text.slice(0, close) + (EMPTY_OBJECT.test(text) ? additions.slice(1) : additions) + "}";
}

// What LogstashEncoder sends (ISO_OFFSET_DATE_TIME); checked first because Date.parse costs ten times more.
const ISO_DATE_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$/;

function isTime(value: unknown): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  return typeof value === "string" && (ISO_DATE_TIME.test(value) || !Number.isNaN(Date.parse(value)));
}

function withReplacedTimestamp(event: Event, now: string): Event {
  const tags = event.tags;
  return {
    ...event,
    "@timestamp": now,
    "_@timestamp": event["@timestamp"],
    tags: [...(Array.isArray(tags) ? tags : tags === undefined ? [] : [tags]), TIMESTAMP_PARSE_FAILURE],
  };
}

// Cheaper than enumerating the parsed object's keys: only `{}` (with any whitespace) has none.
const EMPTY_OBJECT = /^\{\s*\}$/;
