/** Logs: volume by level over time, exceptions grouped by root-cause class with one full stack trace, and search. */
import { getJson } from "../api";
import { timeChart, type ChartData } from "../chart";
import { el, formatNumber, formatTime } from "../dom";
import { param, rangeParams, setParams } from "../state";
import { renderRecords, type StoredRecord } from "./records";

interface Overview {
  total: number;
  chart: ChartData;
  exceptions: { className: string; count: number; first: number; last: number; sample: StoredRecord }[];
}

export async function renderLogs(main: HTMLElement): Promise<void> {
  const data = await getJson<Overview>("/api/logs/overview", rangeParams());
  const open = param("exception");
  const rows = el("tbody");
  for (const group of data.exceptions) {
    rows.append(
      el(
        "tr",
        { className: "clickable", "data-class": group.className, onclick: () => setParams({ exception: open === group.className ? null : group.className }) },
        el("td", {}, group.className),
        el("td", { className: "num", "data-count": group.count }, formatNumber(group.count)),
        el("td", {}, formatTime(group.first)),
        el("td", {}, formatTime(group.last)),
      ),
    );
  }
  const shown = data.exceptions.find((group) => group.className === open) ?? data.exceptions[0];
  main.append(
    el("div", { className: "counts" }, el("div", { className: "count", "data-count": "logs", "data-value": data.total }, el("span", { className: "value" }, formatNumber(data.total)), el("span", { className: "label" }, "log records"))),
    el("section", { className: "card" }, el("h2", {}, "Log records by level"), timeChart(data.chart)),
    el(
      "section",
      { className: "card", id: "exceptions" },
      el("h2", {}, "Exceptions by root cause"),
      data.exceptions.length === 0
        ? el("p", { className: "muted" }, "no exceptions in this time range")
        : el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "class"), el("th", { className: "num" }, "count"), el("th", {}, "first seen"), el("th", {}, "last seen"))), rows),
      shown
        ? el(
            "div",
            { id: "stack" },
            el("h2", {}, `Latest ${shown.className}: ${String(shown.sample.doc.message ?? "")}`),
            el("pre", { id: "stack-trace" }, String(shown.sample.doc.stack_trace ?? JSON.stringify(shown.sample.doc.exception ?? {}, null, 2))),
          )
        : null,
    ),
  );
  const search = el("div", { id: "log-search" });
  main.append(search);
  await renderRecords(search, {
    family: "logs",
    defaultColumns: ["@timestamp", "level", "logger_name", "message"],
    knownColumns: ["@timestamp", "level", "logger_name", "message", "thread_name", "exception.class", "stack_trace", "tags"],
    placeholder: "level:ERROR AND logger_name:shop.*   ·   message:\"payment failed\"   ·   exception.class:java.io.IOException",
  });
}
