/**
 * A Snowplow-Micro-compatible API over the stored events (dashboard.md §2), so test suites written
 * against Micro run unchanged: `/micro/all`, `/micro/good`, `/micro/bad`, `/micro/iglu/…`, `/micro/reset`.
 *
 * The store keeps the Analytics-SDK JSON (flattened columns), so each answer is converted back into
 * Micro's shapes: the Scala SDK's `Event` (all 131 fields, null when empty, contexts and unstruct_event
 * in their wrappers), the RawEvent (the tracker parameters, rebuilt from the enriched fields, since the
 * raw request is not stored), and for bad rows the CollectorPayload and RawEvent their payload carries.
 */
import { ENRICHED_FIELDS } from "../enrich/event";
import { EVENT_TYPES } from "../enrich/field-mapping";
import { shreddedName } from "../enrich/output";
import { HTTP_COOKIE_SCHEMA } from "../enrich/enrichments/cookie-extractor";
import { HTTP_HEADER_SCHEMA } from "../enrich/enrichments/http-header-extractor";
import { SPIDERS_AND_ROBOTS_SCHEMA } from "../enrich/enrichments/iab-spiders-and-robots";
import { UA_PARSER_CONTEXT_SCHEMA } from "../enrich/enrichments/ua-parser";
import { CONTEXTS_SCHEMA, UNSTRUCT_EVENT_SCHEMA } from "../enrich/self-describing";
import { isJsonObject, type JsonObject } from "../shared/records";
import { fieldFor } from "./fields";
import type { SchemaRegistry } from "./schema-registry";
import type { Condition } from "./search";
import type { DashboardStore, StoredRecord } from "./store";
import type { TimeRange } from "./time-range";

/** Every stored record, whenever it happened. */
export const ALL_TIME: TimeRange = { from: 0, to: 8_640_000_000_000_000 };
/** Most records one Micro answer lists (Elasticsearch pages no deeper; Micro serves test suites). */
export const MICRO_MOST_RECORDS = 10_000;

/** Entities our enrichments add: Micro lists only the tracker's own in GoodEvent.contexts. */
const DERIVED_COLUMNS = new Set(
  [UA_PARSER_CONTEXT_SCHEMA, SPIDERS_AND_ROBOTS_SCHEMA, HTTP_COOKIE_SCHEMA, HTTP_HEADER_SCHEMA].map((uri) => `contexts_${shreddedName(uri)}`),
);

const EVENT_CODES: Record<string, string> = {};
for (const [code, name] of Object.entries(EVENT_TYPES)) EVENT_CODES[name] ??= code;

/** Tracker parameters and the enriched field each one filled (snowplow-pipeline.md §2.3), for rebuilding a RawEvent. */
const PARAMETER_FIELDS: readonly (readonly [string, string])[] = [
  ["eid", "event_id"], ["aid", "app_id"], ["p", "platform"], ["tv", "v_tracker"], ["tna", "name_tracker"], ["tid", "txn_id"],
  ["tz", "os_timezone"], ["lang", "br_lang"], ["uid", "user_id"], ["duid", "domain_userid"], ["nuid", "network_userid"],
  ["vid", "domain_sessionidx"], ["sid", "domain_sessionid"], ["ua", "useragent"], ["fp", "user_fingerprint"],
  ["cd", "br_colordepth"], ["cs", "doc_charset"], ["url", "page_url"], ["refr", "page_referrer"], ["page", "page_title"],
  ["se_ca", "se_category"], ["se_ac", "se_action"], ["se_la", "se_label"], ["se_pr", "se_property"], ["se_va", "se_value"],
  ["tr_id", "tr_orderid"], ["tr_af", "tr_affiliation"], ["tr_tt", "tr_total"], ["tr_tx", "tr_tax"], ["tr_sh", "tr_shipping"],
  ["tr_ci", "tr_city"], ["tr_st", "tr_state"], ["tr_co", "tr_country"], ["tr_cu", "tr_currency"], ["ti_id", "ti_orderid"],
  ["ti_sk", "ti_sku"], ["ti_nm", "ti_name"], ["ti_ca", "ti_category"], ["ti_pr", "ti_price"], ["ti_qu", "ti_quantity"],
  ["ti_cu", "ti_currency"], ["pp_mix", "pp_xoffset_min"], ["pp_max", "pp_xoffset_max"], ["pp_miy", "pp_yoffset_min"],
  ["pp_may", "pp_yoffset_max"],
];
const TIMESTAMP_PARAMETERS = [["dtm", "dvce_created_tstamp"], ["stm", "dvce_sent_tstamp"], ["ttm", "true_tstamp"]] as const;
const DIMENSION_PARAMETERS = [["res", "dvce_screenwidth", "dvce_screenheight"], ["vp", "br_viewwidth", "br_viewheight"], ["ds", "doc_width", "doc_height"]] as const;

