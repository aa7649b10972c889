/**
 * The SQLite dashboard's roll-ups and sort paths give the answers the rows give: counts, charts, top lists
 * and entity counts over ranges with ragged edges (whole days from the day roll-up, whole hours from the
 * hour roll-up, the ends from the rows), after events were overwritten with other values; a file from a
 * sink without roll-ups gets them on open; sorting by a column gives the same order by either plan; a
 * search on a field without a column reads only the newest records of a large range and says so.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fieldFor } from "../../stages/dashboard/fields";
import { parseSearch } from "../../stages/dashboard/search";
import { toSql } from "../../stages/dashboard/sql-search";
import { segments } from "../../stages/dashboard/sqlite-aggregate";
import { SqliteDashboardStore } from "../../stages/dashboard/sqlite-store";
import type { TimeRange } from "../../stages/dashboard/time-range";
import { routeByKind, toDocument } from "../../stages/sink/document";
import { SqliteStore } from "../../stages/sink/sqlite";
import { rollupsFor, rollupTable } from "../../stages/sink/sqlite-rollups";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse("2025-11-24T00:00:00Z");
const work = mkdtempSync(join(tmpdir(), "telemetry-sqlite-rollups-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A repeatable pseudo-random sequence, so a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

type Event = Record<string, unknown> & { event_id: string; collector_tstamp: string };

function makeEvent(n: number, next: () => number, ms: number): Event {
  const pick = <T>(values: T[]) => values[Math.floor(next() * values.length)]!;
  const app = pick(["shop", "blog", "docs", undefined]);
  const kind = pick(["page_view", "link_click", "checkout"]);
  return {
    event_id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    collector_tstamp: new Date(ms).toISOString(),
    ...(app ? { app_id: app } : {}),
    platform: pick(["web", "mob"]),
    event: kind === "page_view" ? "page_view" : "unstruct",
    event_name: kind,
    ...(kind === "page_view" ? {} : { event_vendor: "com.acme", event_format: "jsonschema", event_version: "1-0-0" }),
    page_url: `https://shop.example.com/${Math.floor(next() * 30)}`,
    br_viewwidth: Math.floor(next() * 2000),
    ...(next() < 0.5 ? { contexts_com_acme_user_1: [{ id: n }] } : {}),
    ...(next() < 0.3 ? { contexts_com_acme_cart_1: [{}] } : {}),
  };
}

async function store(path: string, events: object[]): Promise<void> {
  const sink = new SqliteStore(path);
  const documents = events.map((record, i) => {
    const text = JSON.stringify(record);
    const document = toDocument({ line: i + 1, text, value: record } as never, routeByKind());
    if ("problem" in document) throw new Error(document.problem);
    return document;
  });
  for (let i = 0; i < documents.length; i += 500) await sink.write(documents.slice(i, i + 500));
  await sink.close();
}

/** Four days of events, each at its own millisecond; then a fifth of them sent again with other values. */
const next = random(7);
const times = new Set<number>();
while (times.size < 3000) times.add(START + Math.floor(next() * 4 * DAY));
const first = [...times].map((ms, n) => makeEvent(n, next, ms));
const resent = first.filter((_, n) => n % 5 === 0).map((event, n) => ({ ...makeEvent(n, next, START + Math.floor(next() * 4 * DAY)), event_id: event.event_id }));
const final = new Map(first.map((event) => [event.event_id, event]));
for (const event of resent) final.set(event.event_id, event);
const events = [...final.values()];
const msOf = (event: Event) => Date.parse(event.collector_tstamp);

const ranges: TimeRange[] = [
  { from: START, to: START + 4 * DAY },
  { from: START + 13 * 60_000 + 7, to: START + 3 * DAY + 5 * HOUR + 59_999 },
  { from: START + DAY + 2 * HOUR, to: START + DAY + 3 * HOUR },
  { from: START + DAY + 90 * 60_000, to: START + DAY + 100 * 60_000 },
  { from: 0, to: 8_640_000_000_000_000 },
];
for (let i = 0; i < 6; i++) {
  const a = START - HOUR + Math.floor(next() * 5 * DAY);
  const b = START - HOUR + Math.floor(next() * 5 * DAY);
  if (a !== b) ranges.push({ from: Math.min(a, b), to: Math.max(a, b) });
}
const within = (range: TimeRange) => events.filter((event) => msOf(event) >= range.from && msOf(event) < range.to);

function tally(items: Event[], key: (event: Event) => unknown): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const value = key(item);
    if (value !== undefined && value !== null) counts.set(String(value), (counts.get(String(value)) ?? 0) + 1);
  }
  return counts;
}

const schemaOf = (event: Event) => (event.event_vendor ? `iglu:com.acme/${event.event_name}/jsonschema/1-0-0` : undefined);

