/** Running the real `telemetry dashboard` process for the dashboard suites, and stopping every one started. */
import { join } from "node:path";
import { collectText } from "../fixtures/collect-text";
import { until } from "../logs-listen/helpers";
import type { Filled } from "./fill";

const telemetryBin = join(import.meta.dir, "../../bin/telemetry");
const started = new Set<Bun.Subprocess>();

export interface RunningDashboard {
  base: string;
  stderr: () => string;
  stop: () => Promise<number>;
}

export async function startDashboard(args: string[], cwd: string): Promise<RunningDashboard> {
  const child = Bun.spawn([telemetryBin, "dashboard", "--port", "0", ...args], { cwd, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  started.add(child);
  const stderr = collectText(child.stderr);
  await until(() => /serving http:\/\/\S+:\d+/.test(stderr.text()) || child.exitCode !== null, "the dashboard's startup line", 20_000);
  const match = /serving (http:\/\/\S+:\d+)/.exec(stderr.text());
  if (!match) throw new Error(`the dashboard did not start: ${stderr.text()}`);
  return {
    base: match[1]!,
    stderr: stderr.text,
    stop: async () => {
      child.kill("SIGTERM");
      const code = await child.exited;
      started.delete(child);
      return code;
    },
  };
}

export function stopStartedDashboards(): void {
  for (const child of started) child.kill("SIGKILL");
  started.clear();
}

/** The dashboard's flags for one of the filled stores. */
export function storeArgs(filled: Filled, store: "sqlite" | "elasticsearch"): string[] {
  if (store === "sqlite") return ["--db", filled.db];
  const es = filled.es!;
  return ["--es", es.url, "--good-index", es.good, "--bad-index", es.bad, "--logs-index", es.logs];
}

/** The stores to run on: SQLite always, Elasticsearch when the test command gave one (scripts/test.sh does). */
export function storesToTest(): ("sqlite" | "elasticsearch")[] {
  return process.env.ES_URL ? ["sqlite", "elasticsearch"] : ["sqlite"];
}