interface SelfDescribing {
  schema: string;
  data: unknown;
}

/** The entities of an event, split into the tracker's and the enrichments', each with its full schema URI. */
async function entitiesOf(doc: JsonObject, registry: SchemaRegistry): Promise<{ tracker: SelfDescribing[]; derived: SelfDescribing[] }> {
  const tracker: SelfDescribing[] = [];
  const derived: SelfDescribing[] = [];
  for (const [column, value] of Object.entries(doc)) {
    if (!column.startsWith("contexts_") || !Array.isArray(value)) continue;
    for (const data of value) {
      const schema = (await registry.entityUri(column, data)) ?? `iglu:${column}`;
      (DERIVED_COLUMNS.has(column) ? derived : tracker).push({ schema, data });
    }
  }
  return { tracker, derived };
}

function eventSchemaOf(doc: JsonObject): string | null {
  const { event_vendor: vendor, event_name: name, event_format: format, event_version: version } = doc;
  if (typeof vendor !== "string" || typeof name !== "string") return null;
  return `iglu:${vendor}/${name}/${format ?? "jsonschema"}/${version ?? ""}`;
}

function unstructEventOf(doc: JsonObject, schema: string | null): SelfDescribing | null {
  if (doc.event !== "unstruct" || schema === null) return null;
  const column = Object.keys(doc).find((key) => key.startsWith("unstruct_event_"));
  return column ? { schema, data: doc[column] } : null;
}

const wrapContexts = (entities: SelfDescribing[]) => (entities.length === 0 ? {} : { schema: CONTEXTS_SCHEMA, data: entities });

/** The Scala Analytics SDK's Event as JSON: the 131 fields in order, null when empty. */
function scalaEvent(doc: JsonObject, entities: { tracker: SelfDescribing[]; derived: SelfDescribing[] }, unstruct: SelfDescribing | null) {
  const event: JsonObject = {};
  for (const name of ENRICHED_FIELDS) {
    if (name === "contexts") event.contexts = wrapContexts(entities.tracker);
    else if (name === "derived_contexts") event.derived_contexts = wrapContexts(entities.derived);
    else if (name === "unstruct_event") event.unstruct_event = unstruct ? { schema: UNSTRUCT_EVENT_SCHEMA, data: unstruct } : null;
    else event[name] = doc[name] ?? null;
  }
  return event;
}

function parameterText(value: unknown): string {
  return typeof value === "boolean" ? (value ? "1" : "0") : String(value);
}