let db: string;
let dashboard: SqliteDashboardStore;
beforeAll(async () => {
  db = join(work, "rollups.db");
  await store(db, first);
  await store(db, resent);
  dashboard = new SqliteDashboardStore(db);
}, 60_000);
afterAll(() => dashboard?.close());

describe("answers from the roll-ups equal the rows'", () => {
  test("a range is cut into days, hours and rows, and the pieces cover it exactly", () => {
    const range = { from: START + 13 * 60_000, to: START + 2 * DAY + 5 * HOUR + 1 };
    const parts = segments(range, [DAY, HOUR]);
    expect(parts.map((part) => part.level)).toEqual([null, HOUR, DAY, HOUR, null]);
    expect(parts[0]!.from).toBe(range.from);
    expect(parts.at(-1)!.to).toBe(range.to);
    for (let i = 1; i < parts.length; i++) expect(parts[i]!.from).toBe(parts[i - 1]!.to);
    expect(segments({ from: 5, to: 10 }, [DAY, HOUR])).toEqual([{ level: null, from: 5, to: 10 }]);
  });

  test("the roll-ups are there and hold every stored event once", () => {
    const file = new Database(db, { readonly: true });
    for (const rollup of rollupsFor("good")) {
      for (const level of [HOUR, DAY]) {
        const { n } = file.query(`SELECT sum(n) AS n FROM "${rollupTable("good", rollup)}" WHERE level = ?`).get(level) as { n: number };
        expect(n).toBe(events.length);
      }
    }
    file.close();
  });

  test("counts, top values, charts and entity counts, over ranges with ragged edges", async () => {
    for (const range of ranges) {
      const inRange = within(range);
      expect(await dashboard.count("good", range, null)).toBe(inRange.length);
      for (const [name, key] of [
        ["app_id", (event: Event) => event.app_id],
        ["event_name", (event: Event) => event.event_name],
        ["event_schema", schemaOf],
        ["page_url", (event: Event) => event.page_url],
      ] as const) {
        const top = await dashboard.top("good", fieldFor("good", name), range, 1000);
        expect(new Map(top.map(({ value, count }) => [value, count]))).toEqual(tally(inRange, key));
      }
      for (const bucket of [10 * 60_000, HOUR, 3 * HOUR, DAY]) {
        const points = await dashboard.histogram("good", range, bucket);
        const expected = tally(inRange, (event) => Math.floor(msOf(event) / bucket) * bucket);
        expect(new Map(points.map((point) => [String(point.t), point.count]))).toEqual(expected);
      }
      const entities = await dashboard.entityCounts(range);
      expect(entities.get("contexts_com_acme_user_1") ?? 0).toBe(inRange.filter((event) => event.contexts_com_acme_user_1).length);
      expect(entities.get("contexts_com_acme_cart_1") ?? 0).toBe(inRange.filter((event) => event.contexts_com_acme_cart_1).length);
    }
  });

  test("a search over the roll-up's columns counts as the rows do; one on another column reads the rows", async () => {
    const file = new Database(db, { readonly: true });
    for (const text of ["app_id:sh*", "NOT platform:web AND event_name:checkout", "event:unstruct OR app_id:docs", "page_url:*7", "collector_tstamp:>\"2025-11-25T12:00:00Z\""]) {
      const condition = parseSearch(text, "good")!;
      const sql = toSql(condition);
      for (const range of ranges) {
        const rows = file.query(`SELECT count(*) AS n FROM good WHERE ts >= ? AND ts < ? AND ${sql.sql}`).get(range.from, range.to, ...sql.params) as { n: number };
        expect(await dashboard.count("good", range, condition)).toBe(rows.n);
      }
    }
    file.close();
  });
});

