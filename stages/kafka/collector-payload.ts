/**
 * Snowplow's CollectorPayload (schema 1-0-0) in Thrift's binary protocol: what Snowplow's collectors put on
 * the raw topic and what Snowplow's enrich reads from it, so our collector can feed their enrich and theirs
 * ours. Hand-written (one struct of strings, an i64 and a list of strings) rather than generated, so the
 * stages need neither the Thrift compiler nor its runtime; tests/kafka/thrift-compat.test.ts checks it
 * byte for byte against Apache's own Thrift libraries.
 *
 * Fields are written in ascending field id, schema (31337) last, as the Java classes Snowplow's collector
 * uses write them; a reader takes them in any order and skips fields it does not know.
 */
import type { RawRecord } from "../shared/raw-record";

/** The raw record without its id: the Thrift struct has no place for it (on Kafka it is the message key). */
export type CollectorPayload = Omit<RawRecord, "id">;

const T_STOP = 0;
const T_BOOL = 2;
const T_BYTE = 3;
const T_DOUBLE = 4;
const T_I16 = 6;
const T_I32 = 8;
const T_I64 = 10;
const T_STRING = 11;
const T_STRUCT = 12;
const T_MAP = 13;
const T_SET = 14;
const T_LIST = 15;

type StringField = "ipAddress" | "encoding" | "collector" | "userAgent" | "refererUri" | "path" | "querystring" | "body" | "contentType" | "hostname" | "networkUserId" | "schema";

/** Field id → name, for the string fields; timestamp (200) and headers (350) are handled apart. */
const STRING_FIELDS: ReadonlyMap<number, StringField> = new Map([
  [100, "ipAddress"],
  [210, "encoding"],
  [220, "collector"],
  [300, "userAgent"],
  [310, "refererUri"],
  [320, "path"],
  [330, "querystring"],
  [340, "body"],
  [360, "contentType"],
  [400, "hostname"],
  [410, "networkUserId"],
  [31337, "schema"],
]);
const TIMESTAMP_ID = 200;
const HEADERS_ID = 350;

export class ThriftDecodeError extends Error {}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Grows as needed; one per encode call (records are small). */
class ByteWriter {
  private bytes = new Uint8Array(1024);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  byte(value: number): void {
    this.room(1);
    this.bytes[this.length++] = value;
  }

  i16(value: number): void {
    this.room(2);
    this.view.setInt16(this.length, value);
    this.length += 2;
  }

  i32(value: number): void {
    this.room(4);
    this.view.setInt32(this.length, value);
    this.length += 4;
  }

  i64(value: number): void {
    this.room(8);
    this.view.setBigInt64(this.length, BigInt(value));
    this.length += 8;
  }

  string(value: string): void {
    const encoded = utf8.encode(value);
    this.i32(encoded.length);
    this.room(encoded.length);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
  }