/** The tracker parameters as they would have come, rebuilt from the enriched fields they fill. */
function rawEventOf(doc: JsonObject, tracker: SelfDescribing[], unstruct: SelfDescribing | null) {
  const parameters: Record<string, string> = {};
  if (typeof doc.event === "string" && EVENT_CODES[doc.event]) parameters.e = EVENT_CODES[doc.event]!;
  for (const [parameter, field] of PARAMETER_FIELDS) if (doc[field] != null) parameters[parameter] = parameterText(doc[field]);
  for (const [parameter, field] of TIMESTAMP_PARAMETERS) {
    if (typeof doc[field] === "string") parameters[parameter] = String(Date.parse(doc[field] as string));
  }
  for (const [parameter, width, height] of DIMENSION_PARAMETERS) {
    if (doc[width] != null && doc[height] != null) parameters[parameter] = `${doc[width]}x${doc[height]}`;
  }
  if (doc.br_cookies != null) parameters.cookie = parameterText(doc.br_cookies);
  if (unstruct) parameters.ue_pr = JSON.stringify({ schema: UNSTRUCT_EVENT_SCHEMA, data: unstruct });
  if (tracker.length > 0) parameters.co = JSON.stringify({ schema: CONTEXTS_SCHEMA, data: tracker });
  return {
    api: { vendor: "com.snowplowanalytics.snowplow", version: "tp2" },
    parameters,
    contentType: null,
    source: { name: doc.v_collector ?? null, encoding: "UTF-8", hostname: null },
    context: {
      timestamp: doc.collector_tstamp ?? null,
      ipAddress: doc.user_ipaddress ?? null,
      useragent: doc.useragent ?? null,
      refererUri: null,
      headers: [],
      userId: doc.network_userid ?? null,
    },
  };
}

/** Micro's GoodEvent for a stored enriched event. */
export async function goodEvent(record: StoredRecord, registry: SchemaRegistry) {
  const doc = record.doc;
  const schema = eventSchemaOf(doc);
  const entities = await entitiesOf(doc, registry);
  const unstruct = unstructEventOf(doc, schema);
  return {
    rawEvent: rawEventOf(doc, entities.tracker, unstruct),
    eventType: doc.event ?? null,
    schema,
    contexts: entities.tracker.map((entity) => entity.schema),
    event: scalaEvent(doc, entities, unstruct),
  };
}

type NameValue = { name: string; value: string | null };

function nameValues(list: unknown): NameValue[] {
  return Array.isArray(list) ? list.filter((item): item is NameValue => isJsonObject(item) && typeof item.name === "string") : [];
}

/** Micro's BadEvent for a stored bad row: the request and event its payload carries, and the row itself as the error. */
export function badEvent(record: StoredRecord) {
  const row = record.doc;
  const payload = isJsonObject(row.data) ? row.data.payload : undefined;
  const compact = JSON.stringify(row);
  // Per-event failures carry {raw, enriched}; request-level ones the request itself; the rest a plain string.
  const raw = isJsonObject(payload) && isJsonObject(payload.raw) ? payload.raw : null;
  const request = raw ?? (isJsonObject(payload) && typeof payload.vendor === "string" ? payload : null);
  if (!request) return { collectorPayload: null, rawEvent: null, errors: ["Error while extracting event(s) from collector payload and validating it/them.", compact] };
  const parameters = raw ? nameValues(raw.parameters) : nameValues(request.querystring);
  const source = { name: raw ? (raw.loaderName ?? null) : (request.collector ?? null), encoding: request.encoding ?? "UTF-8", hostname: request.hostname ?? null };
  const context = {
    timestamp: request.timestamp ?? null,
    ipAddress: request.ipAddress ?? null,
    useragent: request.useragent ?? null,
    refererUri: request.refererUri ?? null,
    headers: Array.isArray(request.headers) ? request.headers : [],
    userId: raw ? (raw.userId ?? null) : (request.networkUserId ?? null),
  };
  const api = { vendor: request.vendor, version: request.version ?? null };
  const collectorPayload = {
    api,
    querystring: parameters.map(({ name, value }) => (value === null ? name : `${name}=${value}`)),
    contentType: request.contentType ?? null,
    body: raw ? null : (request.body ?? null),
    source,
    context,
  };
  if (!raw) return { collectorPayload, rawEvent: null, errors: ["Error while extracting event(s) from collector payload and validating it/them.", compact] };
  const rawEvent = {
    api,
    parameters: Object.fromEntries(parameters.map(({ name, value }) => [name, value])),
    contentType: request.contentType ?? null,
    source,
    context,
  };
  return { collectorPayload, rawEvent, errors: ["Error while validating the event.", compact] };
}

