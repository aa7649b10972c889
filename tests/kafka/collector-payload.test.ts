import { describe, expect, test } from "bun:test";
import { decodeCollectorPayload, encodeCollectorPayload, ThriftDecodeError } from "../../stages/kafka/collector-payload";
import { SAMPLE_PAYLOADS } from "./payload-samples";

const [getRequest, postRequest] = SAMPLE_PAYLOADS as [(typeof SAMPLE_PAYLOADS)[0], (typeof SAMPLE_PAYLOADS)[0]];

/** A Thrift string field: type 11, id, length, bytes. */
function stringField(id: number, value: string): number[] {
  const bytes = [...Buffer.from(value)];
  return [11, id >> 8, id & 0xff, 0, 0, bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

describe("Thrift CollectorPayload", () => {
  test("decodes what it encodes, every field", () => {
    for (const payload of SAMPLE_PAYLOADS) expect(decodeCollectorPayload(encodeCollectorPayload(payload))).toEqual(payload);
  });

  test("starts with ipAddress (field 100) and ends with schema (31337) then STOP, as Java's classes write", () => {
    const bytes = encodeCollectorPayload(getRequest);
    expect([...bytes.subarray(0, 3)]).toEqual([11, 0, 100]);
    const schemaBytes = Buffer.from(getRequest.schema);
    expect(Buffer.from(bytes.subarray(bytes.length - 1 - schemaBytes.length - 7, bytes.length - 1 - schemaBytes.length)).toString("hex")).toBe(
      "0b7a69" + schemaBytes.length.toString(16).padStart(8, "0"),
    );
    expect(bytes.at(-1)).toBe(0);
  });

  test("fields of a newer schema are skipped, whatever their type", () => {
    const bytes = encodeCollectorPayload(postRequest);
    // A struct holding an i32 and a map<string,i64>, as field 999, before STOP.
    const extra = [12, 0x03, 0xe7, 8, 0, 1, 0, 0, 0, 5, 13, 0, 2, 11, 10, 0, 0, 0, 1, ...[0, 0, 0, 1, 0x6b], ...[0, 0, 0, 0, 0, 0, 0, 9], 0];
    const extended = new Uint8Array([...bytes.subarray(0, bytes.length - 1), ...extra, 0]);
    expect(decodeCollectorPayload(extended)).toEqual(postRequest);
  });

  test("a truncated payload, a missing required field, a wrong type or bytes that are not UTF-8 are refused with a reason", () => {
    const bytes = encodeCollectorPayload(postRequest);
    expect(() => decodeCollectorPayload(bytes.subarray(0, 40))).toThrow(/ends early/);
    expect(() => decodeCollectorPayload(new Uint8Array([...stringField(100, "1.2.3.4"), 0]))).toThrow(/required field schema is missing/);
    expect(() => decodeCollectorPayload(new Uint8Array([8, 0, 100, 0, 0, 0, 1, 0]))).toThrow(/field 100 has Thrift type 8/);
    const notUtf8 = new Uint8Array([11, 0, 100, 0, 0, 0, 2, 0xc3, 0x28, 0]);
    expect(() => decodeCollectorPayload(notUtf8)).toThrow(ThriftDecodeError);
    expect(() => decodeCollectorPayload(new TextEncoder().encode('{"schema":"json"}'))).toThrow(ThriftDecodeError);
    expect(() => decodeCollectorPayload(new Uint8Array([...bytes, 1, 2]))).toThrow(/bytes follow/);
  });
});
