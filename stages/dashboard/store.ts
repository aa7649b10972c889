/**
 * What the dashboard asks of a store. Two implementations answer it, SQLite (./sqlite-store) and
 * Elasticsearch (./es-store), each with its own engine doing the counting and grouping; the page queries
 * (./queries) and the Micro API (./micro) are written once against this interface.
 */
import type { Family, Field } from "./fields";
import type { Condition } from "./search";
import type { TimeRange } from "./time-range";

/** One stored record: its id, its time (ms) and the document as stored. */
export interface StoredRecord {
  id: string;
  time: number | null;
  doc: Record<string, unknown>;
}

export interface ValueCount {
  value: string;
  count: number;
}

export interface HistogramPoint {
  /** Bucket start, ms. */
  t: number;
  /** The split field's value in that bucket (null when not split). */
  key: string | null;
  count: number;
}

export interface ListRequest {
  range: TimeRange;
  condition: Condition | null;
  sort: { field: Field; order: "asc" | "desc" };
  offset: number;
  limit: number;
}

export interface Page {
  total: number;
  rows: StoredRecord[];
  /**
   * Set when the store searched only the newest records of the range (SQLite, for a field without a
   * column): `total` counts the matches among the newest `newest` of the range's `of` records.
   */
  scanned?: { newest: number; of: number };
}

export interface FailureGroup {
  type: string;
  signature: string;
  count: number;
  /** Newest row of the group, ms. */
  last: number;
}

export interface FailureGroups {
  groups: FailureGroup[];
  /** How many bad rows the groups were made from; below the range's count when a store could only sample. */
  grouped: number;
}

export interface ExceptionGroup {
  className: string;
  count: number;
  first: number;
  last: number;
  /** The newest log record of the group, for its message and full stack trace. */
  sample: StoredRecord;
}

/** Rows written after a cursor, oldest first, and the cursor to ask from next. */
export interface NewRows {
  cursor: number;
  rows: StoredRecord[];
}

/**
 * How many of the newest records of a range SQLite reads for a search or sort on a field without an indexed
 * column (`telemetry dashboard --scan-limit`): each such record is read and its JSON parsed, 4–25 µs apiece here.
 */
export const DEFAULT_SCAN_LIMIT = 10_000;

/** The store cannot be reached or read now; the dashboard says so and keeps asking. */
export class StoreUnavailableError extends Error {}

export interface DashboardStore {
  /** How messages name it. */
  readonly description: string;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  check(): Promise<void>;
  count(family: Family, range: TimeRange, condition: Condition | null): Promise<number>;
  /** Records per epoch-aligned bucket of `bucketMs`, split by a field's values when `split` is given. */
  histogram(family: Family, range: TimeRange, bucketMs: number, split?: Field): Promise<HistogramPoint[]>;
  /** The most frequent values of a field, most frequent first. */
  top(family: Family, field: Field, range: TimeRange, limit: number): Promise<ValueCount[]>;
  list(family: Family, request: ListRequest): Promise<Page>;
  get(family: Family, id: string): Promise<StoredRecord | null>;
  /** Bad rows grouped by type and failure signature (the failure without its values), largest first. */
  failureGroups(range: TimeRange, limit: number): Promise<FailureGroups>;
  /** The bad rows of one group, newest first. */
  badRowsOfGroup(range: TimeRange, type: string, signature: string, offset: number, limit: number): Promise<Page>;
  /** Logs with an exception, grouped by the root cause's class, largest first. */
  exceptionGroups(range: TimeRange, limit: number): Promise<ExceptionGroup[]>;
  /** Good events per entity column (contexts_<vendor>_<name>_<model>) they carry. */
  entityCounts(range: TimeRange): Promise<Map<string, number>>;
  /** Rows stored after `cursor` (null: none, just the cursor for now), in the order they were written. */
  newest(family: "good" | "bad", cursor: number | null, limit: number): Promise<NewRows>;
  /** Deletes every good event and bad row (Micro's reset). */
  reset(): Promise<void>;
  close(): Promise<void>;
}
