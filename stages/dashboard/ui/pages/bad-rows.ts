/**
 * Bad rows: how many and when, by type, and grouped by failure with the values left out, so one cause
 * is one line with a count. A group opens its rows, each with the payload decoded for reading.
 */
import { getJson } from "../api";
import { timeChart, type ChartData } from "../chart";
import { countTable, el, formatNumber, formatTime } from "../dom";
import { param, rangeParams, setParams } from "../state";
import { detailPanel, type StoredRecord } from "./records";

interface Overview {
  total: number;
  chart: ChartData;
  byType: { value: string; count: number }[];
  groups: { type: string; signature: string; count: number; last: number }[];
  grouped: number;
}

type ReadableRow = StoredRecord & { payload: unknown };

export async function renderBadRows(main: HTMLElement): Promise<void> {
  const type = param("type");
  const signature = param("signature");
  if (param("group") === "1") return renderGroup(main, type, signature);
  const data = await getJson<Overview>("/api/bad/overview", rangeParams());
  const groups = el("tbody");
  for (const group of data.groups) {
    if (type && group.type !== type) continue;
    groups.append(
      el(
        "tr",
        {
          className: "clickable",
          "data-type": group.type,
          onclick: () => setParams({ group: "1", type: group.type, signature: group.signature }, true),
        },
        el("td", {}, el("span", { className: "tag" }, group.type)),
        el("td", { className: "signature" }, group.signature || "(no failure message)"),
        el("td", { className: "num", "data-count": group.count }, formatNumber(group.count)),
        el("td", {}, formatTime(group.last)),
      ),
    );
  }
  main.append(
    el("div", { className: "counts" }, el("div", { className: "count", "data-count": "bad", "data-value": data.total }, el("span", { className: "value" }, formatNumber(data.total)), el("span", { className: "label" }, "bad rows"))),
    el("section", { className: "card" }, el("h2", {}, "Bad rows over time"), timeChart({ ...data.chart })),
    countTable("By type", "type", data.byType, (value) => setParams({ type: value === type ? null : value })),
    el(
      "section",
      { className: "card", id: "groups" },
      el("h2", {}, type ? `Failures of ${type}` : "Failures, one line per cause"),
      data.grouped < data.total
        ? el("p", { className: "muted" }, `grouped from the newest ${formatNumber(data.grouped)} of ${formatNumber(data.total)} rows`)
        : null,
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "type"), el("th", {}, "failure"), el("th", { className: "num" }, "rows"), el("th", {}, "last seen"))), groups),
    ),
  );
}

async function renderGroup(main: HTMLElement, type: string, signature: string): Promise<void> {
  const offset = Number(param("offset", "0")) || 0;
  const page = await getJson<{ total: number; rows: ReadableRow[] }>("/api/bad/group", { ...rangeParams(), type, signature, offset, limit: 20 });
  const list = el("tbody");
  for (const row of page.rows) {
    list.append(
      el(
        "tr",
        { className: "clickable", "data-id": row.id, onclick: () => setParams({ id: row.id }, true) },
        el("td", {}, formatTime(row.time)),
        el("td", {}, row.id),
      ),
    );
  }
  main.append(
    el(
      "section",
      { className: "card", id: "group" },
      el("div", { className: "toolbar" }, el("button", { id: "back", onclick: () => setParams({ group: null, signature: null, id: null, offset: null }, true) }, "‹ all failures"), el("span", { className: "tag" }, type)),
      el("p", { className: "signature" }, signature || "(no failure message)"),
      el("p", { id: "total", "data-total": page.total }, `${formatNumber(page.total)} rows`),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "time"), el("th", {}, "id"))), list),
      el(
        "div",
        { className: "toolbar" },
        el("button", { disabled: offset === 0, onclick: () => setParams({ offset: Math.max(0, offset - 20) || null }, true) }, "‹ newer"),
        el("button", { disabled: offset + page.rows.length >= page.total, onclick: () => setParams({ offset: offset + 20 }, true) }, "older ›"),
      ),
    ),
  );
  const first = page.rows.find((row) => row.id === param("id")) ?? page.rows[0];
  if (first) {
    main.append(
      el("section", { className: "card", id: "sample" }, el("h2", {}, "Payload, decoded"), el("pre", { id: "payload" }, JSON.stringify(first.payload, null, 2))),
    );
  }
  if (param("id") && first) main.append(detailPanel(`bad row ${first.id}`, first.doc, () => setParams({ id: null }, true)));
}
