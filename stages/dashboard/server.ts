/**
 * The dashboard's HTTP side: the pages (one HTML bundle, built by Bun from ./ui, the same for every page
 * path since all state is in the URL), the JSON API the pages read, the live stream and the Micro API.
 * Routes only parse the request and call the queries; answers are JSON. A search that cannot be read is
 * a 400 naming the position, an unreachable store a 503 the page shows, never a 500.
 */
import page from "./ui/index.html";
import { refusal } from "./access";
import { FAMILIES, UnknownFieldError, type Family } from "./fields";
import { liveStream } from "./live";
import { badEvents, badFilters, goodEvents, goodFilters, microCounts, MicroFilterError } from "./micro";
import { badRowsOfGroup, badRowsOverview, logsOverview, overview, readableBadRow, records } from "./queries";
import type { SchemaRegistry } from "./schema-registry";
import { parseSearch, SearchError } from "./search";
import { StoreUnavailableError, type DashboardStore } from "./store";
import { rangeFromQuery, RangeError, type TimeRange } from "./time-range";
import { schemasWithCounts } from "./schemas-page";
import { httpServerErrors } from "../shared/http-errors";

export interface DashboardOptions {
  store: DashboardStore;
  registry: SchemaRegistry;
  /** Micro's /micro/reset deletes data: off unless asked for. */
  allowReset: boolean;
  /** Required on every API request when set (the dashboard listens beyond loopback). */
  token?: string;
  version: string;
}

export const PAGE_PATHS = ["/", "/events", "/bad", "/logs", "/schemas", "/live"] as const;

const MICRO_ENDPOINTS = ["/micro/all", "/micro/good", "/micro/bad", "/micro/iglu/{vendor}/{name}/jsonschema/{version}", "/micro/reset"];
const LARGEST_PAGE = 500;

class BadRequest extends Error {}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

function integerParam(params: URLSearchParams, name: string, fallback: number, most: number): number {
  const text = params.get(name);
  if (text === null || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new BadRequest(`${name} must be a whole number, 0 or more`);
  return Math.min(value, most);
}

function familyOf(name: string | undefined): Family {
  if (!FAMILIES.includes(name as Family)) throw new BadRequest(`"${name}" is not one of ${FAMILIES.join(", ")}`);
  return name as Family;
}

async function bodyJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new MicroFilterError("the body is not JSON");
  }
}

