/** Live: good events and bad rows as they are stored (server-sent events), newest on top, pausable. */
import { streamUrl } from "../api";
import { el, formatTime } from "../dom";
import type { StoredRecord } from "./records";

const KEPT_ROWS = 200;

function summary(family: string, row: StoredRecord): string {
  const doc = row.doc as Record<string, unknown>;
  if (family === "good") return [doc.event, doc.event_name, doc.app_id, doc.page_url].filter((part) => part != null).join(" · ");
  const schema = String(doc.schema ?? "");
  return schema.replace(/^.*badrows\/([^/]+)\/.*$/, "$1");
}

export async function renderLive(main: HTMLElement): Promise<() => void> {
  let paused = false;
  let held: HTMLElement[] = [];
  const counts = { good: 0, bad: 0 };
  const status = el("span", { id: "live-status", className: "muted" }, "connecting…");
  const tally = el("span", { id: "live-counts" }, "0 good · 0 bad");
  const list = el("div", { id: "live" });
  const pause = el("button", {
    id: "pause",
    onclick: () => {
      paused = !paused;
      pause.textContent = paused ? "Resume" : "Pause";
      if (!paused) {
        for (const row of held) list.prepend(row);
        held = [];
        trim();
      }
    },
  }, "Pause");
  const trim = () => {
    while (list.childElementCount > KEPT_ROWS) list.lastElementChild!.remove();
  };
  main.append(el("section", { className: "card" }, el("div", { className: "toolbar" }, pause, tally, status), list));

  const source = new EventSource(streamUrl("/api/live"));
  const onRow = (family: "good" | "bad") => (message: MessageEvent) => {
    const row = JSON.parse(message.data) as StoredRecord;
    counts[family]++;
    tally.textContent = `${counts.good} good · ${counts.bad} bad`;
    const line = el(
      "div",
      { className: `live-row ${family}`, "data-family": family, "data-id": row.id },
      `${formatTime(row.time)}  ${family.padEnd(4)}  ${summary(family, row)}`,
    );
    if (paused) held.unshift(line);
    else {
      list.prepend(line);
      trim();
    }
  };
  source.addEventListener("good", onRow("good"));
  source.addEventListener("bad", onRow("bad"));
  source.addEventListener("tick", () => (status.textContent = paused ? "paused (still receiving)" : "listening"));
  source.addEventListener("unavailable", (message) => (status.textContent = `store unreachable: ${JSON.parse((message as MessageEvent).data).error}; retrying`));
  source.onerror = () => (status.textContent = "connection lost; reconnecting…");
  return () => source.close();
}
