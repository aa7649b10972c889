/**
 * What `telemetry up` is doing, as numbers: the supervisor rewrites data/run/status.json every second
 * (each stage up or down, its restarts, its lines in/out/bad per second over the last ten seconds, what
 * each hop holds); `telemetry status` reads it, adds the store's counts and prints a table or, with
 * `--json`, the same numbers for a program (the dashboard).
 */
import { Database } from "bun:sqlite";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isRollupTable } from "../sink/sqlite-rollups";
import { runDir, type UpConfig } from "./pipeline";

export interface StageStatus {
  name: string;
  kind: "source" | "stage" | "service";
  /** It reads or writes Kafka topics: those lines are not counted here (the broker's offsets say how far it is). */
  kafka?: boolean;
  state: "starting" | "running" | "waiting" | "crash-looping" | "stopping" | "stopped";
  pid: number | null;
  restarts: number;
  startedAt: string | null;
  lastExit: { code: number | null; signal: string | null; at: number; ranForMs: number } | null;
  nextStartAt: string | null;
  /** Lines since `telemetry up` started: in = acknowledged input (a sink's out: stored), out = written on, bad = bad rows. */
  totals: { in: number; out: number; bad: number };
  perSecond: { in: number; out: number; bad: number };
}

export interface SupervisorStatus {
  state: "running" | "stopping" | "stopped";
  pid: number;
  startedAt: string;
  updatedAt: string;
  store: { kind: "sqlite"; path: string } | { kind: "elasticsearch"; url: string };
  stages: StageStatus[];
  hops: { name: string; arrived: number; acknowledged: number; heldLines: number; heldBytes: number }[];
}

export function statusPath(config: Pick<UpConfig, "data">): string {
  return join(runDir(config), "status.json");
}

/** The status file, or undefined when `telemetry up` never ran with this data folder. */
export function readStatus(config: Pick<UpConfig, "data">): SupervisorStatus | undefined {
  const path = statusPath(config);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")) as SupervisorStatus;
}

/** A status whose supervisor process is gone without saying it stopped (killed, or the machine restarted). */
export function isStale(status: SupervisorStatus): boolean {
  if (status.state === "stopped") return false;
  try {
    process.kill(status.pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Documents per table (SQLite) or index (Elasticsearch); logs-* indices are summed as "logs". */
export async function storeCounts(store: SupervisorStatus["store"]): Promise<Record<string, number>> {
  if (store.kind === "sqlite") {
    if (!existsSync(store.path)) return {};
    const db = new Database(store.path, { readonly: true });
    try {
      db.run("PRAGMA busy_timeout = 2000");
      // The sinks' own bookkeeping tables (telemetry_*) and the dashboard's roll-ups hold no documents.
      const tables = (
        db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'telemetry_%'").all() as { name: string }[]
      ).filter(({ name }) => !isRollupTable(name));
      return Object.fromEntries(tables.map(({ name }) => [name, (db.query(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n]));
    } finally {
      db.close();
    }
  }
  const counts: Record<string, number> = {};
  for (const index of ["good", "bad", "pii", "logs"]) {
    const pattern = index === "logs" ? "logs-*" : index;
    const response = await fetch(`${store.url.split(",")[0]}/${pattern}/_count?ignore_unavailable=true&allow_no_indices=true`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as { count?: number };
    if (typeof body.count === "number") counts[index] = body.count;
  }
  return counts;
}

/** The table `make status` prints. */
export function renderStatus(status: SupervisorStatus, counts: Record<string, number> | string): string {
  const rows = [["stage", "state", "pid", "restarts", "in/s", "out/s", "bad/s", "total in", "total out", "total bad"]];
  for (const stage of status.stages) {
    // A Kafka stage's lines in and out go through the broker, not the supervisor: "kafka" rather than a 0 that looks like a stall.
    const relayed = (value: number) => (stage.kafka ? "kafka" : String(value));
    rows.push([
      stage.name,
      stage.state === "running" ? "up" : stage.state,
      stage.pid === null ? "-" : String(stage.pid),
      String(stage.restarts),
      relayed(stage.perSecond.in),
      relayed(stage.perSecond.out),
      String(stage.perSecond.bad),
      relayed(stage.totals.in),
      relayed(stage.totals.out),
      String(stage.totals.bad),
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n");
  const held = status.hops
    .filter((hop) => hop.heldLines > 0)
    .map((hop) => `${hop.name} ${hop.heldLines} (${Math.round(hop.heldBytes / 1024)} KiB)`)
    .join(", ");
  const where = status.store.kind === "sqlite" ? `SQLite ${status.store.path}` : `Elasticsearch at ${status.store.url}`;
  const stored =
    typeof counts === "string"
      ? `cannot count: ${counts}`
      : Object.entries(counts)
          .map(([name, count]) => `${name} ${count}`)
          .join(", ") || "nothing yet";
  return [
    `telemetry up: ${status.state} (pid ${status.pid}) since ${status.startedAt}, as of ${status.updatedAt}`,
    table,
    `lines waiting for a stage to acknowledge them: ${held || "none"}`,
    `stored in ${where}: ${stored}`,
  ].join("\n");
}