/** POST /micro/good's filters (every one optional). */
export interface GoodFilters {
  event_type?: string;
  schema?: string;
  contexts?: string[];
  limit?: number;
}

export interface BadFilters {
  vendor?: string;
  version?: string;
  limit?: number;
}

export class MicroFilterError extends Error {}

function optionalString(body: JsonObject, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new MicroFilterError(`${name} must be a string`);
  return value;
}

function optionalLimit(body: JsonObject): number | undefined {
  const value = body.limit;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new MicroFilterError("limit must be a whole number, 0 or more");
  return value;
}

export function goodFilters(body: unknown): GoodFilters {
  if (!isJsonObject(body)) throw new MicroFilterError("the body must be a JSON object");
  const contexts = body.contexts;
  if (contexts !== undefined && contexts !== null && (!Array.isArray(contexts) || contexts.some((c) => typeof c !== "string"))) {
    throw new MicroFilterError("contexts must be a list of schema URIs");
  }
  return { event_type: optionalString(body, "event_type"), schema: optionalString(body, "schema"), contexts: (contexts as string[] | undefined) ?? undefined, limit: optionalLimit(body) };
}

export function badFilters(body: unknown): BadFilters {
  if (!isJsonObject(body)) throw new MicroFilterError("the body must be a JSON object");
  return { vendor: optionalString(body, "vendor"), version: optionalString(body, "version"), limit: optionalLimit(body) };
}

function and(conditions: Condition[]): Condition | null {
  return conditions.reduce<Condition | null>((left, right) => (left ? { kind: "and", left, right } : right), null);
}

/** Good events newest first, filtered as Micro filters them (event type and schema in the store, contexts here). */
export async function goodEvents(store: DashboardStore, registry: SchemaRegistry, filters: GoodFilters) {
  const conditions: Condition[] = [];
  if (filters.event_type !== undefined) conditions.push({ kind: "compare", field: fieldFor("good", "event"), op: "eq", value: filters.event_type });
  if (filters.schema !== undefined) conditions.push({ kind: "compare", field: fieldFor("good", "event_schema"), op: "eq", value: filters.schema });
  const filteredHere = (filters.contexts?.length ?? 0) > 0;
  const page = await store.list("good", {
    range: ALL_TIME,
    condition: and(conditions),
    sort: { field: fieldFor("good", "collector_tstamp"), order: "desc" },
    offset: 0,
    limit: filteredHere ? MICRO_MOST_RECORDS : Math.min(filters.limit ?? MICRO_MOST_RECORDS, MICRO_MOST_RECORDS),
  });
  const events = [];
  for (const record of page.rows) {
    const event = await goodEvent(record, registry);
    if (filteredHere && !filters.contexts!.every((wanted) => event.contexts.includes(wanted))) continue;
    events.push(event);
    if (filters.limit !== undefined && events.length >= filters.limit) break;
  }
  return events;
}

export async function badEvents(store: DashboardStore, filters: BadFilters) {
  const page = await store.list("bad", {
    range: ALL_TIME,
    condition: null,
    sort: { field: fieldFor("bad", "data.failure.timestamp"), order: "desc" },
    offset: 0,
    limit: MICRO_MOST_RECORDS,
  });
  const events = [];
  for (const record of page.rows) {
    const event = badEvent(record);
    const api = event.collectorPayload?.api;
    // Micro: a bad event passes when its collector payload's api matches, or when it has none.
    if (api && filters.vendor !== undefined && api.vendor !== filters.vendor) continue;
    if (api && filters.version !== undefined && api.version !== filters.version) continue;
    events.push(event);
    if (filters.limit !== undefined && events.length >= filters.limit) break;
  }
  return events;
}

export async function microCounts(store: DashboardStore) {
  const [good, bad] = await Promise.all([store.count("good", ALL_TIME, null), store.count("bad", ALL_TIME, null)]);
  return { total: good + bad, good, bad };
}
