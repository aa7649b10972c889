import { describe, expect, test } from "bun:test";
import { backoffDelay, classifyBulkItem, classifyRequestFailure } from "../../stages/sink/retry";

describe("classifyBulkItem", () => {
  test("2xx is done, and so is 409: with deterministic ids the stored document is this record", () => {
    expect(classifyBulkItem({ status: 201 }).kind).toBe("done");
    expect(classifyBulkItem({ status: 200 }).kind).toBe("done");
    expect(classifyBulkItem({ status: 409, error: { type: "version_conflict_engine_exception" } }).kind).toBe("done");
  });

  test("429 and 5xx are retried", () => {
    expect(classifyBulkItem({ status: 429, error: { type: "es_rejected_execution_exception", reason: "queue full" } })).toEqual({
      kind: "retry",
      reason: "es_rejected_execution_exception: queue full",
    });
    expect(classifyBulkItem({ status: 503, error: { type: "unavailable_shards_exception" } }).kind).toBe("retry");
    expect(classifyBulkItem({ status: 500 }).kind).toBe("retry");
  });

  test("a cluster block (e.g. disk flood stage) is waited out even though it comes as 403", () => {
    expect(classifyBulkItem({ status: 403, error: { type: "cluster_block_exception", reason: "read-only" } }).kind).toBe("retry");
  });

  test("a closed index is waited out (an operator opens it again) even though it comes as 400", () => {
    const closed = { status: 400, error: { type: "index_closed_exception", reason: "closed" } };
    expect(classifyBulkItem(closed).kind).toBe("retry");
  });

  test("mapping and parse errors are refused for good, with the reason and its cause", () => {
    const outcome = classifyBulkItem({
      status: 400,
      error: {
        type: "document_parsing_exception",
        reason: "failed to parse field [n] of type [long]",
        caused_by: { type: "illegal_argument_exception", reason: 'For input string: "x"' },
      },
    });
    expect(outcome).toEqual({
      kind: "reject",
      reason:
        'document_parsing_exception: failed to parse field [n] of type [long] (illegal_argument_exception: For input string: "x")',
    });
    expect(classifyBulkItem({ status: 404, error: { type: "index_not_found_exception" } }).kind).toBe("reject");
  });
});

describe("classifyRequestFailure", () => {
  test("lost connections, timeouts, 429 and 5xx retry the whole request", () => {
    expect(classifyRequestFailure({ message: "connect ECONNREFUSED 127.0.0.1:9200" })).toEqual({
      kind: "retry",
      reason: "connect ECONNREFUSED 127.0.0.1:9200",
    });
    for (const status of [429, 500, 502, 503, 504]) {
      expect(classifyRequestFailure({ status, message: "x" }).kind).toBe("retry");
    }
  });

  test("401/403 in mid-stream are waited out rather than dropping what is in flight", () => {
    expect(classifyRequestFailure({ status: 401, message: "security_exception" }).kind).toBe("retry");
  });

  test("413 and a whole-request 400 split the batch", () => {
    expect(classifyRequestFailure({ status: 413, message: "too large" }).kind).toBe("split");
    expect(classifyRequestFailure({ status: 400, message: "illegal_argument_exception" }).kind).toBe("split");
  });
});

describe("backoffDelay", () => {
  test("doubles from the initial delay and stops at the cap", () => {
    const noJitter = { jitter: 0 };
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, noJitter))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(20, noJitter)).toBe(30_000);
    expect(backoffDelay(1000, noJitter)).toBe(30_000);
  });

  test("jitter only shortens, by at most its share", () => {
    expect(backoffDelay(3, { random: () => 0.999999 })).toBe(Math.round(800 * (1 - 0.2 * 0.999999)));
    expect(backoffDelay(3, { random: () => 0 })).toBe(800);
  });
});
