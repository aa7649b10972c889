/** Overview: the headline counts, good and bad over time in one chart, and the top values of the good events. */
import { getJson } from "../api";
import { timeChart, type ChartData } from "../chart";
import { countBox, countTable, el } from "../dom";
import { navigate, rangeParams } from "../state";

interface Overview {
  counts: { good: number; bad: number; logs: number; logErrors: number };
  chart: ChartData;
  top: Record<string, { value: string; count: number }[]>;
}

const TOPS: [string, string][] = [
  ["app_id", "App ids"],
  ["platform", "Platforms"],
  ["event_name", "Event names"],
  ["event_schema", "Event schemas"],
  ["page_url", "Pages"],
];

/** Opens Events searching for one value of a field, in the same time range. */
function searchEvents(field: string, value: string): void {
  const params = new URLSearchParams(rangeParams());
  params.set("q", `${field}:${JSON.stringify(value)}`);
  navigate(`/events?${params}`);
}

export async function renderOverview(main: HTMLElement): Promise<void> {
  const data = await getJson<Overview>("/api/overview", rangeParams());
  const { good, bad, logs, logErrors } = data.counts;
  const badShare = good + bad === 0 ? 0 : (100 * bad) / (good + bad);
  main.append(
    el(
      "div",
      { className: "counts" },
      countBox("good", "good events", good),
      countBox("bad", "bad rows", bad),
      el("div", { className: "count", "data-count": "bad-share" }, el("span", { className: "value" }, `${badShare.toFixed(1)}%`), el("span", { className: "label" }, "of events rejected")),
      countBox("logs", "log records", logs),
      countBox("log-errors", "log errors", logErrors),
    ),
    el("section", { className: "card" }, el("h2", {}, "Good events and bad rows over time"), timeChart(data.chart)),
    el("div", { className: "grid" }, ...TOPS.map(([field, title]) => countTable(title, field, data.top[field] ?? [], (value) => searchEvents(field, value)))),
  );
}
