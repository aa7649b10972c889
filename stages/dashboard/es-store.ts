/**
 * The dashboard over Elasticsearch (8.x, 9.x) or OpenSearch (2.x). Counts, histograms, top values and
 * exception groups are aggregations run by the cluster. Requests go through the sink's HTTP connection
 * (plain `fetch`: URL list with failover, basic auth, API key, CA certificate) rather than the official
 * `@elastic/elasticsearch` client, which refuses any server that does not name itself Elasticsearch and
 * whose major version must match the server's; the few endpoints used here (_search, _count, scroll,
 * _mapping, index get/delete, cluster health) answer alike on all three.
 *
 * One thing the cluster cannot do here is group bad rows by their failure with the values stripped: that
 * needs code (scripts need the lang-painless module, which these distributions lack, and the stored bad
 * rows are left exactly as Snowplow wrote them). So the failures of the newest bad rows in the range (up
 * to GROUPED_BAD_ROWS) are read and grouped by the same function the SQLite sink uses, and the page says
 * when it grouped fewer rows than the range holds.
 */
import { badRowTypeName, failureSignature } from "../shared/failure-signature";
import { ElasticsearchHttp, type Answer } from "../sink/elasticsearch";
import { TIME_FIELD, type Family, type Field } from "./fields";
import { EVENT_SCHEMA_FIELDS, toEsQuery, type EsQuery } from "./es-search";
import type { Condition } from "./search";
import {
  StoreUnavailableError,
  type DashboardStore,
  type ExceptionGroup,
  type FailureGroups,
  type HistogramPoint,
  type ListRequest,
  type NewRows,
  type Page,
  type StoredRecord,
  type ValueCount,
} from "./store";
import type { TimeRange } from "./time-range";

export interface EsDashboardOptions {
  urls: string[];
  username?: string;
  password?: string;
  apiKey?: string;
  caFile?: string;
  /** Index family names: `good` reads the index `good` and `good-*`. */
  families?: Partial<Record<Family, string>>;
}

/** Bad rows read to group failures; past this the groups are made from the newest ones. */
export const GROUPED_BAD_ROWS = 50_000;
/** Elasticsearch's index.max_result_window: paging stops there. */
const DEEPEST_ROW = 10_000;

type Hit = { _id: string; _source?: Record<string, unknown>; sort?: unknown[] };
type SearchAnswer = { hits: { total?: { value: number } | number; hits: Hit[] }; aggregations?: any; _scroll_id?: string };

/** Missing indices are no error: a family nothing was written to yet reads as empty. */
const LENIENT = "ignore_unavailable=true&allow_no_indices=true";

export class EsDashboardStore implements DashboardStore {
  readonly description: string;
  private readonly http: ElasticsearchHttp;
  private readonly indices: Record<Family, string>;

  constructor(options: EsDashboardOptions) {
    this.description = `Elasticsearch at ${options.urls.join(",")}`;
    const families = { good: "good", bad: "bad", logs: "logs", ...options.families };
    const both = (name: string) => `${encodeURIComponent(name)},${encodeURIComponent(name)}-*`;
    this.indices = { good: both(families.good), bad: both(families.bad), logs: both(families.logs) };
    this.http = new ElasticsearchHttp({
      urls: options.urls,
      username: options.username,
      password: options.password,
      apiKey: options.apiKey,
      caFile: options.caFile,
      requestTimeoutMs: 30_000,
    });
  }

