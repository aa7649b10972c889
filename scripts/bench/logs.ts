/**
 * Bench of `telemetry logs-listen`: log lines per second and peak RSS with several concurrent TCP senders
 * pushing logback-style JSON lines (a fiftieth of them errors with a stack trace), beside two baselines in
 * the same run, rounds alternating between the three:
 *   - a bare Bun.listen that only splits lines, checks each parses as JSON and writes it to stdout;
 *   - rsyslog's imtcp input writing each raw message to a file (Debian package `rsyslog`, run in the
 *     foreground with its own config on a free port, stopped after each round).
 * Listener stdout goes to /dev/null. A round ends when every sender's connection has been closed by the
 * listener (it has read everything; for the Bun listeners that means every line was handled) and, for
 * rsyslog, when its file holds every byte. Medians of the rounds are printed (the ratio is the median of the
 * rounds' own ratios), one JSON row per baseline.
 *
 *   node_modules/.bin/bun scripts/bench/logs.ts            the benchmark
 *   node_modules/.bin/bun scripts/bench/logs.ts --bare     the bare listener (started by the benchmark)
 *   node_modules/.bin/bun scripts/bench/logs.ts --send …   one sender process (started by the benchmark)
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, peakRssMb } from "./lib/measure";

const ROOT = join(import.meta.dir, "../..");
const BUN = process.execPath;
const ROUNDS = 5;
const SENDERS = 4;
const BLOCK_LINES = 10_000;
const BLOCKS_PER_SENDER = 30; // 4 × 30 × 10,000 = 1.2 million lines a round
const ROUND_TIMEOUT_MS = 40_000;

function log(message: string): void {
  process.stderr.write(`bench logs: ${message}\n`);
}

/** What LogstashTcpSocketAppender sends: INFO lines with MDC, and now and then an error with a cause. */
function logBlock(): Uint8Array {
  const lines: string[] = [];
  const trace =
    "java.lang.IllegalStateException: could not load order\n" +
    Array.from({ length: 12 }, (_, i) => `\tat com.shop.orders.OrderService.step${i}(OrderService.java:${40 + i})`).join("\n") +
    "\nCaused by: java.net.SocketTimeoutException: Read timed out\n" +
    Array.from({ length: 8 }, (_, i) => `\tat java.base/java.net.SocketInputStream.read${i}(SocketInputStream.java:${100 + i})`).join("\n") +
    "\n\t... 12 common frames omitted\n";
  for (let n = 0; n < BLOCK_LINES; n++) {
    const base = {
      "@timestamp": new Date(1764300000000 + n).toISOString(),
      "@version": "1",
      message: `order ${n} processed in ${n % 97} ms`,
      logger_name: "com.shop.orders.OrderService",
      thread_name: `http-nio-8080-exec-${n % 16}`,
      level: "INFO",
      level_value: 20000,
      request_id: `req-${n.toString(16).padStart(8, "0")}`,
      user: `u-${n % 1000}`,
      app: "orders",
    };
    const event = n % 50 === 49 ? { ...base, level: "ERROR", level_value: 40000, message: `order ${n} failed`, stack_trace: trace } : base;
    lines.push(JSON.stringify(event));
  }
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

/** The baseline: split lines, check each is JSON, write it to stdout; nothing else. */
function runBareListener(): void {
  const listener = Bun.listen<{ decoder: TextDecoder; rest: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { decoder: new TextDecoder(), rest: "" };
      },
      data(socket, chunk) {
        const state = socket.data;
        const lines = (state.rest + state.decoder.decode(chunk, { stream: true })).split("\n");
        state.rest = lines.pop()!;
        let out = "";
        for (const line of lines) {
          if (line === "") continue;
          JSON.parse(line);
          out += line + "\n";
        }
        process.stdout.write(out);
      },
    },
  });
  process.on("SIGTERM", () => process.exit(0));
  process.stderr.write(`listening on tcp 127.0.0.1:${listener.port}\n`);
}

/** SENDERS connections, each sending BLOCKS_PER_SENDER blocks; prints when they started and when the listener closed them all. */
async function runSenders(port: number): Promise<void> {
  const block = logBlock();
  const startedAt = Date.now();
  await Promise.all(Array.from({ length: SENDERS }, () => sendBlocks(port, block, BLOCKS_PER_SENDER)));
  process.stdout.write(JSON.stringify({ startedAt, endedAt: Date.now() }) + "\n");
}

function sendBlocks(port: number, block: Uint8Array, blocks: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let offset = 0;
    let ended = false;
    const pump = (socket: Bun.Socket) => {
      while (sent < blocks) {
        offset += socket.write(block, offset, block.length - offset);
        if (offset < block.length) return; // the kernel buffer is full: wait for drain
        offset = 0;
        sent++;
      }
      if (!ended) {
        ended = true;
        socket.end(); // the listener closes its side once it has read everything
      }
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { open: pump, drain: pump, close: () => resolve(), error: (_socket, error) => reject(error), data() {} },
    }).catch(reject);
  });
}

