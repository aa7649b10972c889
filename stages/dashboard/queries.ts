/**
 * What each page shows, as plain functions over a DashboardStore: the HTTP routes call these and send
 * their answers as JSON; the bench times them one by one.
 */
import { decodePayload } from "./bad-payload";
import { fieldFor, TIME_FIELD, type Family } from "./fields";
import type { Condition } from "./search";
import type { DashboardStore, HistogramPoint, StoredRecord, ValueCount } from "./store";
import { bucketFor, bucketStarts, type TimeRange } from "./time-range";

/** A chart's data: bucket starts and one series of counts per name, zeros where nothing was stored. */
export interface Chart {
  bucketMs: number;
  t: number[];
  series: Record<string, number[]>;
}

function chart(range: TimeRange, bucketMs: number, series: Record<string, HistogramPoint[]>): Chart {
  const t = bucketStarts(range, bucketMs);
  const index = new Map(t.map((start, i) => [start, i]));
  const out: Record<string, number[]> = {};
  for (const [name, points] of Object.entries(series)) {
    const counts = new Array<number>(t.length).fill(0);
    for (const point of points) {
      const i = index.get(point.t);
      if (i !== undefined) counts[i]! += point.count;
    }
    out[name] = counts;
  }
  return { bucketMs, t, series: out };
}

/** Split by a field: one series per value. */
function splitChart(range: TimeRange, bucketMs: number, points: HistogramPoint[]): Chart {
  const byKey: Record<string, HistogramPoint[]> = {};
  for (const point of points) (byKey[point.key ?? "(none)"] ??= []).push(point);
  return chart(range, bucketMs, byKey);
}

export const TOP_FIELDS = ["app_id", "platform", "event_name", "event_schema", "page_url"] as const;
const TOP_LIMIT = 10;

export interface Overview {
  counts: { good: number; bad: number; logs: number; logErrors: number };
  chart: Chart;
  top: Record<(typeof TOP_FIELDS)[number], ValueCount[]>;
}

export async function overview(store: DashboardStore, range: TimeRange): Promise<Overview> {
  const bucketMs = bucketFor(range);
  const level = fieldFor("logs", "level");
  const [good, bad, logs, logErrors, goodPoints, badPoints, ...tops] = await Promise.all([
    store.count("good", range, null),
    store.count("bad", range, null),
    store.count("logs", range, null),
    store.count("logs", range, { kind: "compare", field: level, op: "eq", value: "ERROR" }),
    store.histogram("good", range, bucketMs),
    store.histogram("bad", range, bucketMs),
    ...TOP_FIELDS.map((name) => store.top("good", fieldFor("good", name), range, TOP_LIMIT)),
  ]);
  return {
    counts: { good, bad, logs, logErrors },
    chart: chart(range, bucketMs, { good: goodPoints, bad: badPoints }),
    top: Object.fromEntries(TOP_FIELDS.map((name, i) => [name, tops[i]!])) as Overview["top"],
  };
}

export interface RowsRequest {
  range: TimeRange;
  condition: Condition | null;
  sortField?: string;
  order: "asc" | "desc";
  offset: number;
  limit: number;
}

/** Events, bad rows or logs matching a search, one page of them, sorted in the store. */
export async function records(store: DashboardStore, family: Family, request: RowsRequest) {
  const field = fieldFor(family, request.sortField || TIME_FIELD[family]);
  return store.list(family, {
    range: request.range,
    condition: request.condition,
    sort: { field, order: request.order },
    offset: request.offset,
    limit: request.limit,
  });
}

/** A bad row as the page shows it: the row, and its payload with encoded parts decoded. */
export function readableBadRow(row: StoredRecord) {
  const data = row.doc.data as { payload?: unknown } | undefined;
  return { ...row, payload: decodePayload(data?.payload) };
}

export async function badRowsOverview(store: DashboardStore, range: TimeRange) {
  const bucketMs = bucketFor(range);
  const [total, points, byType, failures] = await Promise.all([
    store.count("bad", range, null),
    store.histogram("bad", range, bucketMs),
    store.top("bad", fieldFor("bad", "type"), range, 50),
    store.failureGroups(range, 200),
  ]);
  return { total, chart: chart(range, bucketMs, { bad: points }), byType: byTypeNames(byType), ...failures };
}

/** Elasticsearch counts by schema URI; the page shows the type's name. */
function byTypeNames(counts: ValueCount[]): ValueCount[] {
  const merged = new Map<string, number>();
  for (const { value, count } of counts) {
    const name = /badrows\/([^/]+)\//.exec(value)?.[1] ?? value;
    merged.set(name, (merged.get(name) ?? 0) + count);
  }
  return [...merged].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count);
}

export async function badRowsOfGroup(store: DashboardStore, range: TimeRange, type: string, signature: string, offset: number, limit: number) {
  const page = await store.badRowsOfGroup(range, type, signature, offset, limit);
  return { total: page.total, rows: page.rows.map(readableBadRow) };
}

export async function logsOverview(store: DashboardStore, range: TimeRange) {
  const bucketMs = bucketFor(range);
  const [total, points, exceptions] = await Promise.all([
    store.count("logs", range, null),
    store.histogram("logs", range, bucketMs, fieldFor("logs", "level")),
    store.exceptionGroups(range, 50),
  ]);
  return { total, chart: splitChart(range, bucketMs, points), exceptions };
}
