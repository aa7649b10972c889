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

  test("an unknown flag, a missing command or a non-number is one sentence and exit 2, pointing at the command's own help", () => {
    const cases: [string[], string][] = [
      [["enrich", "--no-such-flag"], "telemetry enrich"],
      [["iglu", "serve", "--no-such-flag"], "telemetry iglu serve"],
      [[], "telemetry"],
      [["collect", "--port", "eighty"], "telemetry collect"],
    ];
    for (const [args, command] of cases) {
      const result = run(args);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^${command}: \\S[^\\n]*\\(see \`${command} --help\`\\)\\n$`));
      // The advice is given once.
      expect(result.stderr.split("--help")).toHaveLength(2);
    }
    expect(run(["collect", "--port", "eighty"]).stderr).toContain("--port must be a number");
  });

  test("a flag with a fixed set of values names the flag and the values allowed", () => {
    const result = run(["enrich", "--format", "xml"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toStartWith('telemetry enrich: --format cannot be "xml"; it takes one of "json", "tsv"');
  });

  test("a port out of range is the same sentence for every command that listens", () => {
    const cases: [string[], string][] = [
      [["collect", "--port", "99999"], "--port"],
      [["iglu", "serve", "--port", "99999"], "--port"],
      [["logs-listen", "--port", "99999"], "--port"],
      [["logs-listen", "--udp-port", "99999"], "--udp-port"],
    ];
    for (const [args, flag] of cases) {
      const result = run(args);
      expect(result.status).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toContain(`: ${flag} must be a port number from 0 to 65535, not 99999 (see`);
    }
  });

  test("a command reads the TELEMETRY_* variables of its own flags and ignores the others", () => {
    // One environment for a whole pipeline: collect's port, sink's index, a variable of no command at all.
    const env = { TELEMETRY_PORT: "8000", TELEMETRY_INDEX: "good", TELEMETRY_NO_SUCH_FLAG: "1", TELEMETRY_FORMAT: "tsv" };
    const result = run(["enrich", "--bad", "/dev/null", "--stats-interval", "0"], { input: pageView, env });
    expect(result.status).toBe(0);
    expect(result.stdout.split("\t")).toHaveLength(131);
    // A typo on the command line is still refused.
    const typo = run(["enrich", "--formt", "tsv"], { input: pageView, env });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("Unknown argument: formt");
  });

  test("help examples are whole commands, each under a line saying what it does; sink-bad shows its own", () => {
    for (const command of [...stages.filter((stage) => stage !== "iglu"), "iglu serve", "iglu lint", "iglu pull"]) {
      const help = run([...command.split(" "), "--help"]).stdout;
      const examples = help.slice(help.indexOf("Examples:")).split("\n").slice(1).map((line) => line.trim()).filter(Boolean);
      expect(examples.length).toBeGreaterThanOrEqual(4);
      examples.forEach((line, index) => {
        if (index % 2 === 0) expect(line).toStartWith("# ");
        else expect(line).toMatch(/^(telemetry|mkfifo|curl) /);
      });
    }
    expect(run(["collect", "--help"]).stdout).toContain(
      "\n  telemetry collect --port 8000 --bad bad.ndjson | telemetry enrich | telemetry sink-good\n",
    );
    const sinkBad = run(["sink-bad", "--help"]).stdout;
    expect(sinkBad).toContain("telemetry sink-bad --es");
    expect(sinkBad).not.toContain("sink-good");
  });

  test("a stdin stage says it stopped, with its totals, when its input ends", () => {
    const result = run(["enrich", "--bad", "/dev/null", "--stats-interval", "0"], { input: pageView + "\n" });
    expect(result.status).toBe(0);
    expect(result.stderr.trim().split("\n").at(-1)).toBe("telemetry enrich: stopped (total in 1 out 1 bad 0)");
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
