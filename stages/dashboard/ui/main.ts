/**
 * The dashboard's single page: a navigation bar, the time-range picker with auto-refresh, the store
 * banner, and the page the path names. Every view is a function of the URL (see ./state).
 */
import { ApiProblem, onStoreTrouble } from "./api";
import { clear, el } from "./dom";
import { navigate, onNavigate, param, setParams } from "./state";
import { renderOverview } from "./pages/overview";
import { renderEvents } from "./pages/events";
import { renderBadRows } from "./pages/bad-rows";
import { renderLogs } from "./pages/logs";
import { renderSchemas } from "./pages/schemas";
import { renderLive } from "./pages/live";

/** A page draws itself into `main` and returns what to undo when the view changes (timers, streams). */
export type Page = (main: HTMLElement) => Promise<(() => void) | void>;

const PAGES: { path: string; title: string; render: Page; timed: boolean }[] = [
  { path: "/", title: "Overview", render: renderOverview, timed: true },
  { path: "/events", title: "Events", render: renderEvents, timed: true },
  { path: "/bad", title: "Bad rows", render: renderBadRows, timed: true },
  { path: "/logs", title: "Logs", render: renderLogs, timed: true },
  { path: "/schemas", title: "Schemas", render: renderSchemas, timed: true },
  { path: "/live", title: "Live", render: renderLive, timed: false },
];

const RANGES = ["15m", "1h", "4h", "24h", "7d", "30d"];
const REFRESH = ["off", "5s", "30s", "1m", "5m"];
const REFRESH_MS: Record<string, number> = { "5s": 5000, "30s": 30_000, "1m": 60_000, "5m": 300_000 };
const STORE_RETRY_MS = 3000;

const main = document.getElementById("page")!;
const nav = document.getElementById("nav")!;
const controls = document.getElementById("controls")!;
const banner = document.getElementById("banner")!;

onStoreTrouble((message) => {
  banner.hidden = message === null;
  banner.textContent = message ?? "";
});

let undo: (() => void) | void;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let rendering = 0;

function localInput(ms: string): string {
  if (!ms) return "";
  const date = new Date(/^\d+$/.test(ms) ? Number(ms) : ms);
  return Number.isNaN(date.getTime()) ? "" : new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function drawControls(timed: boolean): void {
  clear(controls);
  if (!timed) return;
  const custom = param("from") !== "" || param("to") !== "";
  const range = el(
    "select",
    {
      id: "range",
      "aria-label": "time range",
      onchange: (event) => {
        const value = (event.target as HTMLSelectElement).value;
        if (value === "custom") setParams({ range: null, from: Date.now() - 86_400_000, to: Date.now(), offset: null }, true);
        else setParams({ range: value, from: null, to: null, offset: null }, true);
      },
    },
    ...RANGES.map((value) => el("option", { value, selected: !custom && param("range", "24h") === value }, `last ${value}`)),
    el("option", { value: "custom", selected: custom }, "custom…"),
  );
  controls.append(range);
  if (custom) {
    const from = el("input", { type: "datetime-local", id: "from", value: localInput(param("from")) });
    const to = el("input", { type: "datetime-local", id: "to", value: localInput(param("to")) });
    const apply = el("button", {
      onclick: () => setParams({ from: new Date(from.value).getTime() || null, to: new Date(to.value).getTime() || null, offset: null }, true),
    }, "apply");
    controls.append(from, "→", to, apply);
  }
  controls.append(
    el(
      "select",
      { id: "refresh", "aria-label": "auto-refresh", onchange: (event) => setParams({ refresh: (event.target as HTMLSelectElement).value === "off" ? null : (event.target as HTMLSelectElement).value }) },
      ...REFRESH.map((value) => el("option", { value, selected: param("refresh", "off") === value }, value === "off" ? "no auto-refresh" : `refresh ${value}`)),
    ),
  );
}

async function render(): Promise<void> {
  const ticket = ++rendering;
  clearTimeout(refreshTimer);
  if (typeof undo === "function") undo();
  undo = undefined;
  const page = PAGES.find((candidate) => candidate.path === location.pathname) ?? PAGES[0]!;
  clear(nav);
  for (const candidate of PAGES) {
    nav.append(
      el("a", {
        href: candidate.path,
        className: candidate === page ? "active" : "",
        onclick: (event) => {
          event.preventDefault();
          // The time range follows the person from page to page; the rest of the state is the page's own.
          const keep = new URLSearchParams();
          for (const name of ["range", "from", "to", "refresh"]) if (param(name)) keep.set(name, param(name));
          navigate(candidate.path + (keep.size ? `?${keep}` : ""));
        },
      }, candidate.title),
    );
  }
  drawControls(page.timed);
  document.title = `${page.title} · telemetry`;
  const target = el("div");
  let unreachable = false;
  try {
    undo = await page.render(target);
  } catch (error) {
    unreachable = error instanceof ApiProblem && (error.status === 503 || error.status === 0);
    target.append(el("p", { className: "error", "data-problem": "" }, (error as Error).message));
  }
  if (ticket !== rendering) {
    if (typeof undo === "function") undo();
    return;
  }
  main.replaceChildren(target);
  main.setAttribute("data-ready", String(ticket));
  // An unreachable store is asked again every few seconds until it answers.
  const every = unreachable ? STORE_RETRY_MS : REFRESH_MS[param("refresh")];
  if (every && (page.timed || unreachable)) refreshTimer = setTimeout(() => void render(), every);
}

onNavigate(() => void render());
void render();
