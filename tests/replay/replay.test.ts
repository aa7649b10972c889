import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { BadRowList } from "../../stages/shared/bad-rows";
import { listArchiveFiles, RateLimiter, replay, type Clock, type ReplayOptions } from "../../stages/replay/replay";
import { spawnChild } from "../fixtures/processes";

const telemetryBin = resolve(import.meta.dir, "../../bin/telemetry");
const processor = { artifact: "telemetry-replay", version: "0" };

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "telemetry-replay-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function event(second: number): string {
  return JSON.stringify({ event_id: `e-${second}`, collector_tstamp: `2025-11-27T10:00:${String(second).padStart(2, "0")}.000Z` });
}

function archive(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  // Written out of name order, so only sorting by name gives time order.
  writeFileSync(join(dir, "raw-20251127T100020Z-000003.ndjson.gz"), gzipSync([20, 21, 22].map(event).join("\n") + "\n"));
  writeFileSync(join(dir, "raw-20251127T100000Z-000001.ndjson"), [0, 1, 2].map(event).join("\r\n"));
  writeFileSync(join(dir, "raw-20251127T100010Z-000002.ndjson"), [10, 11].map(event).join("\n") + "\n");
  writeFileSync(join(dir, "raw-20251127T100030Z-000004.ndjson.open"), event(30) + "\n");
  writeFileSync(join(dir, "notes.txt"), "not an archive\n");
  return dir;
}

class Collected {
  lines: string[] = [];
  isDownstreamClosed = false;
  async writeLine(line: string) {
    this.lines.push(line);
  }
}

async function replayed(paths: string[], options: Partial<ReplayOptions> = {}) {
  const output = new Collected();
  const bad = new BadRowList();
  const totals = await replay(await listArchiveFiles(paths), { window: {}, maxLineBytes: 1 << 20, ...options }, { output, bad, processor });
  return { lines: output.lines, bad: bad.rows, totals };
}

describe("replay", () => {
  test("reads a folder's plain and gzip segments in name order, skipping the open segment and other files", async () => {
    const dir = archive("order");
    expect((await listArchiveFiles([dir])).map((file) => file.slice(dir.length + 1))).toEqual([
      "raw-20251127T100000Z-000001.ndjson",
      "raw-20251127T100010Z-000002.ndjson",
      "raw-20251127T100020Z-000003.ndjson.gz",
    ]);
    const { lines } = await replayed([dir]);
    expect(lines).toEqual([0, 1, 2, 10, 11, 20, 21, 22].map(event));
  });

  test("a file named on its own is read whatever its name, gzip recognised by content", async () => {
    const file = join(work, "renamed.data");
    writeFileSync(file, gzipSync(event(5) + "\n"));
    expect((await replayed([file])).lines).toEqual([event(5)]);
  });

  test("--since is inclusive and --until exclusive, on the record time; records without one are counted apart", async () => {
    const dir = archive("window");
    writeFileSync(join(dir, "raw-20251127T100040Z-000005.ndjson"), '{"no":"time"}\n');
    const { lines, totals } = await replayed([dir], {
      window: { since: new Date("2025-11-27T10:00:02Z"), until: new Date("2025-11-27T10:00:21Z") },
    });
    expect(lines).toEqual([2, 10, 11, 20].map(event));
    expect(totals).toEqual({ written: 4, outsideWindow: 4, timeless: 1, bad: 0 });
  });

  test("a line over the limit becomes a size_violation bad row naming the file and line", async () => {
    const file = join(work, "long.ndjson");
    writeFileSync(file, `${event(1)}\n{"x":"${"y".repeat(500)}"}\n${event(2)}\n`);
    const { lines, bad } = await replayed([file], { maxLineBytes: 100 });
    expect(lines).toEqual([event(1), event(2)]);
    expect(bad).toHaveLength(1);
    expect(bad[0]!.schema).toContain("/size_violation/");
    expect(String(bad[0]!.data.failure.expectation)).toContain(`${file}:2`);
  });

  test("the rate limiter never lets more than t·rate + burst lines through in t seconds, even after a stall", async () => {
    for (const rate of [50, 10_000]) {
      let now = 0;
      const emitted: number[] = [];
      const clock: Clock = { now: () => now, sleep: async (ms) => void (now += ms) };
      const limiter = new RateLimiter(rate, clock);
      for (let i = 0; i < 400; i++) {
        await limiter.wait();
        emitted.push(now);
        if (i % 37 === 0) now += 500; // the reader is sometimes slow; the limiter must not let the backlog rush out
      }
      for (let i = 0; i < emitted.length; i++) {
        for (let j = i; j < emitted.length; j++) {
          const seconds = (emitted[j]! - emitted[i]!) / 1000;
          expect(j - i + 1).toBeLessThanOrEqual(Math.floor(seconds * rate + 1e-6) + limiter.burst);
        }
      }
    }
  });
});

