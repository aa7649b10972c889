/**
 * The Live page's stream: new good events and bad rows as server-sent events. One poll of the store per
 * second per open page, from a cursor in write order (SQLite's rowid, Elasticsearch's _seq_no), so a
 * page sees every row written while it listens, and nothing from before it opened.
 */
import type { DashboardStore, StoredRecord } from "./store";

const POLL_MS = 1000;
const MOST_ROWS_PER_POLL = 200;

export interface LiveRow {
  family: "good" | "bad";
  row: StoredRecord;
}

/** A text/event-stream response; each row is an event named after its family; store trouble is an `unavailable` event. */
export function liveStream(store: DashboardStore, signal: AbortSignal): Response {
  const encoder = new TextEncoder();
  const cursors: Record<"good" | "bad", number | null> = { good: null, bad: null };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, data: unknown) => controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      const poll = async () => {
        if (signal.aborted) return;
        try {
          for (const family of ["good", "bad"] as const) {
            const answer = await store.newest(family, cursors[family], MOST_ROWS_PER_POLL);
            const fresh = cursors[family] !== null;
            cursors[family] = answer.cursor;
            if (fresh) for (const row of answer.rows) send(family, row);
          }
          send("tick", { at: Date.now() });
        } catch (error) {
          send("unavailable", { error: (error as Error).message });
        }
        if (!signal.aborted) timer = setTimeout(poll, POLL_MS);
      };
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        try {
          controller.close();
        } catch {
          // already closed by the client going away
        }
      });
      void poll();
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
}