interface Subject {
  name: string;
  /** Starts the listener; resolves with its port, its pid and a function that stops it. */
  start(dir: string): Promise<{ port: number; pid: number; stop(): Promise<void>; done?(): boolean }>;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = ROUND_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

/** A child whose stderr names `tcp 127.0.0.1:PORT` when it is ready. */
async function startBunListener(command: string[]) {
  const child = Bun.spawn(command, { cwd: ROOT, stdin: "ignore", stdout: Bun.file("/dev/null"), stderr: "pipe" });
  let stderr = "";
  const reader = child.stderr.getReader();
  const decoder = new TextDecoder();
  while (!/tcp 127\.0\.0\.1:(\d+)/.test(stderr)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${command.join(" ")} exited before listening: ${stderr}`);
    stderr += decoder.decode(value);
  }
  void (async () => {
    while (!(await reader.read()).done); // keep draining stderr
  })();
  return {
    port: Number(/tcp 127\.0\.0\.1:(\d+)/.exec(stderr)![1]),
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

const subjects: Subject[] = [
  {
    name: "telemetry logs-listen",
    start: () => startBunListener([join(ROOT, "bin/telemetry"), "logs-listen", "--host", "127.0.0.1", "--port", "0", "--stats-interval", "0"]),
  },
  { name: "bare Bun.listen", start: () => startBunListener([BUN, import.meta.path, "--bare"]) },
  {
    name: "rsyslog imtcp → file",
    start: async (dir) => {
      const port = await freePort();
      const out = join(dir, "rsyslog-out.log");
      rmSync(out, { force: true });
      const config = join(dir, "rsyslog.conf");
      writeFileSync(
        config,
        [
          `global(workDirectory="${dir}" maxMessageSize="64k")`,
          `main_queue(queue.size="200000" queue.dequeueBatchSize="1024")`,
          `module(load="imtcp")`,
          `template(name="raw" type="string" string="%rawmsg%\\n")`,
          `ruleset(name="bench") { action(type="omfile" file="${out}" template="raw" ioBufferSize="64k") }`,
          `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="bench")`,
        ].join("\n") + "\n",
      );
      const pidFile = join(dir, "rsyslog.pid");
      const child = Bun.spawn(["rsyslogd", "-n", "-f", config, "-i", pidFile], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      await waitFor(() => existsSync(pidFile), "rsyslogd to start", 10_000);
      // The pid file appears before the input listens: wait until a connection is accepted.
      for (let tries = 0; ; tries++) {
        try {
          const probe = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
          probe.end();
          break;
        } catch (error) {
          if (tries > 200) throw error;
          await Bun.sleep(20);
        }
      }
      const expectedBytes = logBlock().length * SENDERS * BLOCKS_PER_SENDER;
      return {
        port,
        pid: child.pid,
        done: () => existsSync(out) && statSync(out).size >= expectedBytes,
        stop: async () => {
          child.kill("SIGTERM");
          await child.exited;
        },
      };
    },
  },
];

async function runRound(subject: Subject, dir: string): Promise<{ linesPerSecond: number; peakRss: number }> {
  const listener = await subject.start(dir);
  try {
    const sender = Bun.spawn([BUN, import.meta.path, "--send", String(listener.port)], { stdout: "pipe", stderr: "inherit" });
    const timeout = setTimeout(() => sender.kill(), ROUND_TIMEOUT_MS);
    const report = await new Response(sender.stdout).text();
    clearTimeout(timeout);
    if ((await sender.exited) !== 0) throw new Error(`the senders failed against ${subject.name}`);
    const { startedAt, endedAt } = JSON.parse(report) as { startedAt: number; endedAt: number };
    let finishedAt = endedAt;
    if (listener.done) {
      await waitFor(listener.done, `${subject.name} to write every line`);
      finishedAt = Math.max(endedAt, Date.now());
    }
    const lines = BLOCK_LINES * BLOCKS_PER_SENDER * SENDERS;
    return { linesPerSecond: lines / ((finishedAt - startedAt) / 1000), peakRss: peakRssMb(listener.pid) };
  } finally {
    await listener.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-logs-"));
  const results = new Map<string, { rates: number[]; rss: number[] }>(subjects.map((s) => [s.name, { rates: [], rss: [] }]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const subject of subjects) {
        const { linesPerSecond, peakRss } = await runRound(subject, dir);
        results.get(subject.name)!.rates.push(linesPerSecond);
        results.get(subject.name)!.rss.push(peakRss);
        log(`round ${round}: ${subject.name}: ${Math.round(linesPerSecond).toLocaleString("en-US")} lines/s, peak RSS ${peakRss.toFixed(1)} MB`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const stage = results.get(subjects[0]!.name)!;
  const peak = Math.max(...stage.rss);
  for (const baseline of subjects.slice(1)) {
    const other = results.get(baseline.name)!;
    // The machine's load drifts between rounds: the ratio is the median of each round's own ratio.
    const ratios = stage.rates.map((rate, round) => rate / other.rates[round]!);
    console.log(
      JSON.stringify({
        area: "logs",
        metric: "lines/s",
        value: Math.round(median(stage.rates)),
        baseline_name: `${baseline.name} (peak RSS ${Math.max(...other.rss).toFixed(1)} MB)`,
        baseline: Math.round(median(other.rates)),
        ratio: Number(median(ratios).toFixed(3)),
        peak_rss_mb: Number(peak.toFixed(1)),
        target: baseline.name.startsWith("bare") ? "ratio >= 0.7, RSS < 150 MB" : "for comparison",
      }),
    );
  }
}

const mode = process.argv[2];
if (mode === "--bare") runBareListener();
else if (mode === "--send") await runSenders(Number(process.argv[3]));
else await main();
