import { describe, expect, test } from "bun:test";
import { makeBadRow, type RawPayloadType } from "../../stages/shared/bad-rows";
import { validateBadRow } from "../fixtures/bad-row-schema";

const processor = { artifact: "telemetry-test", version: "0.0.0" };
const timestamp = "2025-11-27T10:00:00.000Z";

/** A failure of each RawPayload type as its schema copy describes it. */
const FAILURES: Record<RawPayloadType, Record<string, unknown>> = {
  size_violation: { timestamp, maximumAllowedSizeBytes: 100, actualSizeBytes: 500, expectation: "at most 100 bytes" },
  collector_payload_format_violation: { timestamp, loader: "ndjson", message: { error: "line 1 is not JSON" } },
  loader_parsing_error: { type: "NotTSV" },
  generic_error: { timestamp, errors: ["line 1 is not JSON"] },
};

describe("bad rows whose Snowplow payload is a RawPayload", () => {
  for (const [type, failure] of Object.entries(FAILURES) as [RawPayloadType, Record<string, unknown>][]) {
    test(`${type}: the schema copy takes the raw input as a plain string, and refuses it wrapped in an object`, async () => {
      const row = makeBadRow(type, processor, failure, "{not json");
      expect(row.data.payload).toBe("{not json");
      expect(await validateBadRow(row)).toMatchObject({ ok: true });
      const wrapped = { ...row, data: { ...row.data, payload: { raw: "{not json" } } };
      expect(await validateBadRow(wrapped)).toMatchObject({ ok: false });
    });
  }
});
