/**
 * `telemetry logs-listen`: wires the log listener to the process — stdout for records, `--bad` for bad
 * rows, stderr for the startup line, warnings and counters; SIGTERM stops accepting, flushes, exits 0.
 */
import { readFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { StageCounters } from "../../stages/shared/counters";
import { LineWriter } from "../../stages/shared/line-writer";
import type { LogListenerOptions } from "../../stages/logs-listen/listener";
import { ConfigError } from "../../stages/shared/config-error";
import { parseByteSize } from "../../stages/shared/byte-size";
import { portOption, withExamples } from "../command";
import { exitWithConfigError, openBadChannel, processorFor, reachOf, say, shutdownSignal, stdinStageOptions } from "../runtime";

const STAGE = "logs-listen";

interface LogsListenArgs {
  host: string;
  port: number;
  udpPort?: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsCiphers?: string;
  maxConnections: number;
  idleTimeout: number;
  maxBufferedBytes: string;
  bad?: string;
  maxLineBytes: number;
  statsInterval: number;
}

const command: CommandModule<object, LogsListenArgs> = {
  command: "logs-listen",
  describe: "Receive Logstash-style JSON lines (logback LogstashTcpSocketAppender, json_lines) over TCP/UDP/TLS",
  builder: (yargs) =>
    withExamples(yargs, [
      ["$0 logs-listen --port 9600 | $0 sink --index 'logs-%Y.%m.%d'", "logback → Elasticsearch"],
      ["$0 logs-listen --port 0 --udp-port 9601 | jq -c 'select(.level == \"ERROR\") | .exception'", "watch errors"],
    ])
      .option("host", { type: "string", default: "0.0.0.0", describe: "address to listen on (127.0.0.1: this machine only)" })
      .option("port", portOption("port", { default: 9600, describe: "TCP port (0 picks a free one; the startup line names it)" }))
      .option("udp-port", portOption("udp-port", { describe: "also take UDP datagrams (one or more lines each) on this port" }))
      .option("tls-cert", { type: "string", describe: "PEM certificate: the TCP port speaks TLS (needs --tls-key)" })
      .option("tls-key", { type: "string", describe: "PEM private key for --tls-cert" })
      .option("tls-ca", { type: "string", describe: "PEM CA certificate(s): TLS clients must present a certificate one of them signed" })
      .option("tls-ciphers", {
        type: "string",
        describe: "TLS 1.2 suites offered, in OpenSSL's form (default ECDHE+AESGCM:ECDHE+CHACHA20; TLS 1.3 suites are always on)",
      })
      .option("max-connections", { type: "number", default: 1000, describe: "open TCP connections at most; more are closed at once" })
      .option("idle-timeout", {
        type: "number",
        default: 60,
        describe: "seconds a connection may go without finishing a line before it is closed (its unfinished line becomes a bad row); 0 never",
      })
      .option("max-buffered-bytes", {
        type: "string",
        default: "64MiB",
        describe: "bytes that unfinished lines of all connections may hold together; over it, the connections holding most are closed",
      })
      .option("bad", stdinStageOptions.bad)
      .option("max-line-bytes", {
        ...stdinStageOptions["max-line-bytes"],
        describe: "longest log line accepted; a longer one becomes a size_violation bad row and closes its connection",
      })
      .option("stats-interval", stdinStageOptions["stats-interval"]) as never,
  handler: async (args) => {
    try {
      await run(args);
    } catch (error) {
      if (error instanceof ConfigError) exitWithConfigError(STAGE, error.message);
      throw error;
    }
  },
};

async function run(args: LogsListenArgs): Promise<never> {
  // Loaded here, not at the top, so other commands do not pay for the listener's modules at startup.
  const { startLogListener } = await import("../../stages/logs-listen/listener");
  const options = listenerOptions(args);
  const signal = shutdownSignal();
  const output = new LineWriter(process.stdout);
  output.closed.then(() => process.exit(0));
  const bad = openBadChannel(STAGE, args.bad);
  const counters = new StageCounters();
  const warn = (message: string) => say(STAGE, message);
  let listener;
  try {
    listener = await startLogListener(options, { output, bad, counters, processor: processorFor(STAGE), warn });
  } catch (error) {
    throw new ConfigError(`cannot listen on ${args.host} (port ${args.port}${args.udpPort === undefined ? "" : `, UDP ${args.udpPort}`}): ${(error as Error).message}`);
  }
  say(STAGE, `listening on ${listener.addresses.join(", ")} (${reachOf(args.host)})`);
  const stopReporting = counters.startReporting(args.statsInterval, warn);
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  await listener.close();
  await output.end();
  stopReporting();
  bad.close();
  say(STAGE, `stopped (${counters.totals()})`);
  process.exit(0);
}

function listenerOptions(args: LogsListenArgs): LogListenerOptions {
  if (!(Number.isInteger(args.maxConnections) && args.maxConnections > 0)) {
    throw new ConfigError(`--max-connections must be a positive whole number, not ${args.maxConnections}`);
  }
  if (!(Number.isInteger(args.maxLineBytes) && args.maxLineBytes > 0)) {
    throw new ConfigError(`--max-line-bytes must be a positive whole number, not ${args.maxLineBytes}`);
  }
  if (!(Number.isFinite(args.idleTimeout) && args.idleTimeout >= 0)) {
    throw new ConfigError(`--idle-timeout must be a number of seconds, 0 or more, not ${args.idleTimeout}`);
  }
  const maxBufferedBytes = parseByteSize(args.maxBufferedBytes);
  if (maxBufferedBytes === undefined) {
    throw new ConfigError(`--max-buffered-bytes must be a size like 64MiB or 1000000, not ${args.maxBufferedBytes}`);
  }
  if ((args.tlsCert === undefined) !== (args.tlsKey === undefined)) {
    throw new ConfigError("--tls-cert and --tls-key go together: give both or neither");
  }
  if ((args.tlsCa !== undefined || args.tlsCiphers !== undefined) && args.tlsCert === undefined) {
    throw new ConfigError("--tls-ca and --tls-ciphers need --tls-cert and --tls-key");
  }
  return {
    host: args.host,
    port: args.port,
    udpPort: args.udpPort,
    tls:
      args.tlsCert && args.tlsKey
        ? {
            cert: readPem(args.tlsCert, "--tls-cert"),
            key: readPem(args.tlsKey, "--tls-key"),
            ca: args.tlsCa === undefined ? undefined : readPem(args.tlsCa, "--tls-ca"),
            ciphers: args.tlsCiphers,
          }
        : undefined,
    maxLineBytes: args.maxLineBytes,
    maxConnections: args.maxConnections,
    idleTimeoutMs: args.idleTimeout * 1000,
    maxBufferedBytes,
  };
}

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`${flag} ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export default command;