/** The API and Micro routes as one fetch handler; the pages are served beside it (see serveDashboard). */
export function dashboardHandler(options: DashboardOptions): (request: Request) => Promise<Response> {
  const { store, registry } = options;

  const api = async (request: Request, parts: string[], params: URLSearchParams): Promise<Response> => {
    const range = (): TimeRange => rangeFromQuery(params);
    const [first, second, third] = parts;
    if (first === "status") {
      try {
        await store.check();
        return json(200, { store: store.description, ok: true, resetAllowed: options.allowReset, version: options.version });
      } catch (error) {
        return json(200, { store: store.description, ok: false, error: (error as Error).message, resetAllowed: options.allowReset, version: options.version });
      }
    }
    if (first === "overview") return json(200, await overview(store, range()));
    if (first === "live") return liveStream(store, request.signal);
    if (first === "records") {
      const family = familyOf(second);
      if (third !== undefined) {
        const record = await store.get(family, decodeURIComponent(third));
        if (!record) return json(404, { error: `no ${family} record with id ${third}` });
        return json(200, family === "bad" ? readableBadRow(record) : record);
      }
      const page = await records(store, family, {
        range: range(),
        condition: parseSearch(params.get("q") ?? "", family),
        sortField: params.get("sort") ?? undefined,
        order: params.get("order") === "asc" ? "asc" : "desc",
        offset: integerParam(params, "offset", 0, 1_000_000),
        limit: integerParam(params, "limit", 50, LARGEST_PAGE),
      });
      return json(200, family === "bad" ? { ...page, rows: page.rows.map(readableBadRow) } : page);
    }
    if (first === "bad" && second === "overview") return json(200, await badRowsOverview(store, range()));
    if (first === "bad" && second === "group") {
      return json(
        200,
        await badRowsOfGroup(
          store,
          range(),
          params.get("type") ?? "",
          params.get("signature") ?? "",
          integerParam(params, "offset", 0, 1_000_000),
          integerParam(params, "limit", 20, LARGEST_PAGE),
        ),
      );
    }
    if (first === "logs" && second === "overview") return json(200, await logsOverview(store, range()));
    if (first === "schemas" && second === undefined) return json(200, await schemasWithCounts(store, registry, range()));
    if (first === "schemas" && second === "schema") {
      const schema = await registry.read(params.get("uri") ?? "");
      return schema ? json(200, schema) : json(404, { error: `no schema ${params.get("uri")} in the registries` });
    }
    return json(404, { error: `no such API: /api/${parts.join("/")}` });
  };

  const micro = async (request: Request, parts: string[]): Promise<Response> => {
    const method = request.method;
    const [first, ...rest] = parts;
    if (first === "all" && (method === "GET" || method === "POST")) return json(200, await microCounts(store));
    if (first === "good" && rest.length === 0) {
      if (method === "GET") return json(200, await goodEvents(store, registry, {}));
      if (method === "POST") return json(200, await goodEvents(store, registry, goodFilters(await bodyJson(request))));
    }
    if (first === "bad" && rest.length === 0) {
      if (method === "GET") return json(200, await badEvents(store, {}));
      if (method === "POST") return json(200, await badEvents(store, badFilters(await bodyJson(request))));
    }
    if (first === "iglu" && method === "GET" && rest.length === 4) {
      const answer = await registry.lookup(`iglu:${rest.join("/")}`);
      return "schema" in answer ? json(200, answer.schema) : json(404, answer.error);
    }
    if (first === "reset" && (method === "GET" || method === "POST")) {
      if (!options.allowReset) return json(403, { error: "reset is off: start the dashboard with --allow-reset to let /micro/reset delete data" });
      await store.reset();
      return new Response("Reset completed", { status: 200 });
    }
    return json(404, { error: `no such endpoint; Micro's are ${MICRO_ENDPOINTS.join(", ")}` });
  };

  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "api" && parts[0] !== "micro") return json(404, { error: `nothing at ${url.pathname}` });
    const refused = refusal(request, options.token);
    if (refused) return refused;
    try {
      return parts[0] === "api" ? await api(request, parts.slice(1), url.searchParams) : await micro(request, parts.slice(1));
    } catch (error) {
      if (error instanceof SearchError) return json(400, { error: error.message, position: error.position });
      if (error instanceof RangeError || error instanceof BadRequest || error instanceof MicroFilterError || error instanceof UnknownFieldError) {
        return json(400, { error: error.message });
      }
      if (error instanceof StoreUnavailableError) return json(503, { error: error.message, unavailable: true });
      process.stderr.write(`telemetry dashboard: ${request.method} ${url.pathname}: ${(error as Error).stack ?? error}\n`);
      return json(500, { error: "the dashboard failed on this request; its stderr has the details" });
    }
  };
}

export interface ServeOptions extends DashboardOptions {
  host: string;
  port: number;
}

/** Starts the HTTP server: the page bundle on every page path, the API and Micro routes beside it. */
export function serveDashboard(options: ServeOptions): ReturnType<typeof Bun.serve> {
  const handler = dashboardHandler(options);
  // A throw the handler does not answer itself (in a page route, say) still gets a short JSON 500.
  return Bun.serve({
    ...httpServerErrors((message) => process.stderr.write(`telemetry dashboard: ${message}\n`)),
    hostname: options.host,
    port: options.port,
    idleTimeout: 0,
    routes: Object.fromEntries(PAGE_PATHS.map((path) => [path, page])),
    fetch: handler,
  });
}
