/**
 * The real `telemetry logs-listen` process: startup line, output, shutdown, a closed downstream, a
 * downstream that stops reading, and configuration mistakes.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, constants, createReadStream, existsSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { killStartedProcesses, logRecordValidator, openTcp, parseLines, sendTcp, startListenerProcess, telemetryBin, until } from "./helpers";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "logs-listen-process-"));
}

function residentMegabytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

afterAll(killStartedProcesses);

describe("telemetry logs-listen (process)", () => {
  test("--port 0 names the bound TCP and UDP addresses; SIGTERM flushes an open connection's last line and exits 0", async () => {
    const listener = await startListenerProcess(["--udp-port", "0", "--stats-interval", "0"]);
    expect(listener.stderr()).toMatch(/listening on tcp 127\.0\.0\.1:\d+, udp 127\.0\.0\.1:\d+/);
    // A connection still open at shutdown, its last line not yet terminated.
    const open = await openTcp(listener.ports.tcp!);
    await new Promise((resolve) => open.write('{"message":"unterminated at shutdown"}', resolve));
    await sendTcp(listener.ports.tcp!, ['{"level":"INFO","message":"over tcp"}\n', "plain words\n", '[{"n":1},{"n":2}]\n']);
    const udp = await Bun.udpSocket({ hostname: "127.0.0.1" });
    udp.send('{"message":"over udp"}', listener.ports.udp!, "127.0.0.1");
    await until(() => listener.stdout().split("\n").length > 5, "five records");
    const { code, stdout } = await listener.stop();
    udp.close();
    open.destroy();
    expect(code).toBe(0);
    const records = parseLines(stdout);
    expect(records.map((r) => r.message ?? r.n).sort()).toEqual(
      ["over tcp", "plain words", 1, 2, "over udp", "unterminated at shutdown"].sort() as never,
    );
    const validate = logRecordValidator();
    for (const record of records) expect({ record, valid: validate(record), errors: validate.errors }).toMatchObject({ valid: true });
    expect(listener.stderr()).toContain("stopped (total in 5 out 6 bad 0)");
  });

  test("identical lines sent together stay separate records in the store, and storing the same output again adds none", async () => {
    const listener = await startListenerProcess(["--stats-interval", "0"]);
    const json = '{"level":"INFO","message":"the same"}\n';
    // One write: every line arrives in one read, at one receipt time.
    await sendTcp(listener.ports.tcp!, [json + json + "plain and the same\n" + "plain and the same\n"]);
    await until(() => listener.stdout().split("\n").length > 4, "four records");
    const { code, stdout } = await listener.stop();
    expect(code).toBe(0);
    const dir = tempDir();
    const db = join(dir, "logs.db");
    for (const round of ["first", "replayed"]) {
      const sink = Bun.spawn([telemetryBin, "sink", "--db", db, "--bad", join(dir, "bad.ndjson"), "--stats-interval", "0"], {
        cwd: dir,
        stdin: new Blob([stdout]),
        stdout: "ignore",
        stderr: "pipe",
      });
      expect(await sink.exited).toBe(0);
      const store = new Database(db, { readonly: true });
      const stored = store.query("SELECT count(*) AS n FROM logs").get() as { n: number };
      store.close();
      expect({ round, stored: stored.n }).toEqual({ round, stored: 4 });
    }
  }, 30_000);

  test("exits 0 quietly when the reader of stdout goes away (| head -1)", async () => {
    const dir = tempDir();
    const err = join(dir, "stderr.txt");
    const status = join(dir, "status.txt");
    const pipeline = Bun.spawn(
      ["bash", "-c", `"${telemetryBin}" logs-listen --host 127.0.0.1 --port 0 2>"${err}" | head -1 >/dev/null; echo "\${PIPESTATUS[0]}" >"${status}"`],
      { stdout: "ignore", stderr: "inherit" },
    );
    await until(() => existsSync(err) && readFileSync(err, "utf8").includes("listening on"), "the startup line");
    const port = Number(/tcp 127\.0\.0\.1:(\d+)/.exec(readFileSync(err, "utf8"))![1]);
    const socket = await openTcp(port);
    socket.on("error", () => {}); // the listener goes away while we write
    const batch = '{"message":"again and again"}\n'.repeat(1000);
    while (!existsSync(status) && !socket.destroyed) {
      if (!socket.write(batch)) await new Promise((resolve) => { socket.once("drain", resolve); socket.once("close", resolve); });
    }
    await pipeline.exited;
    socket.destroy();
    expect(readFileSync(status, "utf8").trim()).toBe("0");
    expect(readFileSync(err, "utf8")).not.toMatch(/EPIPE|error/i);
  });

  test("when stdout is not read, sockets stop being read (memory stays bounded) and nothing is lost afterwards", async () => {
    const fifo = join(tempDir(), "stdout.fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    // A reader that never reads keeps the FIFO open; the listener writes into it until it is full.
    const idleReader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writerEnd = openSync(fifo, constants.O_WRONLY);
    const listener = await startListenerProcess(["--stats-interval", "0"], { stdoutFd: writerEnd });
    closeSync(writerEnd);
    const socket = await openTcp(listener.ports.tcp!);
    const line = JSON.stringify({ level: "INFO", message: "x".repeat(480) }) + "\n"; // ~512 bytes
    const linesPerChunk = 256;
    const chunk = line.repeat(linesPerChunk);
    const chunks = 768; // ~96 MiB
    let handedOver = 0;
    const writing = (async () => {
      for (let i = 0; i < chunks; i++) {
        if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve));
        handedOver++;
      }
      await new Promise<void>((resolve) => socket.end(resolve));
    })();
    // Wait until the sender makes no more progress: it is held back by TCP.
    let last = -1;
    let peakRss = 0;
    while (handedOver !== last) {
      last = handedOver;
      await Bun.sleep(500);
      peakRss = Math.max(peakRss, residentMegabytes(listener.child.pid));
    }
    expect(handedOver).toBeLessThan(chunks);
    expect(peakRss).toBeLessThan(150);
    // Now read: every line comes out.
    let newlines = 0;
    const stdout = createReadStream(fifo);
    // Only once the real reader has the FIFO open may the idle one go (else the listener sees EPIPE and exits).
    await new Promise((resolve) => stdout.once("open", resolve));
    closeSync(idleReader);
    const reading = (async () => {
      for await (const piece of stdout) {
        for (const byte of piece as Buffer) if (byte === 0x0a) newlines++;
      }
    })();
    await writing;
    await until(() => newlines === chunks * linesPerChunk, "every line", 60_000);
    const { code } = await listener.stop();
    await reading;
    expect(code).toBe(0);
  }, 90_000);

  test("a line over --max-line-bytes goes to the --bad file with a warning on stderr", async () => {
    const dir = tempDir();
    const bad = join(dir, "bad.ndjson");
    const listener = await startListenerProcess(["--max-line-bytes", "64", "--bad", bad, "--stats-interval", "0"]);
    await sendTcp(listener.ports.tcp!, [`{"ok":1}\n{"long":"${"z".repeat(100)}"}\n`]);
    await until(() => existsSync(bad) && readFileSync(bad, "utf8").endsWith("\n"), "a bad row");
    await until(() => listener.stdout().includes('"ok":1'), "the good line");
    const { code } = await listener.stop();
    expect(code).toBe(0);
    const rows = parseLines(readFileSync(bad, "utf8"));
    expect(rows.length).toBe(1);
    expect(rows[0]!.schema).toBe("iglu:com.snowplowanalytics.snowplow.badrows/size_violation/jsonschema/1-0-0");
    expect(rows[0]!.data.processor.artifact).toBe("telemetry-logs-listen");
    expect(listener.stderr()).toContain("longer than --max-line-bytes 64");
  });

  test("configuration mistakes: one sentence on stderr, exit 2", async () => {
    const halfTls = Bun.spawnSync([telemetryBin, "logs-listen", "--port", "0", "--tls-cert", "/nonexistent.pem"]);
    expect(halfTls.exitCode).toBe(2);
    expect(halfTls.stderr.toString()).toContain("--tls-cert and --tls-key go together");

    const missingCert = Bun.spawnSync([telemetryBin, "logs-listen", "--port", "0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"]);
    expect(missingCert.exitCode).toBe(2);
    expect(missingCert.stderr.toString()).toContain("--tls-cert /nonexistent.pem cannot be read");

    const listener = await startListenerProcess(["--stats-interval", "0"]);
    const taken = Bun.spawnSync([telemetryBin, "logs-listen", "--host", "127.0.0.1", "--port", String(listener.ports.tcp)]);
    await listener.stop();
    expect(taken.exitCode).toBe(2);
    expect(taken.stderr.toString().trim().split("\n").length).toBe(1);
    expect(taken.stderr.toString()).toContain(`cannot listen on 127.0.0.1 (port ${listener.ports.tcp}`);
  });
});
