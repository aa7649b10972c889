/**
 * What keeps logs-listen from being exhausted by clients that send nothing or never end a line, as the
 * real process on real sockets: --idle-timeout frees connection slots and drops stalled lines (as bad
 * rows, never as records), and --max-buffered-bytes bounds what unfinished lines hold across connections.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import { closedByPeer, killStartedProcesses, openTcp, parseLines, sendTcp, startListenerProcess, until } from "./helpers";

const dir = mkdtempSync(join(tmpdir(), "logs-listen-limits-"));
const opened: Socket[] = [];
afterAll(() => {
  for (const socket of opened) socket.destroy();
  killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

async function open(port: number): Promise<Socket> {
  const socket = await openTcp(port);
  socket.on("error", () => {});
  opened.push(socket);
  return socket;
}

function write(socket: Socket, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));
}

function badRows(path: string): { schema: string; data: { failure: { errors?: string[] }; payload: unknown } }[] {
  return parseLines(readFileSync(path, "utf8")) as never;
}

describe("logs-listen limits (process)", () => {
  test("silent connections are closed after --idle-timeout, so the slots they held serve new clients", async () => {
    const listener = await startListenerProcess(["--stats-interval", "0", "--max-connections", "2", "--idle-timeout", "1"]);
    const port = listener.ports.tcp!;
    const silent = [await open(port), await open(port)];
    await Promise.all(silent.map(closedByPeer));
    await sendTcp(port, ['{"message":"after the silent ones"}\n']);
    await until(() => listener.stdout().includes("after the silent ones"), "the new client's record");
    const { code } = await listener.stop();
    expect(code).toBe(0);
    expect(listener.stderr()).toContain("--idle-timeout");
  }, 60_000);

  test("a line still unfinished after --idle-timeout is a bad row, never a record; whole lines before it are records", async () => {
    const bad = join(dir, "stalled.bad.ndjson");
    const listener = await startListenerProcess(["--stats-interval", "0", "--idle-timeout", "1", "--bad", bad]);
    const socket = await open(listener.ports.tcp!);
    await write(socket, '{"message":"whole"}\n{"message":"never fini');
    // A byte now and then without a newline does not keep the connection: only finished lines do.
    const dribble = setInterval(() => socket.writable && socket.write("x"), 200);
    try {
      await closedByPeer(socket);
    } finally {
      clearInterval(dribble);
    }
    const { code, stdout } = await listener.stop();
    expect(code).toBe(0);
    expect(parseLines(stdout).map((record) => record.message)).toEqual(["whole"]);
    const rows = badRows(bad);
    expect(rows.map((row) => row.schema.split("/")[1])).toEqual(["generic_error"]);
    expect(rows[0]!.data.failure.errors![0]).toContain("--idle-timeout");
    expect(String(rows[0]!.data.payload)).toStartWith('{"message":"never fini');
  }, 60_000);

  test("unfinished lines across connections hold at most --max-buffered-bytes: the largest are closed as bad rows", async () => {
    const bad = join(dir, "buffered.bad.ndjson");
    const listener = await startListenerProcess(["--stats-interval", "0", "--max-buffered-bytes", "1MiB", "--bad", bad]);
    const port = listener.ports.tcp!;
    const sockets: Socket[] = [];
    // Five connections, each 400 KB into a line it does not finish: 2 MB, twice the cap.
    for (let i = 0; i < 5; i++) {
      const socket = await open(port);
      await write(socket, `{"n":${i},"pad":"${"p".repeat(400_000)}`);
      sockets.push(socket);
    }
    const closedByListener = () => sockets.flatMap((socket, n) => (socket.destroyed || socket.readableEnded ? [n] : []));
    await until(() => closedByListener().length >= 3, "three connections closed by the listener");
    const dropped = closedByListener();
    await sendTcp(port, ['{"message":"a whole line still gets through"}\n']);
    await until(() => listener.stdout().includes("a whole line still gets through"), "the whole line");
    const { code, stdout } = await listener.stop();
    expect(code).toBe(0);
    // Lines the listener dropped never became records; those of connections it kept are taken at shutdown
    // as any connection's last line is when it ends.
    const records = parseLines(stdout).map((record) => record.message);
    expect(records).toContain("a whole line still gets through");
    for (const n of dropped) expect(records.some((message) => String(message).startsWith(`{"n":${n},`))).toBe(false);
    const rows = badRows(bad);
    expect(rows).toHaveLength(dropped.length);
    for (const row of rows) {
      expect(row.data.failure.errors![0]).toContain("--max-buffered-bytes");
      expect(String(row.data.payload)).toStartWith('{"n":');
    }
  }, 60_000);
});