describe("telemetry replay (process)", () => {
  test("a truncated .gz: what can be read is written, a bad row names the file and the problem, the next file is read", async () => {
    const dir = join(work, "truncated");
    mkdirSync(dir);
    const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ event_id: `t-${i}`, collector_tstamp: "2025-11-27T10:00:00.000Z", pad: "x".repeat(i % 50) }));
    const whole = gzipSync(lines.join("\n") + "\n");
    const cut = join(dir, "raw-20251127T100000Z-000001.ndjson.gz");
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    writeFileSync(join(dir, "raw-20251127T100010Z-000002.ndjson"), event(10) + "\n");
    const bad = join(work, "truncated.bad.ndjson");
    const child = spawnChild([telemetryBin, "replay", dir, "--bad", bad], { stdout: "pipe", stderr: "pipe", cwd: work });
    const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(code).toBe(0);
    const written = stdout.trimEnd().split("\n");
    // Every whole line of the readable half, in order, then the next file; no line cut in two.
    expect(written.at(-1)).toBe(event(10));
    const fromCut = written.slice(0, -1);
    expect(fromCut.length).toBeGreaterThan(500);
    expect(fromCut).toEqual(lines.slice(0, fromCut.length));
    const rows = readFileSync(bad, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(rows.map((row) => row.schema.split("/")[1])).toEqual(["generic_error"]);
    expect(rows[0].data.failure.errors[0]).toContain(cut);
    expect(rows[0].data.failure.errors[0]).toContain(`after line ${fromCut.length}`);
  });

  test("writes the archive to stdout and exits 0", async () => {
    const dir = archive("process");
    const child = spawnChild([telemetryBin, "replay", dir, "--since", "2025-11-27T10:00:10Z"], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(code).toBe(0);
    expect(stdout).toBe([10, 11, 20, 21, 22].map((second) => event(second) + "\n").join(""));
    expect(stderr).toContain("5 lines from 3 files");
  });

  test("counts in its closing line agree with their nouns: 1 line from 1 file", async () => {
    const one = join(work, "one.ndjson");
    writeFileSync(one, event(0) + "\n");
    const child = spawnChild([telemetryBin, "replay", one], { stdout: "pipe", stderr: "pipe", cwd: work });
    const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
    expect(code).toBe(0);
    expect(stderr).toContain("1 line from 1 file\n");
  });

  test("a reader that goes away early ends replay quietly with exit 0", async () => {
    const big = join(work, "big.ndjson");
    writeFileSync(big, Array.from({ length: 200_000 }, (_, i) => event(i % 60)).join("\n") + "\n");
    const child = spawnChild(["bash", "-c", `"${telemetryBin}" replay "${big}" | head -n 3 >/dev/null; echo "\${PIPESTATUS[0]}"`], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    await child.exited;
    expect(stdout.trim()).toBe("0");
    expect(stderr).toBe("");
  }, 30_000);

  test("SIGTERM stops a paced replay after whole lines and exits 0", async () => {
    const dir = archive("sigterm");
    const child = spawnChild([telemetryBin, "replay", dir, "--rate", "2"], { stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toStartWith(event(0));
    child.kill("SIGTERM");
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(await child.exited).toBe(0);
    const all = new TextDecoder().decode(first.value) + rest;
    expect(all.endsWith("\n")).toBe(true);
    expect(all.trim().split("\n").length).toBeLessThan(8);
  }, 30_000);

  test("a missing path or a bad date is one sentence and exit 2", async () => {
    for (const args of [["replay", join(work, "nope")], ["replay", work, "--since", "yesterday-ish"]]) {
      const child = spawnChild([telemetryBin, ...args], { stdout: "pipe", stderr: "pipe" });
      const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
      expect(code).toBe(2);
      expect(stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

