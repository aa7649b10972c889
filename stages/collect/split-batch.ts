/**
 * What becomes of a raw record too large for the sink (reference/snowplow-pipeline.md §1.6, Snowplow's
 * SplitBatch): a POST whose body is a `payload_data` batch is cut into several raw records, each under the
 * limit and each a complete request of its own; any event too large to travel alone is a size violation,
 * and anything that cannot be cut (a GET, a body that is not such a batch, a record over the split limit,
 * request metadata that alone fills the limit) is one size violation for the whole request.
 *
 * Sizes are those of the serialised record line in UTF-8, body escaping included, because that line is
 * what the limit protects. Only records already over the limit come here, so normal traffic never pays
 * for parsing or re-serialising its body.
 */
import type { RawRecord } from "../shared/raw-record";
import { parseSchemaUri } from "../iglu/schema-key";

export interface SplitLimits {
  /** The largest record line the sink accepts. */
  maxRecordBytes: number;
  /** Record lines larger than this are not split (Snowplow's networking.maxPayloadSize). */
  maxSplitBytes: number;
}

/** Something not written: how large it was and why, with its text for the bad row's truncated copy. */
export interface SizeViolation {
  actualSizeBytes: number;
  expectation: string;
  text: string;
}

export interface SplitOutcome {
  /** Record lines to write, in the order of the events they hold, each at most maxRecordBytes. */
  lines: string[];
  /** The UTF-8 length of each line. */
  bytes: number[];
  violations: SizeViolation[];
}

const LIMIT_FLAG = "--max-record-bytes";

/**
 * `record` serialised is `line`, `bytes` long, over `limits.maxRecordBytes`. Each part is `record` with a
 * fresh id from `newId` and a body holding a run of the batch's events, in order.
 */
export function splitOversizedRecord(
  record: RawRecord,
  line: string,
  bytes: number,
  limits: SplitLimits,
  newId: () => string,
): SplitOutcome {
  const max = limits.maxRecordBytes;
  const whole = (reason: string): SplitOutcome => ({
    lines: [],
    bytes: [],
    violations: [
      {
        actualSizeBytes: bytes,
        expectation: `oversized collector payload: the raw record is ${bytes} bytes, the sink accepts at most ${max} (${LIMIT_FLAG}); ${reason}`,
        text: line,
      },
    ],
  });
  if (bytes > limits.maxSplitBytes) return whole(`records over ${limits.maxSplitBytes} bytes are not split`);
  if (record.body === undefined) return whole("a request without a body (GET) cannot be split");
  const batch = parseBatch(record.body);
  if (typeof batch === "string") return whole(`the body cannot be split: ${batch}`);

  // A part's line is the record with an empty body, plus the body's escaped text: JSON escaping works
  // character by character, so the escaped length of the body is the sum of its pieces' escaped lengths.
  const emptyBodyBytes = Buffer.byteLength(JSON.stringify({ ...record, body: "" }));
  const prefix = `{"schema":${JSON.stringify(batch.schema)},"data":[`;
  const suffix = "]}";
  const partBase = emptyBodyBytes + escapedBytes(prefix) + escapedBytes(suffix);
  if (partBase >= max) return whole(`without its events the record is already ${partBase} bytes`);

  const outcome: SplitOutcome = { lines: [], bytes: [], violations: [] };
  let events: string[] = [];
  let partBytes = partBase;
  const flush = () => {
    if (events.length === 0) return;
    const partLine = JSON.stringify({ ...record, id: newId(), body: prefix + events.join(",") + suffix });
    outcome.lines.push(partLine);
    outcome.bytes.push(Buffer.byteLength(partLine));
    events = [];
    partBytes = partBase;
  };
  for (const [index, event] of batch.events.entries()) {
    const text = JSON.stringify(event);
    const cost = escapedBytes(text);
    if (partBase + cost > max) {
      outcome.violations.push({
        actualSizeBytes: partBase + cost,
        expectation:
          `oversized collector payload: event ${index + 1} of ${batch.events.length} alone makes a raw record of ` +
          `${partBase + cost} bytes, the sink accepts at most ${max} (${LIMIT_FLAG})`,
        text,
      });
      continue;
    }
    // An event after the first also brings its comma (one byte).
    if (events.length > 0 && partBytes + 1 + cost > max) flush();
    partBytes += (events.length > 0 ? 1 : 0) + cost;
    events.push(text);
  }
  flush();
  return outcome;
}

/** The bytes `text` takes inside a JSON string, without the quotes. */
function escapedBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

/** The schema and events of a `payload_data` body, or why the body is not one. */
function parseBatch(body: string): { schema: string; events: unknown[] } | string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return "it is not JSON";
  }
  const { schema, data } = (typeof json === "object" && json !== null ? json : {}) as { schema?: unknown; data?: unknown };
  const key = typeof schema === "string" ? parseSchemaUri(schema) : undefined;
  const isPayloadData =
    key !== undefined &&
    !("error" in key) &&
    key.vendor === "com.snowplowanalytics.snowplow" &&
    key.name === "payload_data" &&
    key.format === "jsonschema" &&
    key.version.model === 1;
  if (!isPayloadData || !Array.isArray(data)) return "it is not a payload_data self-describing JSON with an array of events";
  if (data.length === 0) return "its batch holds no events";
  return { schema: schema as string, events: data };
}
