/**
 * Building the page: elements are made with `el`, and every value that came from the store is set as
 * text (textContent), never as HTML, so an event whose fields carry `<script>` or `<img onerror>` shows
 * those characters and runs nothing. No code in the UI assigns innerHTML.
 */
type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | ((event: Event) => void) | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (name === "className") element.className = String(value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function clear(element: Element): void {
  element.replaceChildren();
}

export function formatNumber(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** A stored value as one line of text for a table cell. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A headline count; `data-count` holds the exact number for whoever reads the page by machine. */
export function countBox(name: string, label: string, value: number): HTMLElement {
  return el("div", { className: "count", "data-count": name, "data-value": value }, el("span", { className: "value" }, formatNumber(value)), el("span", { className: "label" }, label));
}

/** A value → count table, each row clickable when `onPick` is given. */
export function countTable(title: string, name: string, rows: { value: string; count: number }[], onPick?: (value: string) => void): HTMLElement {
  const body = el("tbody");
  for (const row of rows) {
    body.append(
      el(
        "tr",
        { className: onPick ? "clickable" : "", "data-value": row.value, onclick: onPick ? () => onPick(row.value) : undefined },
        el("td", {}, row.value),
        el("td", { className: "num", "data-count": row.count }, formatNumber(row.count)),
      ),
    );
  }
  return el(
    "section",
    { className: "card", "data-top": name },
    el("h2", {}, title),
    rows.length === 0 ? el("p", { className: "muted" }, "nothing in this time range") : el("table", {}, body),
  );
}
