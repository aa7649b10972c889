/**
 * The shared stage wiring, run as a real process (tests/fixtures/passthrough.ts): how it behaves at the
 * edges of a Unix pipe is the contract every stage inherits.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const bun = join(import.meta.dir, "../../node_modules/.bin/bun");
const passthrough = join(import.meta.dir, "../fixtures/passthrough.ts");

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "telemetry-stage-"));
}

function passthroughEnv(extra: Record<string, string>) {
  return { ...process.env, ...extra };
}

describe("stage process", () => {
  test("exits 0 quietly when the reader closes early (| head -1)", () => {
    const script = `${bun} -e 'for (let i = 0; i < 300000; i++) console.log(JSON.stringify({i}))' | ${bun} ${passthrough} | head -1; echo "status=\${PIPESTATUS[1]}"`;
    const result = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(result.stdout).toBe('{"i":0}\nstatus=0\n');
    expect(result.stderr).not.toContain("EPIPE");
  });

  test("writes more than 1 MiB of output completely, in order, to a slow reader", () => {
    const lines = 40000; // about 2.4 MiB
    const script = `${bun} -e 'for (let i = 0; i < ${lines}; i++) console.log(JSON.stringify({i, pad: "p".repeat(40)}))' | ${bun} ${passthrough} | (sleep 0.5; cat)`;
    const result = spawnSync("bash", ["-c", script], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const out = result.stdout.trimEnd().split("\n");
    expect(out.length).toBe(lines);
    expect(JSON.parse(out[lines - 1]!).i).toBe(lines - 1);
    expect(out.every((line, i) => JSON.parse(line).i === i)).toBe(true);
  });

  test("a 10 MiB line becomes a size_violation bad row and the lines after it still pass", () => {
    const dir = tempDir();
    const bad = join(dir, "bad.ndjson");
    const input = `{"before":1}\n{"big":"${"x".repeat(10 * 1024 * 1024)}"}\r\n{"after":2}`;
    const result = spawnSync(bun, [passthrough], {
      input,
      encoding: "utf8",
      env: passthroughEnv({ PASSTHROUGH_BAD: bad }),
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('{"before":1}\n{"after":2}\n');
    const rows = readFileSync(bad, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(rows.length).toBe(1);
    expect(rows[0].schema).toContain("/size_violation/");
    expect(rows[0].data.failure.actualSizeBytes).toBe(10 * 1024 * 1024 + 11);
  });

  test("without --bad, tells the user where bad rows went", () => {
    const dir = tempDir();
    const result = spawnSync(bun, [passthrough], { input: "nope\n", encoding: "utf8", cwd: dir });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(join(dir, "telemetry-bad.ndjson"));
    expect(existsSync(join(dir, "telemetry-bad.ndjson"))).toBe(true);
  });

  test("a clean run with no bad rows leaves no bad-row file behind", () => {
    const dir = tempDir();
    const result = spawnSync(bun, [passthrough], { input: '{"a":1}\n', encoding: "utf8", cwd: dir });
    expect(result.status).toBe(0);
    expect(existsSync(join(dir, "telemetry-bad.ndjson"))).toBe(false);
  });

  test("SIGTERM stops reading, writes out what was read and exits 0", async () => {
    const child = Bun.spawn([bun, passthrough], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    for (let i = 0; i < 100; i++) child.stdin.write(`{"n":${i}}\n`);
    await child.stdin.flush();
    // Wait until the stage has echoed everything it was given, then ask it to stop while stdin stays open.
    const reader = child.stdout.getReader();
    let text = "";
    while (text.split("\n").length <= 100) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    child.kill("SIGTERM");
    const code = await child.exited;
    expect(code).toBe(0);
    expect(text.trimEnd().split("\n").length).toBe(100);
  });

  test("bad rows longer than PIPE_BUF from concurrent writers never interleave in one FIFO", () => {
    const dir = tempDir();
    const fifo = join(dir, "bad.fifo");
    const out = join(dir, "bad.ndjson");
    // Each writer sends 200 invalid lines of ~20 KB (well above PIPE_BUF = 4 KiB).
    const writer = (tag: string) =>
      `${bun} -e 'for (let i = 0; i < 200; i++) console.log("${tag}" + i + "-" + "${tag}".repeat(20000))' | PASSTHROUGH_BAD=${fifo} ${bun} ${passthrough} >/dev/null`;
    const script = `mkfifo ${fifo}; cat ${fifo} > ${out} & reader=$!; exec 3>${fifo}; (${writer("a")}) & (${writer("b")}) & (${writer("c")}) & wait %2 %3 %4; exec 3>&-; wait $reader`;
    const result = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(result.status).toBe(0);
    const rows = readFileSync(out, "utf8").trimEnd().split("\n");
    expect(rows.length).toBe(600);
    for (const line of rows) {
      const raw: string = JSON.parse(line).data.payload;
      const tag = raw[0]!;
      expect(raw.endsWith(tag.repeat(20000))).toBe(true);
    }
  });

  /** Starts the passthrough stage, feeds it `head`, and returns once its whole lines are on stdout. */
  async function stageStoppedMidLine(head: string, wholeLines: number) {
    const bad = join(tempDir(), "bad.ndjson");
    const child = Bun.spawn([bun, passthrough], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: passthroughEnv({ PASSTHROUGH_BAD: bad }) });
    child.stdin.write(head);
    await child.stdin.flush();
    const reader = child.stdout.getReader();
    let text = "";
    while (text.split("\n").length <= wholeLines) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    child.kill("SIGTERM");
    const rest = async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += new TextDecoder().decode(value);
      }
    };
    return { child, bad, rest };
  }

  test("SIGTERM in the middle of a line: the stage reads on until the line is whole, then stops", async () => {
    const fragment = `{"n":2,"pad":"${"p".repeat(200)}`;
    const { child, bad, rest } = await stageStoppedMidLine(`{"n":1}\n${fragment}`, 1);
    // The rest comes a moment after the signal, as from a writer that was in the middle of its write.
    await Bun.sleep(250);
    child.stdin.write(`${"q".repeat(100)}"}\n`);
    await child.stdin.flush();
    expect(await child.exited).toBe(0);
    const lines = (await rest()).trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(lines.map((line) => line.n)).toEqual([1, 2]);
    expect(lines[1].pad).toBe("p".repeat(200) + "q".repeat(100));
    expect(existsSync(bad)).toBe(false);
  });

  test("SIGTERM in the middle of a line whose rest never comes: exit 0, the fragment is a bad row saying so, never a record", async () => {
    const { child, bad, rest } = await stageStoppedMidLine(`{"n":1}\n{"n":2,"cut":"here`, 1);
    expect(await child.exited).toBe(0);
    child.stdin.end();
    expect((await rest()).trimEnd().split("\n")).toEqual(['{"n":1}']);
    const rows = readFileSync(bad, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(rows.map((row) => row.schema.split("/")[1])).toEqual(["generic_error"]);
    expect(rows[0].data.failure.errors[0]).toContain("stdin:2");
    expect(rows[0].data.failure.errors[0]).toContain("still arriving when the stage stopped");
    expect(rows[0].data.payload).toBe('{"n":2,"cut":"here');
  });
});
