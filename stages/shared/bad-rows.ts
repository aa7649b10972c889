/**
 * Bad rows: Snowplow's self-describing failure records, and the `--bad` channel they are written to.
 */
import { AppendFile } from "./append-file";

/** The bad-row types and the schema version our processors emit (as the Snowplow badrows library does). */
export const BAD_ROW_VERSIONS = {
  size_violation: "1-0-0",
  collector_payload_format_violation: "1-0-0",
  adapter_failures: "1-0-0",
  tracker_protocol_violations: "1-0-1",
  schema_violations: "2-0-1",
  enrichment_failures: "2-0-1",
  loader_parsing_error: "2-0-0",
  loader_iglu_error: "2-0-1",
  loader_runtime_error: "1-0-1",
  generic_error: "1-0-0",
} as const;

export type BadRowType = keyof typeof BAD_ROW_VERSIONS;

export interface Processor {
  artifact: string;
  version: string;
}

export interface BadRow {
  schema: string;
  data: { processor: Processor; failure: Record<string, unknown>; payload: unknown };
}

/** Where stages put their bad rows; tests pass an in-memory one. */
export interface BadRowSink {
  write(row: BadRow): Promise<void> | void;
}

export function badRowSchema(type: BadRowType): string {
  return `iglu:com.snowplowanalytics.snowplow.badrows/${type}/jsonschema/${BAD_ROW_VERSIONS[type]}`;
}

/**
 * The types whose payload is Snowplow's RawPayload, which the badrows library writes as a plain JSON string
 * (the raw input itself), not an object; every other type carries an object.
 */
export type RawPayloadType = "size_violation" | "collector_payload_format_violation" | "loader_parsing_error" | "generic_error";

export type BadRowPayload<T extends BadRowType> = T extends RawPayloadType ? string : Record<string, unknown>;

export function makeBadRow<T extends BadRowType>(
  type: T,
  processor: Processor,
  failure: Record<string, unknown>,
  payload: BadRowPayload<T>,
): BadRow {
  return { schema: badRowSchema(type), data: { processor, failure, payload } };
}

/** The type name of a bad row (`schema_violations`), or undefined if it is not one. */
export function badRowType(row: unknown): BadRowType | undefined {
  const schema = (row as { schema?: unknown } | null)?.schema;
  if (typeof schema !== "string") return undefined;
  const match = /^iglu:com\.snowplowanalytics\.snowplow\.badrows\/([a-z_]+)\/jsonschema\//.exec(schema);
  return match && match[1]! in BAD_ROW_VERSIONS ? (match[1] as BadRowType) : undefined;
}

/**
 * Appends bad rows to a file or FIFO (see AppendFile: opened on the first row, every write under flock).
 */
export class BadRowFile extends AppendFile implements BadRowSink {
  write(row: BadRow): void {
    this.writeLine(JSON.stringify(row));
  }

  writeLine(line: string): void {
    this.writeLines(line + "\n", 1);
  }
}

/** Keeps bad rows in memory; for tests and for callers that inspect them. */
export class BadRowList implements BadRowSink {
  readonly rows: BadRow[] = [];
  write(row: BadRow): void {
    this.rows.push(row);
  }
}
