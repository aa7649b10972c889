/** Schemas: what the registries hold, how many stored events use each (as event or entity), and each schema's JSON. */
import { getJson } from "../api";
import { el, formatNumber } from "../dom";
import { param, rangeParams, setParams } from "../state";

interface SchemaUse {
  uri: string;
  inRegistry: boolean;
  events: number;
  entities: number;
  entityColumn: string;
}

export async function renderSchemas(main: HTMLElement): Promise<void> {
  const schemas = await getJson<SchemaUse[]>("/api/schemas", rangeParams());
  const open = param("uri");
  const usedOnly = param("used") === "1";
  const rows = el("tbody");
  for (const schema of schemas) {
    if (usedOnly && schema.events === 0 && schema.entities === 0) continue;
    rows.append(
      el(
        "tr",
        { className: "clickable", "data-uri": schema.uri, onclick: () => setParams({ uri: schema.uri }, true) },
        el("td", {}, schema.uri, schema.inRegistry ? "" : el("span", { className: "tag" }, " not in the registries")),
        el("td", { className: "num", "data-events": schema.events }, formatNumber(schema.events)),
        el("td", { className: "num", "data-entities": schema.entities }, formatNumber(schema.entities)),
      ),
    );
  }
  main.append(
    el(
      "section",
      { className: "card" },
      el(
        "div",
        { className: "toolbar" },
        el("label", {}, el("input", { type: "checkbox", id: "used", checked: usedOnly, onchange: () => setParams({ used: usedOnly ? null : "1" }) }), " only schemas in use"),
        el("span", { className: "muted" }, "entity counts are per model: contexts_<vendor>_<name>_<model> holds every 1-x-y of a schema"),
      ),
      el("table", { id: "schemas" }, el("thead", {}, el("tr", {}, el("th", {}, "schema"), el("th", { className: "num" }, "as event"), el("th", { className: "num" }, "as entity"))), rows),
    ),
  );
  if (open) {
    const schema = await getJson<object>("/api/schemas/schema", { uri: open }).catch((error: Error) => ({ error: error.message }));
    main.append(
      el(
        "aside",
        { id: "detail" },
        el("div", { className: "toolbar" }, el("strong", {}, open), el("button", { id: "close", onclick: () => setParams({ uri: null }, true) }, "Close")),
        el("pre", { id: "schema-json" }, JSON.stringify(schema, null, 2)),
      ),
    );
  }
}
