/**
 * The `_bulk` request for a batch of documents, and the reading of its answer.
 *
 * `index` with our deterministic `_id` makes every resend an overwrite of the same document, so a batch
 * retried after a lost connection (when we cannot know what was applied) never doubles anything.
 * The source line is the input line as it came, not re-serialised: cheaper, and stored exactly as sent.
 */
import type { SinkDocument } from "./document";
import { classifyBulkItem, type BulkItemResult, type ItemOutcome, type RequestOutcome } from "./retry";

/** Only what we read back: per-item status and error (a full answer repeats every id and index). */
export const BULK_FILTER_PATH = "errors,items.*.status,items.*.error";

export function bulkBody(documents: readonly Pick<SinkDocument, "id" | "index" | "source">[]): string {
  const parts: string[] = new Array(documents.length * 2);
  let i = 0;
  for (const document of documents) {
    parts[i++] = `{"index":{"_index":${JSON.stringify(document.index)},"_id":${JSON.stringify(document.id)}}}\n`;
    parts[i++] = document.source + "\n";
  }
  return parts.join("");
}

interface BulkResponse {
  errors?: boolean;
  items?: Record<string, BulkItemResult>[];
}

/** Per-document outcomes, in request order; an answer that does not match the request is retried whole. */
export function readBulkResponse(response: unknown, documentCount: number): RequestOutcome {
  const items = (response as BulkResponse | null)?.items;
  if (!Array.isArray(items) || items.length !== documentCount) {
    return {
      kind: "retry",
      reason: `the bulk answer listed ${Array.isArray(items) ? items.length : "no"} items for ${documentCount} documents`,
    };
  }
  const outcomes: ItemOutcome[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const entry = items[i]!;
    const result = entry.index ?? entry.create ?? Object.values(entry)[0];
    outcomes[i] = result ? classifyBulkItem(result) : { kind: "retry", reason: "an empty item in the bulk answer" };
  }
  return { kind: "items", items: outcomes };
}
