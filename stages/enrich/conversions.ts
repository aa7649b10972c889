/**
 * Turning tracker parameter strings into typed column values, with Enrich's rules: TSV-safe strings,
 * Java-int ranges, ms timestamps inside years 0–9999, `1`/`0` booleans, `WIDTHxHEIGHT` dimensions.
 * Each parser returns the value, or a `Rejection` saying what was expected, for the bad row.
 */

export class Rejection {
  constructor(readonly expectation: string) {}
}

const CONTROL = /[\x00-\x1f\x7f]/;
const CONTROL_GLOBAL = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** Tabs become four spaces, other control characters go; an empty result is null (Enrich's toTsvSafe). */
export function tsvSafe(value: string): string | null {
  if (value.length === 0) return null;
  if (!CONTROL.test(value)) return value;
  const cleaned = value.replaceAll("\t", "    ").replace(CONTROL_GLOBAL, "");
  return cleaned.length === 0 ? null : cleaned;
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const INTEGER = /^[+-]?\d+$/;

/** A Java int, as Enrich's field mapper requires for vid, tid, ti_qu and the page-ping offsets. */
export function parseInteger(value: string): number | Rejection {
  if (!INTEGER.test(value)) return new Rejection("an integer");
  const number = Number(value);
  return number >= INT_MIN && number <= INT_MAX ? number : new Rejection("an integer within the 32-bit range");
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseDecimal(value: string): number | Rejection {
  if (!DECIMAL.test(value)) return new Rejection("a decimal number");
  const number = Number(value);
  return Number.isFinite(number) ? number : new Rejection("a finite decimal number");
}

/** Milliseconds of 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
const EARLIEST_MS = -62167219200000;
const LATEST_MS = 253402300799999;

/** Whether `ms` lands inside years 0–9999, the range Enrich's timestamp columns hold. */
export function isTimestampInRange(ms: number): boolean {
  return ms >= EARLIEST_MS && ms <= LATEST_MS;
}

/** Milliseconds since the epoch, an integer that lands inside years 0–9999. */
export function parseTimestamp(value: string): number | Rejection {
  if (!INTEGER.test(value)) return new Rejection("a timestamp in milliseconds since the epoch");
  const ms = Number(value);
  return isTimestampInRange(ms) ? ms : new Rejection("a timestamp between years 0 and 9999");
}

export function parseBooleanFlag(value: string): boolean | Rejection {
  if (value === "1") return true;
  if (value === "0") return false;
  return new Rejection("1 or 0");
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A UUID, lower-cased as Enrich stores event ids and session ids. */
export function parseUuid(value: string): string | Rejection {
  return UUID.test(value) ? value.toLowerCase() : new Rejection("a UUID");
}

const DIMENSIONS = /^(\d+)x(\d+)$/;

/** `WIDTHxHEIGHT` (screen, viewport, document size) as two Java ints. */
export function parseDimensions(value: string): [number, number] | Rejection {
  const match = DIMENSIONS.exec(value);
  if (!match) return new Rejection("WIDTHxHEIGHT with two integers");
  const width = Number(match[1]);
  const height = Number(match[2]);
  if (width > INT_MAX || height > INT_MAX) return new Rejection("WIDTHxHEIGHT within the 32-bit range");
  return [width, height];
}

/** The first address of a comma, pipe or space separated list, as the collector and proxies write them. */
export function firstAddress(value: string): string | null {
  const trimmed = value.trim();
  const end = trimmed.search(/[,| ]/);
  const first = end === -1 ? trimmed : trimmed.slice(0, end);
  return first.length === 0 ? null : first;
}