  /**
   * One request; a connection that fails is tried once more (on the next node when there are several).
   * Unreachable or refused → StoreUnavailableError with the cluster's reason.
   */
  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    let answer: Answer = await this.http.request(method, path, text);
    if (answer.status === undefined) answer = await this.http.request(method, path, text);
    if (answer.status === undefined) throw new StoreUnavailableError(`${this.description} cannot be reached: ${answer.message}`);
    if (answer.status >= 300) throw new StoreUnavailableError(`${this.description} answered ${answer.status}: ${reasonOf(answer)}`);
    return answer.body as T;
  }

  private filter(family: Family, range: TimeRange, condition: Condition | null): EsQuery {
    const time = { range: { [TIME_FIELD[family]]: { gte: range.from, lt: range.to, format: "epoch_millis" } } };
    return { bool: { filter: condition ? [time, toEsQuery(condition)] : [time] } };
  }

  private search(family: Family, body: Record<string, unknown>, scroll?: string): Promise<SearchAnswer> {
    return this.call("POST", `/${this.indices[family]}/_search?${LENIENT}${scroll ? `&scroll=${scroll}` : ""}`, body);
  }

  async check(): Promise<void> {
    await this.call("GET", "/_cluster/health?timeout=5s");
  }

  async count(family: Family, range: TimeRange, condition: Condition | null): Promise<number> {
    const answer = await this.call<{ count: number }>("POST", `/${this.indices[family]}/_count?${LENIENT}`, { query: this.filter(family, range, condition) });
    return answer.count;
  }

  async histogram(family: Family, range: TimeRange, bucketMs: number, split?: Field): Promise<HistogramPoint[]> {
    const answer = await this.search(family, {
      size: 0,
      query: this.filter(family, range, null),
      aggs: {
        over_time: {
          date_histogram: { field: TIME_FIELD[family], fixed_interval: `${bucketMs}ms`, min_doc_count: 1 },
          aggs: split ? { split: { terms: { field: split.esExact, size: 20, missing: "(none)" } } } : {},
        },
      },
    });
    const points: HistogramPoint[] = [];
    for (const bucket of answer.aggregations?.over_time.buckets ?? []) {
      if (!split) points.push({ t: bucket.key, key: null, count: bucket.doc_count });
      else for (const inner of bucket.split.buckets) points.push({ t: bucket.key, key: inner.key === "(none)" ? null : String(inner.key), count: inner.doc_count });
    }
    return points;
  }

  async top(family: Family, field: Field, range: TimeRange, limit: number): Promise<ValueCount[]> {
    if (family === "good" && field.name === "event_schema") return this.topEventSchemas(range, limit);
    const answer = await this.search(family, {
      size: 0,
      query: this.filter(family, range, null),
      aggs: { top: { terms: { field: field.esExact, size: limit } } },
    });
    return (answer.aggregations?.top.buckets ?? []).map((bucket: any) => ({ value: String(bucket.key_as_string ?? bucket.key), count: bucket.doc_count }));
  }

  /**
   * The schema is four fields in the document; multi_terms is not in this distribution, so the four are
   * nested terms aggregations whose leaves are ranked here.
   */
  private async topEventSchemas(range: TimeRange, limit: number): Promise<ValueCount[]> {
    const nested = (level: number): Record<string, unknown> =>
      level === EVENT_SCHEMA_FIELDS.length
        ? {}
        : { [`l${level}`]: { terms: { field: EVENT_SCHEMA_FIELDS[level], size: 100 }, aggs: nested(level + 1) } };
    const answer = await this.search("good", { size: 0, query: this.filter("good", range, null), aggs: nested(0) });
    const counts: ValueCount[] = [];
    const walk = (aggregation: any, level: number, parts: string[]) => {
      for (const bucket of aggregation?.buckets ?? []) {
        const next = [...parts, String(bucket.key)];
        if (level === EVENT_SCHEMA_FIELDS.length - 1) counts.push({ value: `iglu:${next.join("/")}`, count: bucket.doc_count });
        else walk(bucket[`l${level + 1}`], level + 1, next);
      }
    };
    walk(answer.aggregations?.l0, 0, []);
    return counts.sort((a, b) => b.count - a.count || a.value.localeCompare(b.value)).slice(0, limit);
  }

  async list(family: Family, request: ListRequest): Promise<Page> {
    const answer = await this.search(family, {
      query: this.filter(family, request.range, request.condition),
      sort: [{ [request.sort.field.esExact]: { order: request.sort.order, unmapped_type: "keyword" } }],
      from: Math.min(request.offset, DEEPEST_ROW - request.limit),
      size: request.limit,
      track_total_hits: true,
    });
    return { total: totalOf(answer.hits.total), rows: answer.hits.hits.map((hit) => toRecord(hit, family)) };
  }

  async get(family: Family, id: string): Promise<StoredRecord | null> {
    const answer = await this.search(family, { query: { ids: { values: [id] } }, size: 1 });
    const hit = answer.hits.hits[0];
    return hit ? toRecord(hit, family) : null;
  }

  /** The failures of the newest bad rows in the range, read in pages through a scroll. */
  private async *badRowFailures(range: TimeRange): AsyncGenerator<Hit> {
    let answer = await this.search("bad", {
      query: this.filter("bad", range, null),
      sort: [{ "data.failure.timestamp": "desc" }],
      _source: ["schema", "data.failure"],
      size: 5000,
    }, "30s");
    let read = 0;
    try {
      while (answer.hits.hits.length > 0 && read < GROUPED_BAD_ROWS) {
        for (const hit of answer.hits.hits) {
          if (read++ >= GROUPED_BAD_ROWS) break;
          yield hit;
        }
        const scrollId = answer._scroll_id!;
        answer = await this.call<SearchAnswer>("POST", "/_search/scroll", { scroll_id: scrollId, scroll: "30s" });
      }
    } finally {
      const scrollId = answer._scroll_id;
      if (scrollId) await this.call("DELETE", "/_search/scroll", { scroll_id: scrollId }).catch(() => undefined);
    }
  }

  async failureGroups(range: TimeRange, limit: number): Promise<FailureGroups> {
    const groups = new Map<string, FailureGroups["groups"][number]>();
    let grouped = 0;
    for await (const hit of this.badRowFailures(range)) {
      grouped++;
      const type = badRowTypeName(hit._source?.schema) ?? "";
      const signature = failureSignature(hit._source);
      const key = `${type}\u0000${signature}`;
      const time = timeOf(hit._source, "bad") ?? 0;
      const group = groups.get(key);
      if (group) {
        group.count++;
        group.last = Math.max(group.last, time);
      } else groups.set(key, { type, signature, count: 1, last: time });
    }
    const sorted = [...groups.values()].sort((a, b) => b.count - a.count || a.type.localeCompare(b.type) || a.signature.localeCompare(b.signature));
    return { groups: sorted.slice(0, limit), grouped };
  }

  async badRowsOfGroup(range: TimeRange, type: string, signature: string, offset: number, limit: number): Promise<Page> {
    const ids: string[] = [];
    for await (const hit of this.badRowFailures(range)) {
      if ((badRowTypeName(hit._source?.schema) ?? "") === type && failureSignature(hit._source) === signature) ids.push(hit._id);
    }
    const wanted = ids.slice(offset, offset + limit);
    if (wanted.length === 0) return { total: ids.length, rows: [] };
    const answer = await this.search("bad", { query: { ids: { values: wanted } }, size: wanted.length });
    const byId = new Map(answer.hits.hits.map((hit) => [hit._id, toRecord(hit, "bad")]));
    return { total: ids.length, rows: wanted.flatMap((id) => byId.get(id) ?? []) };
  }

  async exceptionGroups(range: TimeRange, limit: number): Promise<ExceptionGroup[]> {
    const answer = await this.search("logs", {
      size: 0,
      query: this.filter("logs", range, null),
      aggs: {
        classes: {
          terms: { field: "exception.class", size: limit },
          aggs: {
            first: { min: { field: "@timestamp" } },
            last: { max: { field: "@timestamp" } },
            newest: { top_hits: { size: 1, sort: [{ "@timestamp": "desc" }] } },
          },
        },
      },
    });
    return (answer.aggregations?.classes.buckets ?? []).map((bucket: any) => ({
      className: String(bucket.key),
      count: bucket.doc_count,
      first: bucket.first.value,
      last: bucket.last.value,
      sample: toRecord(bucket.newest.hits.hits[0], "logs"),
    }));
  }

  async entityCounts(range: TimeRange): Promise<Map<string, number>> {
    const mappings = await this.call<Record<string, unknown>>("GET", `/${this.indices.good}/_mapping?${LENIENT}`);
    const columns = new Set<string>();
    for (const index of Object.values(mappings)) {
      for (const name of Object.keys((index as any).mappings?.properties ?? {})) if (name.startsWith("contexts_")) columns.add(name);
    }
    const counts = new Map<string, number>();
    if (columns.size === 0) return counts;
    const answer = await this.search("good", {
      size: 0,
      query: this.filter("good", range, null),
      aggs: { entities: { filters: { filters: Object.fromEntries([...columns].map((column) => [column, { exists: { field: column } }])) } } },
    });
    for (const [column, bucket] of Object.entries(answer.aggregations?.entities.buckets ?? {})) {
      if ((bucket as any).doc_count > 0) counts.set(column, (bucket as any).doc_count);
    }
    return counts;
  }

  /** In the order written: each index's `_seq_no` (good and bad are single indices as the sinks write them). */
  async newest(family: "good" | "bad", cursor: number | null, limit: number): Promise<NewRows> {
    if (cursor === null) {
      const answer = await this.search(family, { size: 1, sort: [{ _seq_no: "desc" }], seq_no_primary_term: true, _source: false });
      return { cursor: (answer.hits.hits[0] as any)?._seq_no ?? -1, rows: [] };
    }
    const answer = await this.search(family, {
      size: limit,
      sort: [{ _seq_no: "asc" }],
      search_after: [cursor],
      seq_no_primary_term: true,
    });
    const hits = answer.hits.hits;
    return { cursor: (hits.at(-1) as any)?._seq_no ?? cursor, rows: hits.map((hit) => toRecord(hit, family)) };
  }

  /** No delete-by-query in these distributions: the good and bad indices are deleted whole (templates stay). */
  async reset(): Promise<void> {
    for (const family of ["good", "bad"] as const) {
      const found = await this.call<Record<string, unknown>>("GET", `/${this.indices[family]}?${LENIENT}&expand_wildcards=open`);
      const names = Object.keys(found);
      if (names.length > 0) await this.call("DELETE", `/${names.map(encodeURIComponent).join(",")}`);
    }
  }

  async close(): Promise<void> {}
}

function totalOf(total: { value: number } | number | undefined): number {
  return typeof total === "number" ? total : (total?.value ?? 0);
}

function timeOf(source: Record<string, unknown> | undefined, family: Family): number | null {
  let value: unknown = source;
  for (const part of family === "logs" ? ["@timestamp"] : TIME_FIELD[family].split(".")) {
    value = value && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value !== "string" && typeof value !== "number") return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : ms;
}

function toRecord(hit: Hit, family: Family): StoredRecord {
  const doc = hit._source ?? {};
  return { id: hit._id, time: timeOf(doc, family), doc };
}

/** The first root cause's reason: the sentence that says what was wrong with the request. */
function reasonOf(answer: Answer): string {
  const error = (answer.body as { error?: { reason?: string; root_cause?: { reason?: string }[] } } | null)?.error;
  return (typeof error === "object" && (error?.root_cause?.[0]?.reason ?? error?.reason)) || answer.message;
}