  fieldHeader(type: number, id: number): void {
    this.byte(type);
    this.i16(id);
  }

  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/**
 * The record's Thrift bytes. An empty querystring is left out (Snowplow's collector sets none when the URL
 * has no query); headers are always written, as Snowplow's collector does.
 */
export function encodeCollectorPayload(record: CollectorPayload): Uint8Array {
  const out = new ByteWriter();
  const string = (id: number, value: string | undefined) => {
    if (value === undefined) return;
    out.fieldHeader(T_STRING, id);
    out.string(value);
  };
  string(100, record.ipAddress);
  out.fieldHeader(T_I64, TIMESTAMP_ID);
  out.i64(record.timestamp);
  string(210, record.encoding);
  string(220, record.collector);
  string(300, record.userAgent);
  string(310, record.refererUri);
  string(320, record.path);
  string(330, record.querystring === "" ? undefined : record.querystring);
  string(340, record.body);
  out.fieldHeader(T_LIST, HEADERS_ID);
  out.byte(T_STRING);
  out.i32(record.headers.length);
  for (const header of record.headers) out.string(header);
  string(360, record.contentType);
  string(400, record.hostname);
  string(410, record.networkUserId);
  string(31337, record.schema);
  out.byte(T_STOP);
  return out.result();
}

/** Reads Thrift binary-protocol values from a byte array; every read checks the bounds. */
class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.bytes.length) throw new ThriftDecodeError(`the payload ends early, at byte ${this.offset} of ${this.bytes.length}`);
  }

  byte(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }

  i16(): number {
    this.need(2);
    const value = this.view.getInt16(this.offset);
    this.offset += 2;
    return value;
  }

  i32(): number {
    this.need(4);
    const value = this.view.getInt32(this.offset);
    this.offset += 4;
    return value;
  }

  i64(): number {
    this.need(8);
    const value = this.view.getBigInt64(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new ThriftDecodeError(`timestamp ${value} is out of range`);
    }
    return Number(value);
  }

  binary(): Uint8Array {
    const length = this.i32();
    this.need(length);
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(field: string): string {
    try {
      return strictUtf8.decode(this.binary());
    } catch (error) {
      if (error instanceof ThriftDecodeError) throw error;
      throw new ThriftDecodeError(`${field} is not UTF-8`);
    }
  }

  /** Skips a value of a type we do not read (a field of a newer schema), nested ones included. */
  skip(type: number, depth = 0): void {
    if (depth > 64) throw new ThriftDecodeError("values are nested too deeply");
    switch (type) {
      case T_BOOL:
      case T_BYTE:
        this.need(1);
        this.offset += 1;
        return;
      case T_I16:
        this.need(2);
        this.offset += 2;
        return;
      case T_I32:
        this.need(4);
        this.offset += 4;
        return;
      case T_DOUBLE:
      case T_I64:
        this.need(8);
        this.offset += 8;
        return;
      case T_STRING:
        this.binary();
        return;
      case T_STRUCT:
        for (let fieldType = this.byte(); fieldType !== T_STOP; fieldType = this.byte()) {
          this.i16();
          this.skip(fieldType, depth + 1);
        }
        return;
      case T_MAP: {
        const keyType = this.byte();
        const valueType = this.byte();
        const size = this.size();
        for (let i = 0; i < size; i++) {
          this.skip(keyType, depth + 1);
          this.skip(valueType, depth + 1);
        }
        return;
      }
      case T_SET:
      case T_LIST: {
        const elementType = this.byte();
        const size = this.size();
        for (let i = 0; i < size; i++) this.skip(elementType, depth + 1);
        return;
      }
      default:
        throw new ThriftDecodeError(`unknown Thrift type ${type} at byte ${this.offset}`);
    }
  }

  /** A collection size; each element takes at least one byte, so a larger size cannot be true. */
  size(): number {
    const size = this.i32();
    if (size < 0 || size > this.bytes.length - this.offset) throw new ThriftDecodeError(`a collection claims ${size} elements`);
    return size;
  }
}

/**
 * The record these Thrift bytes hold. Throws ThriftDecodeError when they are not a CollectorPayload
 * struct (truncated, a field of the wrong type, not UTF-8, a required field missing); the caller turns
 * that into a collector_payload_format_violation bad row.
 */
export function decodeCollectorPayload(bytes: Uint8Array): CollectorPayload {
  const reader = new ByteReader(bytes);
  const record: Partial<Record<StringField, string>> & { timestamp?: number; headers?: string[] } = {};
  for (let type = reader.byte(); type !== T_STOP; type = reader.byte()) {
    const id = reader.i16();
    const name = STRING_FIELDS.get(id);
    if (name !== undefined && type === T_STRING) record[name] = reader.string(name);
    else if (id === TIMESTAMP_ID && type === T_I64) record.timestamp = reader.i64();
    else if (id === HEADERS_ID && type === T_LIST) {
      const elementType = reader.byte();
      const size = reader.size();
      if (elementType !== T_STRING) throw new ThriftDecodeError("headers (350) is not a list of strings");
      const headers: string[] = [];
      for (let i = 0; i < size; i++) headers.push(reader.string("a header"));
      record.headers = headers;
    } else if (name !== undefined || id === TIMESTAMP_ID || id === HEADERS_ID) {
      throw new ThriftDecodeError(`field ${id} has Thrift type ${type}, not the CollectorPayload's`);
    } else reader.skip(type);
  }
  if (reader.offset !== bytes.length) throw new ThriftDecodeError(`${bytes.length - reader.offset} bytes follow the end of the struct`);
  for (const required of ["schema", "ipAddress", "encoding", "collector"] as const) {
    if (record[required] === undefined) throw new ThriftDecodeError(`the required field ${required} is missing`);
  }
  if (record.timestamp === undefined) throw new ThriftDecodeError("the required field timestamp is missing");
  const payload: CollectorPayload = {
    schema: record.schema!,
    timestamp: record.timestamp,
    ipAddress: record.ipAddress!,
    encoding: record.encoding!,
    collector: record.collector!,
    path: record.path ?? "",
    querystring: record.querystring ?? "",
    headers: record.headers ?? [],
  };
  for (const optional of ["userAgent", "refererUri", "body", "contentType", "hostname", "networkUserId"] as const) {
    if (record[optional] !== undefined) payload[optional] = record[optional];
  }
  return payload;
}
