/**
 * Shared pieces of the logs-listen tests: an in-process listener with in-memory sinks, raw socket
 * senders, and a poll helper for "eventually" conditions (never a timing assertion).
 */
import { Writable } from "node:stream";
import { connect, type Socket } from "node:net";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BadRowList } from "../../stages/shared/bad-rows";
import { StageCounters } from "../../stages/shared/counters";
import { LineWriter } from "../../stages/shared/line-writer";
import { compileSchema, createAjv } from "../../stages/iglu/json-schema";
import { startLogListener, type LogListener, type LogListenerOptions } from "../../stages/logs-listen/listener";
import { collectText } from "../fixtures/collect-text";

export const repoRoot = join(import.meta.dir, "../..");
export const telemetryBin = join(repoRoot, "bin/telemetry");

/** A Writable that keeps what it is given; `hold()` stops completing writes, as a reader that stopped reading. */
export class MemoryOutput extends Writable {
  text = "";
  private held: (() => void)[] | null = null;

  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    if (this.held) this.held.push(() => done());
    else done();
  }

  hold(): void {
    this.held = [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const done of held) done();
  }

  records(): Record<string, any>[] {
    return this.text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line));
  }
}

export interface TestListener {
  listener: LogListener;
  stream: MemoryOutput;
  writer: LineWriter;
  bad: BadRowList;
  counters: StageCounters;
  warnings: string[];
  /** Records written so far (after the writer's batch reached the stream). */
  records(): Record<string, any>[];
  stop(): Promise<void>;
}

export async function startTestListener(options: Partial<LogListenerOptions> = {}): Promise<TestListener> {
  const stream = new MemoryOutput();
  const writer = new LineWriter(stream);
  const bad = new BadRowList();
  const counters = new StageCounters();
  const warnings: string[] = [];
  const listener = await startLogListener(
    { host: "127.0.0.1", port: 0, maxLineBytes: 1024 * 1024, maxConnections: 100, idleTimeoutMs: 0, maxBufferedBytes: 64 * 1024 ** 2, ...options },
    { output: writer, bad, counters, processor: { artifact: "telemetry-logs-listen", version: "0.0.0-test" }, warn: (m) => warnings.push(m) },
  );
  return {
    listener,
    stream,
    writer,
    bad,
    counters,
    warnings,
    records: () => stream.records(),
    stop: async () => {
      await listener.close();
      stream.release();
      await writer.end();
    },
  };
}

/** Polls until `condition` holds; fails naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

export function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Writes each part as its own write, waiting for it to leave before the next, then closes. */
export async function sendTcp(port: number, parts: (string | Uint8Array)[]): Promise<{ localPort: number }> {
  const socket = await openTcp(port);
  const localPort = socket.localPort!;
  for (const part of parts) {
    await new Promise<void>((resolve, reject) => socket.write(part, (error) => (error ? reject(error) : resolve())));
    await Bun.sleep(5);
  }
  await new Promise<void>((resolve) => socket.end(resolve));
  return { localPort };
}

/** Resolves when the peer has closed the connection. */
export function closedByPeer(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once("close", () => resolve());
    socket.on("error", () => {});
    socket.resume();
  });
}

/** A self-signed certificate for 127.0.0.1 made with openssl. */
export function makeCertificate(dir: string): { cert: string; key: string; certPath: string; keyPath: string } {
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  const result = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", keyPath, "-out", certPath],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8"), certPath, keyPath };
}

export interface ListenerProcess {
  child: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Ports from the startup line, by transport (`tcp`, `tls`, `udp`). */
  ports: Record<string, number>;
  /** All of stderr read so far. */
  stderr(): string;
  /** All of stdout read so far ("" when it goes to a given fd). */
  stdout(): string;
  /** SIGTERM, then the exit code and everything on stdout. */
  stop(): Promise<{ code: number; stdout: string }>;
}

const startedProcesses = new Set<Bun.Subprocess>();

/** For afterAll: a test that failed before `stop()` must not leave its listener running. */
export function killStartedProcesses(): void {
  for (const child of startedProcesses) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  startedProcesses.clear();
}

/**
 * Starts the real `telemetry logs-listen` on ephemeral ports and waits for its startup line. Its stdout
 * is read into memory, or goes to `stdoutFd` when given (Bun reads a piped child's stdout eagerly, so a
 * test that needs a reader that stops reading passes a FIFO).
 */
export async function startListenerProcess(
  args: string[],
  options: { stdoutFd?: number } = {},
): Promise<ListenerProcess> {
  const child = Bun.spawn([telemetryBin, "logs-listen", "--host", "127.0.0.1", "--port", "0", ...args], {
    stdin: "ignore",
    stdout: options.stdoutFd ?? "pipe",
    stderr: "pipe",
  }) as Bun.Subprocess<"ignore", "pipe", "pipe">;
  startedProcesses.add(child);
  const stderr = collectText(child.stderr);
  const stdout = options.stdoutFd === undefined ? collectText(child.stdout) : { text: () => "", done: Promise.resolve() };
  try {
    await until(() => /listening on .*\n/.test(stderr.text()) || child.exitCode !== null, "the startup line");
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const ports: Record<string, number> = {};
  for (const [, transport, port] of stderr.text().matchAll(/(tcp|tls|udp) 127\.0\.0\.1:(\d+)/g)) ports[transport!] = Number(port);
  return {
    child,
    ports,
    stderr: stderr.text,
    stdout: stdout.text,
    stop: async () => {
      child.kill("SIGTERM");
      const code = await child.exited;
      await Promise.all([stdout.done, stderr.done]);
      return { code, stdout: stdout.text() };
    },
  };
}

export function parseLines(text: string): Record<string, any>[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}

/** The log_record schema, compiled the way Iglu validates (ajv-draft-04 with the self-describing meta-schema). */
export function logRecordValidator() {
  const schema = JSON.parse(readFileSync(join(repoRoot, "schemas/dev.telemetry/log_record/jsonschema/1-0-0"), "utf8"));
  const compiled = compileSchema(createAjv(), schema);
  if ("invalid" in compiled) throw new Error(`log_record schema is invalid: ${compiled.invalid}`);
  return compiled;
}
