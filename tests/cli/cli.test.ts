/** The `telemetry` entry point as a user meets it: help, version, flags from env and config, exit codes. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import pkg from "../../package.json" with { type: "json" };

const telemetry = join(import.meta.dir, "../../bin/telemetry");
const run = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
  spawnSync(telemetry, args, { encoding: "utf8", input: options.input ?? "", env: { ...process.env, ...options.env } });

const stages = ["collect", "enrich", "sink", "sink-good", "sink-bad", "replay", "logs-listen", "iglu"];

/** A raw record of one page view, as collect writes it. */
const pageView = JSON.stringify({
  schema: "iglu:com.snowplowanalytics.snowplow/CollectorPayload/thrift/1-0-0",
  id: "8f0c4c8e-6f43-4c7c-9a57-0c1d2e3f4a5b",
  timestamp: Date.UTC(2026, 10, 28),
  ipAddress: "203.0.113.9",
  encoding: "UTF-8",
  collector: "test",
  path: "/i",
  querystring: "e=pv&url=https%3A%2F%2Fa.example%2F&aid=cli&p=web&tv=t-1",
  headers: [],
});

describe("telemetry", () => {
  test("--help lists every stage", () => {
    const result = run(["--help"]);
    expect(result.status).toBe(0);
    for (const stage of stages) expect(result.stdout).toContain(`telemetry ${stage}`);
  });

  test("each command's --help shows a pipe example", () => {
    for (const stage of ["collect", "enrich", "sink-good", "logs-listen", "replay"]) {
      const result = run([stage, "--help"]);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/Examples:[\s\S]*\|/);
    }
  });

  test("--version prints the package version", () => {
    expect(run(["--version"]).stdout.trim()).toBe(pkg.version);
  });

  test("an unknown flag, a missing command or a non-number is one sentence and exit 2", () => {
    for (const args of [["enrich", "--no-such-flag"], [], ["collect", "--port", "eighty"]]) {
      const result = run(args);
      expect(result.status).toBe(2);
      expect(result.stderr.split("\n")[0]).toMatch(/^telemetry: \S.*$/);
    }
    expect(run(["collect", "--port", "eighty"]).stderr).toContain("--port must be a number");
  });

  test("a --bad path that cannot be written is one sentence and exit 2, before any input is taken", () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-cli-bad-"));
    for (const bad of [join(dir, "no-such-dir", "bad.ndjson"), dir]) {
      const result = run(["enrich", "--stats-interval", "0", "--bad", bad], { input: pageView + "\n" });
      expect(result.status).toBe(2);
      expect(result.stdout).toBe("");
      const problems = result.stderr.trim().split("\n");
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(bad);
    }
  });

  test("a flag can come from TELEMETRY_<FLAG> or from --config, and the flag itself wins", () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-cli-"));
    const config = join(dir, "enrich.json");
    writeFileSync(config, JSON.stringify({ format: "tsv" }));
    const isTsv = (out: string) => out.split("\t").length === 131;
    const fromEnv = run(["enrich", "--bad", "/dev/null"], { input: pageView, env: { TELEMETRY_FORMAT: "tsv" } });
    expect(isTsv(fromEnv.stdout)).toBe(true);
    const fromConfig = run(["enrich", "--bad", "/dev/null", "--config", config], { input: pageView });
    expect(isTsv(fromConfig.stdout)).toBe(true);
    const flagWins = run(["enrich", "--bad", "/dev/null", "--format", "json"], {
      input: pageView,
      env: { TELEMETRY_FORMAT: "tsv" },
    });
    expect(JSON.parse(flagWins.stdout).app_id).toBe("cli");
  });
});
