/**
 * What an adapter is: a function from one raw record (one HTTP request) to the parameter maps of the
 * tracker events it carries, or the messages saying why it carries none.
 */
import type { RawRecord } from "../../shared/raw-record";
import type { NameValue, Parameters } from "../querystring";
import type { SchemaValidator } from "../schema-validator";

/** The failure messages of adapter_failures and tracker_protocol_violations bad rows. */
export type AdapterMessage =
  | { field: string; value: string | null; expectation: string }
  | { field: string; value: string | null; error: string }
  | { json: unknown; error: "INVALID_SCHEMAVER" | "INVALID_IGLUURI" | "INVALID_DATA_PAYLOAD" | "INVALID_SCHEMA" }
  | { schemaKey: string; schemaCriterion: string }
  | { schemaKey: string; error: unknown };

export type AdapterResult = { ok: true; events: Parameters[] } | { ok: false; messages: AdapterMessage[] };

export interface AdapterInput {
  raw: RawRecord;
  /** The decoded querystring, in order, with value-less names. */
  querystring: NameValue[];
  resolver: SchemaValidator;
}

export type Adapter = (input: AdapterInput) => AdapterResult | Promise<AdapterResult>;

export function inputData(field: string, value: string | null | undefined, expectation: string): AdapterMessage {
  return { field, value: value ?? null, expectation };
}
