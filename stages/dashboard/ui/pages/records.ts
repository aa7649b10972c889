/**
 * What the Events and Logs pages share: the search box, the sortable table with a column picker,
 * server-side paging, and the side panel with a record's whole JSON and a copy button.
 */
import { ApiProblem, getJson } from "../api";
import { cellText, el, formatNumber, formatTime } from "../dom";
import { param, rangeParams, setParams } from "../state";

export interface StoredRecord {
  id: string;
  time: number | null;
  doc: Record<string, unknown>;
}

interface Page {
  total: number;
  rows: StoredRecord[];
  /** The store searched only the newest `newest` of the range's `of` records (SQLite, a field without a column). */
  scanned?: { newest: number; of: number };
}

const PAGE_SIZE = 50;

export interface RecordsView {
  family: "good" | "bad" | "logs";
  defaultColumns: string[];
  /** Fields offered in the picker besides those seen in the rows. */
  knownColumns: string[];
  placeholder: string;
}

/** A dotted path's value in a document (`exception.class`). */
export function valueAt(doc: Record<string, unknown>, path: string): unknown {
  if (path in doc) return doc[path];
  let value: unknown = doc;
  for (const part of path.split(".")) value = value && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

export function searchBox(placeholder: string): HTMLElement {
  const input = el("input", { type: "search", id: "q", name: "q", placeholder, value: param("q"), autocomplete: "off", spellcheck: "false" });
  const form = el(
    "form",
    {
      className: "toolbar",
      onsubmit: (event) => {
        event.preventDefault();
        setParams({ q: input.value, offset: null, id: null }, true);
      },
    },
    input,
    el("button", { type: "submit" }, "Search"),
  );
  return form;
}

/** The search problem under the box: the message, and the text with a caret at the position. */
export function searchProblem(error: ApiProblem): HTMLElement {
  const query = param("q");
  return el(
    "div",
    { className: "error", id: "search-error" },
    el("p", {}, error.message),
    error.position === undefined ? null : el("pre", {}, `${query}\n${" ".repeat(Math.min(error.position, query.length))}^`),
  );
}

export function detailPanel(title: string, record: unknown, onClose: () => void): HTMLElement {
  const text = JSON.stringify(record, null, 2);
  const copied = el("span", { className: "muted" });
  return el(
    "aside",
    { id: "detail" },
    el(
      "div",
      { className: "toolbar" },
      el("strong", {}, title),
      el("button", {
        id: "copy",
        onclick: () => {
          void navigator.clipboard?.writeText(text).then(
            () => (copied.textContent = "copied"),
            () => (copied.textContent = "select the text to copy"),
          );
        },
      }, "Copy JSON"),
      copied,
      el("button", { id: "close", onclick: onClose }, "Close"),
    ),
    el("pre", { id: "detail-json" }, text),
  );
}

export async function renderRecords(main: HTMLElement, view: RecordsView): Promise<void> {
  const columns = (param("cols") || view.defaultColumns.join(",")).split(",").filter(Boolean);
  const offset = Number(param("offset", "0")) || 0;
  const sort = param("sort");
  const order = param("order", "desc");
  main.append(searchBox(view.placeholder));
  let page: Page;
  try {
    page = await getJson<Page>(`/api/records/${view.family}`, { ...rangeParams(), q: param("q"), sort, order, offset, limit: PAGE_SIZE });
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 400) {
      main.append(searchProblem(error));
      return;
    }
    throw error;
  }

  const seen = new Set(view.knownColumns);
  for (const row of page.rows) for (const key of Object.keys(row.doc)) seen.add(key);
  const picker = el("details", { id: "columns" }, el("summary", {}, "Columns"));
  const boxes = el("div", { className: "columns" });
  for (const name of [...seen].sort()) {
    boxes.append(
      el(
        "label",
        {},
        el("input", {
          type: "checkbox",
          value: name,
          checked: columns.includes(name),
          onchange: (event) => {
            const on = (event.target as HTMLInputElement).checked;
            const next = on ? [...columns, name] : columns.filter((column) => column !== name);
            setParams({ cols: next.join(",") });
          },
        }),
        ` ${name}`,
      ),
    );
  }
  picker.append(boxes);

  const header = el("tr");
  for (const column of columns) {
    const active = sort === column || (!sort && column === view.defaultColumns[0]);
    header.append(
      el(
        "th",
        {
          className: "sortable",
          "data-column": column,
          onclick: () => setParams({ sort: column, order: active && order === "desc" ? "asc" : "desc", offset: null }, true),
        },
        column,
        active ? (order === "asc" ? " ▲" : " ▼") : "",
      ),
    );
  }
  const body = el("tbody");
  for (const row of page.rows) {
    const tr = el("tr", { className: "clickable", "data-id": row.id, onclick: () => setParams({ id: row.id }, true) });
    for (const column of columns) tr.append(el("td", {}, cellText(valueAt(row.doc, column))));
    body.append(tr);
  }
  const last = Math.min(offset + page.rows.length, page.total);
  main.append(
    el(
      "section",
      { className: "card" },
      el(
        "div",
        { className: "toolbar" },
        el("span", { id: "total", "data-total": page.total }, `${formatNumber(page.total)} matching`),
        page.scanned
          ? el(
              "span",
              { id: "scanned", className: "note", "data-newest": page.scanned.newest, "data-of": page.scanned.of },
              `in the newest ${formatNumber(page.scanned.newest)} of the range's ${formatNumber(page.scanned.of)} ${view.family === "good" ? "events" : "records"}: ` +
                "this search reads a field that has no index, so narrow the time range to search them all",
            )
          : null,
        el("span", { className: "muted" }, page.total ? `showing ${formatNumber(offset + 1)}–${formatNumber(last)}` : ""),
        el("button", { id: "prev", disabled: offset === 0, onclick: () => setParams({ offset: Math.max(0, offset - PAGE_SIZE) || null }, true) }, "‹ newer"),
        el("button", { id: "next", disabled: last >= page.total, onclick: () => setParams({ offset: offset + PAGE_SIZE }, true) }, "older ›"),
        picker,
      ),
      el("table", { id: "records" }, el("thead", {}, header), body),
    ),
  );

  const open = param("id");
  if (open) {
    const record = page.rows.find((row) => row.id === open) ?? (await getJson<StoredRecord>(`/api/records/${view.family}/${encodeURIComponent(open)}`).catch(() => null));
    main.append(
      record
        ? detailPanel(`${view.family} ${record.id} · ${formatTime(record.time)}`, record.doc, () => setParams({ id: null }, true))
        : el("aside", { id: "detail" }, el("p", { className: "error" }, `no record ${open}`)),
    );
  }
}