describe("sorted pages", () => {
  /** The order the dashboard promises: the column (missing first, ascending), then time. */
  function sorted(items: Event[], field: string, order: "asc" | "desc"): string[] {
    const value = (event: Event) => (event[field] === undefined ? null : String(event[field]));
    const ordered = [...items].sort((a, b) => {
      const [x, y] = [value(a), value(b)];
      if (x !== y) return x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      return msOf(a) - msOf(b);
    });
    return (order === "asc" ? ordered : ordered.reverse()).map((event) => event.event_id);
  }

  test("by a column, from the roll-up's counts or by sorting the range, in the same order as the rows", async () => {
    // app_id through the roll-up; page_url with a search on event_name (another roll-up) by sorting.
    for (const range of [ranges[0]!, ranges[2]!, ranges[1]!]) {
      for (const order of ["asc", "desc"] as const) {
        for (const offset of [0, 50, 120]) {
          const page = await dashboard.list("good", { range, condition: null, sort: { field: fieldFor("good", "app_id"), order }, offset, limit: 50 });
          expect(page.total).toBe(within(range).length);
          expect(page.rows.map((row) => row.id)).toEqual(sorted(within(range), "app_id", order).slice(offset, offset + 50));
        }
      }
      const condition = parseSearch("event_name:checkout", "good");
      const page = await dashboard.list("good", { range, condition, sort: { field: fieldFor("good", "page_url"), order: "asc" }, offset: 10, limit: 20 });
      const matching = within(range).filter((event) => event.event_name === "checkout");
      expect(page.total).toBe(matching.length);
      expect(page.rows.map((row) => row.id)).toEqual(sorted(matching, "page_url", "asc").slice(10, 30));
    }
  });

  test("a search on a field without a column reads the newest records of a large range, and says how many", async () => {
    const small = new SqliteDashboardStore(db, {}, 5000, 200);
    try {
      const range = ranges[0]!;
      const newest = [...within(range)].sort((a, b) => msOf(b) - msOf(a)).slice(0, 200);
      const matching = newest.filter((event) => (event.br_viewwidth as number) >= 1000);
      const condition = parseSearch("br_viewwidth:>=1000", "good");
      const page = await small.list("good", { range, condition, sort: { field: fieldFor("good", "collector_tstamp"), order: "desc" }, offset: 0, limit: 50 });
      expect(page.scanned).toEqual({ newest: 200, of: within(range).length });
      expect(page.total).toBe(matching.length);
      expect(page.rows.map((row) => row.id)).toEqual(matching.slice(0, 50).map((event) => event.event_id));
      // Sorted by a field without a column: the same newest records, in that field's order.
      const bySize = await small.list("good", { range, condition: null, sort: { field: fieldFor("good", "br_viewwidth"), order: "asc" }, offset: 0, limit: 5 });
      expect(bySize.scanned).toEqual({ newest: 200, of: within(range).length });
      expect(bySize.rows.map((row) => row.doc.br_viewwidth)).toEqual(newest.map((event) => event.br_viewwidth as number).sort((a, b) => a - b).slice(0, 5));
      // A range holding fewer records than the limit is searched whole, with no note.
      const hour = ranges[2]!;
      const exact = await small.list("good", { range: hour, condition, sort: { field: fieldFor("good", "collector_tstamp"), order: "desc" }, offset: 0, limit: 50 });
      expect(exact.scanned).toBeUndefined();
      expect(exact.total).toBe(within(hour).filter((event) => (event.br_viewwidth as number) >= 1000).length);
    } finally {
      await small.close();
    }
  });
});

test("a file from a sink without roll-ups gets them when the dashboard opens it, and sinks keep them after", async () => {
  const old = join(work, "old.db");
  const source = new Database(db, { readonly: true });
  source.run("VACUUM INTO ?", [old]);
  source.close();
  const file = new Database(old);
  for (const rollup of rollupsFor("good")) {
    for (const kind of ["insert", "update", "delete"]) file.run(`DROP TRIGGER "${rollupTable("good", rollup)}_on_${kind}"`);
    file.run(`DROP TABLE "${rollupTable("good", rollup)}"`);
  }
  // A sort index one version kept, which the migration drops.
  file.run(`CREATE INDEX good_by_app_id_ts ON good (app_id, ts)`);
  // What a sink before the roll-ups recorded: the columns only.
  file.run("UPDATE telemetry_migrations SET columns = substr(columns, 1, instr(columns, '|') - 1)");
  file.close();

  const reopened = new SqliteDashboardStore(old);
  try {
    const range = ranges[1]!;
    expect(await reopened.count("good", range, null)).toBe(within(range).length);
    const top = await reopened.top("good", fieldFor("good", "app_id"), range, 10);
    expect(new Map(top.map(({ value, count }) => [value, count]))).toEqual(tally(within(range), (event) => event.app_id));
    // A sink writing into the migrated file moves counts through the triggers.
    const moved = { ...events[0]!, app_id: "moved", collector_tstamp: new Date(START + DAY + 30 * 60_000).toISOString() };
    await store(old, [moved]);
    const after = events.map((event) => (event.event_id === moved.event_id ? moved : event));
    for (const range of ranges) {
      const inRange = after.filter((event) => msOf(event) >= range.from && msOf(event) < range.to);
      const shown = await reopened.top("good", fieldFor("good", "app_id"), range, 10);
      expect(new Map(shown.map(({ value, count }) => [value, count]))).toEqual(tally(inRange, (event) => event.app_id));
    }
  } finally {
    await reopened.close();
  }
  const check = new Database(old, { readonly: true });
  expect((check.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'good_rollup'").get() as { n: number }).n).toBe(1);
  expect((check.query("SELECT count(*) AS n FROM sqlite_master WHERE name = 'good_by_app_id_ts'").get() as { n: number }).n).toBe(0);
  check.close();
});
