/**
 * `--acks`: what a stage acknowledges it has finished. The property a supervisor relies on: a stage killed
 * (SIGKILL) right after acknowledging line N has already put out everything lines 1..N give, so only the
 * lines after N need sending again.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Acknowledgements } from "../../stages/shared/acknowledgements";
import { AppendFile } from "../../stages/shared/append-file";
import { collectText } from "../fixtures/collect-text";
import { getRecord } from "../enrich/helpers";

const telemetry = join(import.meta.dir, "../../bin/telemetry");
const children: ReturnType<typeof Bun.spawn>[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "telemetry-acks-"));
}

function acknowledged(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").trimEnd().split("\n").filter(Boolean).map((line) => JSON.parse(line).handled);
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await Bun.sleep(20);
  }
}

describe("Acknowledgements", () => {
  test("only after beforeWriting, never backwards, and what piles up meanwhile is folded into the newest", async () => {
    const path = join(tempDir(), "acks");
    let release!: () => void;
    let gate = new Promise<void>((resolve) => (release = resolve));
    const waits: number[] = [];
    const acks = new Acknowledgements(new AppendFile(path), async () => {
      waits.push(acknowledged(path).length);
      await gate;
    });
    acks.handled(3);
    acks.handled(2);
    acks.handled(5);
    acks.handled(9);
    expect(acknowledged(path)).toEqual([]);
    const first = release;
    gate = Promise.resolve();
    first();
    await acks.close();
    expect(acknowledged(path)).toEqual([3, 9]);
    expect(waits).toEqual([0, 1]);
  });
});

describe("--acks on real stages", () => {
  test("enrich killed right after acknowledging N: the events of lines 1..N are all on its stdout already", async () => {
    const dir = tempDir();
    const acksPath = join(dir, "acks");
    const child = Bun.spawn([telemetry, "enrich", "--stats-interval", "0", "--bad", join(dir, "bad"), "--acks", acksPath], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    children.push(child);
    const stdout = collectText(child.stdout);
    const stderr = collectText(child.stderr);
    const records = Array.from({ length: 3000 }, (_, i) => JSON.stringify(getRecord({ e: "pv", p: "web", tv: "t", eid: eventId(i) })));
    // In slices, so enrich reads several batches and acknowledges as it goes.
    for (let i = 0; i < records.length; i += 300) {
      child.stdin.write(records.slice(i, i + 300).join("\n") + "\n");
      await child.stdin.flush();
    }
    await until("an acknowledgement", () => acknowledged(acksPath).length > 0);
    child.kill("SIGKILL");
    await child.exited;
    await stdout.done;
    const handled = Math.max(...acknowledged(acksPath));
    // SIGKILL may land in the middle of a later line: only whole lines count (the supervisor drops the rest too).
    const wholeLines = stdout.text().split("\n").slice(0, -1);
    const ids = new Set(wholeLines.map((line) => JSON.parse(line).event_id));
    for (let i = 0; i < handled; i++) expect(ids.has(eventId(i))).toBe(true);
    await stderr.done;
  });

  test("enrich acknowledges every line by the time it exits at EOF", async () => {
    const dir = tempDir();
    const acksPath = join(dir, "acks");
    const input = Array.from({ length: 50 }, (_, i) => JSON.stringify(getRecord({ e: "pv", p: "web", tv: "t", eid: eventId(i) })));
    const child = Bun.spawn([telemetry, "enrich", "--stats-interval", "0", "--bad", join(dir, "bad"), "--acks", acksPath], {
      stdin: new Blob([input.join("\n") + "\n"]),
      stdout: "pipe",
      stderr: "pipe",
    });
    children.push(child);
    const out = await new Response(child.stdout).text();
    expect(await child.exited).toBe(0);
    expect(out.trimEnd().split("\n")).toHaveLength(50);
    expect(acknowledged(acksPath).at(-1)).toBe(50);
  });

  test("a sink killed right after acknowledging N has lines 1..N in the store", async () => {
    const dir = tempDir();
    const acksPath = join(dir, "acks");
    const db = join(dir, "t.db");
    const child = Bun.spawn(
      [telemetry, "sink-good", "--db", db, "--batch-docs", "100", "--batch-ms", "20", "--stats-interval", "0", "--bad", join(dir, "bad"), "--acks", acksPath],
      { stdin: "pipe", stdout: "ignore", stderr: "pipe" },
    );
    children.push(child);
    const events = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ event_id: eventId(i), collector_tstamp: "2026-01-01T00:00:00.000Z", n: i }));
    for (let i = 0; i < events.length; i += 250) {
      child.stdin.write(events.slice(i, i + 250).join("\n") + "\n");
      await child.stdin.flush();
    }
    await until("an acknowledgement", () => acknowledged(acksPath).length > 0);
    child.kill("SIGKILL");
    await child.exited;
    const handled = Math.max(...acknowledged(acksPath));
    const database = new Database(db, { readonly: true });
    const stored = new Set(database.query("SELECT id FROM good").all().map((row) => (row as { id: string }).id));
    database.close();
    for (let i = 0; i < handled; i++) expect(stored.has(eventId(i))).toBe(true);
  });
});

function eventId(i: number): string {
  return `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
}
