/**
 * The time window every page shows, and the bucket width its charts use. Buckets are aligned to the epoch
 * (as Elasticsearch's fixed-interval date_histogram aligns them), so both stores answer with the same bars.
 */
export interface TimeRange {
  /** Inclusive, ms since the epoch. */
  from: number;
  /** Exclusive, ms since the epoch. */
  to: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The relative ranges the picker offers: 15 minutes … 30 days. */
export const RELATIVE_RANGES: Readonly<Record<string, number>> = {
  "15m": 15 * MINUTE,
  "1h": HOUR,
  "4h": 4 * HOUR,
  "24h": DAY,
  "7d": 7 * DAY,
  "30d": 30 * DAY,
};

const BUCKETS = [SECOND, 5 * SECOND, 10 * SECOND, 30 * SECOND, MINUTE, 5 * MINUTE, 10 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 7 * DAY];
const MOST_BARS = 120;

/** The narrowest bucket that draws the range in at most 120 bars. */
export function bucketFor(range: TimeRange): number {
  const span = Math.max(1, range.to - range.from);
  return BUCKETS.find((bucket) => span / bucket <= MOST_BARS) ?? Math.ceil(span / MOST_BARS / DAY) * DAY;
}

export class RangeError extends Error {}

/** A time as the URL gives it: ms since the epoch, or an ISO-8601 date. */
export function parseTime(text: string, what: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new RangeError(`${what} "${text}" is not a time (ms since 1970 or ISO-8601)`);
  return ms;
}

/** `range=15m` (ending now), or `from` and `to`; the last 24 hours when neither is given. */
export function rangeFromQuery(params: URLSearchParams, now = Date.now()): TimeRange {
  const from = params.get("from");
  const to = params.get("to");
  if (from || to) {
    const range = { from: from ? parseTime(from, "from") : 0, to: to ? parseTime(to, "to") : now };
    if (range.from >= range.to) throw new RangeError("from must be before to");
    return range;
  }
  const relative = params.get("range") ?? "24h";
  const span = RELATIVE_RANGES[relative];
  if (span === undefined) throw new RangeError(`range "${relative}" is not one of ${Object.keys(RELATIVE_RANGES).join(", ")}`);
  return { from: now - span, to: now };
}

/** Every bucket start in the range, so empty buckets chart as zero rather than as a gap. */
export function bucketStarts(range: TimeRange, bucket: number): number[] {
  const starts: number[] = [];
  for (let t = Math.floor(range.from / bucket) * bucket; t < range.to; t += bucket) starts.push(t);
  return starts;
}
