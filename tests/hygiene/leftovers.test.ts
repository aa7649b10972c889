/**
 * The test suite's own hygiene: whatever a test starts is gone when its run ends (passed, failed, timed
 * out, or the runner stopped by a signal), and no test writes into the repository. A deliberately careless
 * suite (./careless-suite.ts) is run by a real `bun test` here; scripts/test.sh checks the same after the
 * whole suite.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawnChild, tempDir, until } from "../fixtures/processes";

const repo = resolve(import.meta.dir, "../..");
const bun = join(repo, "node_modules/.bin/bun");

/** Files git does not track, ignored ones included, outside node_modules/ and .cache/ (as scripts/test.sh looks). */
function strayFiles(): string[] {
  const git = (...args: string[]) => Bun.spawnSync(["git", ...args], { cwd: repo }).stdout.toString().split("\n").filter(Boolean);
  return [...git("status", "--porcelain", "--untracked-files=all"), ...git("status", "--porcelain", "--ignored").filter((line) => line.startsWith("!!"))]
    .filter((line) => !/^!! (node_modules|\.cache)\//.test(line))
    .sort();
}

/** Running, and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

function startedPids(file: string): number[] {
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
}

describe("test hygiene", () => {
  test("a suite's processes are gone when it ends, passed, failed or timed out, and it wrote nothing into the repository", async () => {
    const before = strayFiles();
    const pids = join(tempDir(), "pids");
    writeFileSync(pids, "");
    const run = spawnChild([bun, "test", "./tests/hygiene/careless-suite.ts"], {
      cwd: repo,
      env: { ...process.env, PIDS_FILE: pids },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [output, code] = await Promise.all([new Response(run.stderr).text(), run.exited]);
    expect(code).not.toBe(0);
    expect(output).toContain("1 pass");
    expect(output).toContain("2 fail");
    const started = startedPids(pids);
    expect(started).toHaveLength(4);
    await until(() => started.every((pid) => !running(pid)), "the careless suite's sinks to be gone", 30_000);
    expect(strayFiles()).toEqual(before);
  }, 120_000);

  test("stopping the runner (SIGTERM) mid-test stops what the test started", async () => {
    const pids = join(tempDir(), "pids");
    writeFileSync(pids, "");
    const run = spawnChild([bun, "test", "./tests/hygiene/careless-suite.ts", "-t", "hangs"], {
      cwd: repo,
      env: { ...process.env, PIDS_FILE: pids, HANG: "1" },
      stdout: "ignore",
      stderr: "ignore",
    });
    // The one started before the tests and the hanging test's own.
    await until(() => startedPids(pids).length === 2, "the hanging test to start its sink", 60_000);
    run.kill("SIGTERM");
    await run.exited;
    const started = startedPids(pids);
    await until(() => started.every((pid) => !running(pid)), "the hanging test's sinks to be gone", 30_000);
  }, 120_000);
});
