/**
 * The retry classifier: for each answer a store gives, is the write done, worth trying again, or refused
 * for good? Kept apart from any I/O so every rule is tested on its own (reference: logs.md §4b).
 *
 * Why these rules: 429 and 5xx mean "not now" (queue full, shard moving, node restarting), so the same
 * request will succeed later and, with deterministic ids, cannot double anything. 4xx on one item means
 * the document itself is refused (mapping or parse error): retrying cannot help, so it becomes a bad row.
 * A 413 (request too large) or a 400 for the whole request is split until the culprit stands alone.
 */

/** What happened to one document of a bulk request. */
export type ItemOutcome =
  | { kind: "done" }
  | { kind: "retry"; reason: string }
  | { kind: "reject"; reason: string };

/** What happened to a whole request. */
export type RequestOutcome =
  | { kind: "items"; items: ItemOutcome[] }
  | { kind: "retry"; reason: string }
  | { kind: "split"; reason: string };

export interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } };
}

/** Error types that arrive with a 4xx status but clear up by themselves or by an operator. */
const TRANSIENT_ERROR_TYPES = new Set([
  "es_rejected_execution_exception",
  "cluster_block_exception", // e.g. disk flood stage: the index is writable again once space is freed
  "unavailable_shards_exception",
  "node_closed_exception",
  "circuit_breaking_exception",
  "index_closed_exception", // an operator closed the index (maintenance, restore); it is opened again
]);

export function describeItemError(item: BulkItemResult): string {
  const error = item.error;
  if (!error) return `status ${item.status}`;
  const cause = error.caused_by?.reason ? ` (${error.caused_by.type}: ${error.caused_by.reason})` : "";
  return `${error.type ?? "error"}: ${error.reason ?? "no reason given"}${cause}`;
}

export function classifyBulkItem(item: BulkItemResult): ItemOutcome {
  const { status } = item;
  // Our ids are deterministic, so 409 "a document with this id exists" means this very record is stored.
  if ((status >= 200 && status < 300) || status === 409) return { kind: "done" };
  if (status === 429 || status >= 500 || TRANSIENT_ERROR_TYPES.has(item.error?.type ?? "")) {
    return { kind: "retry", reason: describeItemError(item) };
  }
  return { kind: "reject", reason: describeItemError(item) };
}

/** How a request that did not produce per-item results failed. */
export interface RequestFailure {
  /** HTTP status when the server answered, absent when the connection failed or timed out. */
  status?: number;
  message: string;
}

export function classifyRequestFailure(failure: RequestFailure): RequestOutcome {
  const { status, message } = failure;
  if (status === 413) return { kind: "split", reason: `request too large (413): ${message}` };
  // A whole-request 400 comes from something in the body the server cannot even frame; halving finds it.
  if (status === 400) return { kind: "split", reason: `request refused (400): ${message}` };
  // Connection lost, timeouts, 429, 5xx, and also 401/403 mid-stream (credentials rotated, a role being
  // fixed): nothing is lost by waiting, and the pipe upstream is held back meanwhile.
  return { kind: "retry", reason: status === undefined ? message : `${status}: ${message}` };
}

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** 0..1, the share of each delay drawn at random so many sinks do not retry in step. */
  jitter?: number;
  random?: () => number;
}

/** Capped exponential back-off: 100 ms, 200 ms, 400 ms … up to 30 s, each shortened by up to 20 % at random. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 100, maxMs = 30_000, jitter = 0.2, random = Math.random } = options;
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 - jitter * random()));
}
