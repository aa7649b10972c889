/**
 * A worker thread of `telemetry enrich --workers N`: it builds its own enricher from the settings the main
 * thread sends first, says it is ready (or why it cannot be), then answers batches of lines.
 */
import type { BatchEnricher } from "../stages/enrich/batch";
import type { WorkerReply, WorkerRequest } from "../stages/enrich/pool";
import { loadBatchEnricher, type EnrichSettings } from "./enrich-setup";
import { ConfigError } from "../stages/shared/config-error";

declare const self: Worker;

let enrich: BatchEnricher | undefined;
const reply = (message: WorkerReply) => self.postMessage(message);

self.onmessage = async ({ data: message }: MessageEvent<WorkerRequest<EnrichSettings>>) => {
  if (message.kind === "setup") {
    try {
      const loaded = await loadBatchEnricher(message.settings);
      enrich = loaded.enrich;
      reply({ kind: "ready", enrichmentCount: loaded.enrichmentCount });
    } catch (error) {
      reply({ kind: "failed", configError: error instanceof ConfigError, message: (error as Error).message });
    }
    return;
  }
  try {
    reply({ kind: "result", id: message.id, result: await enrich!(message.batch) });
  } catch (error) {
    reply({ kind: "error", id: message.id, message: (error as Error).stack ?? String(error) });
  }
};
