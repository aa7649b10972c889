/**
 * The logs-listen stage: TCP (or TLS) connections and UDP datagrams carrying newline-delimited log
 * events, as logback's LogstashTcpSocketAppender and Logstash's `json_lines` codec send them, turned into
 * NDJSON log records on an output, with unreadable lines as bad rows.
 *
 * Each connection has its own line splitter, so a line split across packets is joined and a last line
 * without newline is still read when the peer closes. A line over the limit becomes a size_violation bad
 * row and its connection is closed, as the Logstash tcp input does on "input buffer full". When the output
 * is blocked every socket stops reading, so the senders feel TCP backpressure instead of this process
 * buffering; UDP cannot be paused, so datagrams that arrive meanwhile are dropped and counted, as the
 * kernel would drop them.
 */
import type { Socket, TCPSocketListener, udp } from "bun";
import type { BadRowSink, Processor } from "../shared/bad-rows";
import type { StageCounters } from "../shared/counters";
import { LineSplitter, type LineEvent } from "../shared/lines";
import { lineProblemBadRow } from "../shared/ndjson";
import { logRecordsFromLine, sourceJson, type LogSource, type RecordContext, type Transport } from "./log-record";

/** Where records go: a LineWriter in the process, anything alike in tests. */
export interface RecordOutput {
  /** `count` whole lines, each ending in "\n". */
  writeLines(text: string, count: number): unknown;
  /** True while the last batch has not been taken: reading must pause. */
  readonly isBlocked: boolean;
  /** Resolves once the output has taken everything queued so far. */
  flush(): Promise<void>;
}

export interface LogListenerOptions {
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** UDP port; none when undefined. */
  udpPort?: number;
  /** PEM certificate and key: the TCP port then speaks TLS. */
  tls?: { cert: string; key: string };
  maxLineBytes: number;
  maxConnections: number;
}

export interface LogListenerSinks {
  output: RecordOutput;
  bad: BadRowSink;
  counters: StageCounters;
  processor: Processor;
  /** A sentence for the person running the stage (stderr). */
  warn: (message: string) => void;
}

export interface LogListener {
  /** What is listening, e.g. `tcp 127.0.0.1:9600`, `udp 127.0.0.1:9601`. */
  readonly addresses: string[];
  readonly port: number;
  readonly udpPort: number | undefined;
  readonly connectionCount: number;
  /** True while sockets are paused because the output is blocked. */
  readonly isPaused: boolean;
  /**
   * Stops accepting; reads on for a moment what peers already sent (it sits in kernel buffers), then
   * takes the last unterminated line of each connection and closes them.
   */
  close(): Promise<void>;
}

const WARNING_INTERVAL_MS = 10_000;
const SHUTDOWN_READ_MS = 100;

/**
 * Turns line events from any source into records, bad rows and counts. The records of one network read
 * are gathered and handed to the output together: one write instead of one per line.
 */
class Intake {
  private readonly warnOversized: (message: string) => void;
  private gathered = "";
  private gatheredLines = 0;
  /** One count for all connections and datagrams, so no two records of this process share a number. */
  private sequence = 0;

  constructor(
    private readonly sinks: LogListenerSinks,
    private readonly maxLineBytes: number,
  ) {
    this.warnOversized = throttled(sinks.warn);
  }

  readonly nextSequence = (): number => ++this.sequence;

  readonly write = (json: string): void => {
    this.gathered += json + "\n";
    this.gatheredLines++;
  };

  /** Hands what the last read gave to the output. */
  deliver(): void {
    if (this.gatheredLines === 0) return;
    this.sinks.counters.out += this.gatheredLines;
    void this.sinks.output.writeLines(this.gathered, this.gatheredLines);
    this.gathered = "";
    this.gatheredLines = 0;
  }

  take(event: LineEvent, source: LineSource): void {
    // A line of only whitespace is no event, as Logstash's json_lines has it (a bare newline never gets here).
    if (event.kind === "line" && isBlank(event.text)) return;
    const { counters, bad, processor } = this.sinks;
    counters.in++;
    if (event.kind === "line") {
      logRecordsFromLine(event.text, source, this.write);
      return;
    }
    if (event.kind === "oversized") {
      source.overflowed = true;
      this.warnOversized(
        `${source.name}: a line of ${event.bytes} bytes is longer than --max-line-bytes ${this.maxLineBytes}; ` +
          "it went to the bad rows and the connection is closed",
      );
    }
    counters.bad++;
    void bad.write(lineProblemBadRow(event, processor, this.maxLineBytes, source.name));
  }
}

/** Only spaces, tabs and the like; the first character decides for almost every line without a scan. */
function isBlank(text: string): boolean {
  return text.charCodeAt(0) <= 32 && text.trim() === "";
}

/** One TCP connection, or one UDP datagram: its framing state and what records say about it. */
class LineSource implements RecordContext {
  readonly sourceJson: string;
  readonly name: string;
  /** A line went over the limit: the connection is to be closed. */
  overflowed = false;
  private readonly splitter: LineSplitter;
  private receiptTime: string | undefined;
  private finished = false;

  constructor(
    source: LogSource,
    private readonly intake: Intake,
    maxLineBytes: number,
  ) {
    this.sourceJson = sourceJson(source);
    this.name = `${source.transport} ${hostPort(source.address, source.port)}`;
    this.splitter = new LineSplitter({ maxLineBytes });
  }

  /** Every record made from one chunk shares the moment the chunk arrived. */
  receivedAt(): string {
    return (this.receiptTime ??= new Date().toISOString());
  }

  nextSequence(): number {
    return this.intake.nextSequence();
  }

  receive(chunk: Uint8Array): void {
    if (this.finished) return;
    this.receiptTime = undefined;
    this.splitter.push(chunk, this.takeLine);
    this.intake.deliver();
    // Stop at once on an endless line rather than waiting for a newline that may never come.
    if (this.splitter.isInOversizedLine) this.finish();
  }

  /** The peer is gone (or we are stopping): its last line counts even without a newline. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.receiptTime = undefined;
    this.splitter.end(this.takeLine);
    this.intake.deliver();
  }

  private readonly takeLine = (event: LineEvent): void => this.intake.take(event, this);
}

export async function startLogListener(options: LogListenerOptions, sinks: LogListenerSinks): Promise<LogListener> {
  const intake = new Intake(sinks, options.maxLineBytes);
  const sockets = new Set<Socket<LineSource | undefined>>();
  const transport: Transport = options.tls ? "tls" : "tcp";
  const warnRefused = throttled(sinks.warn);
  const warnDropped = throttled(sinks.warn);
  let paused = false;
  let closed = false;

  function pauseReading(): void {
    if (paused) return;
    paused = true;
    for (const socket of sockets) socket.pause();
    void resumeWhenOutputTakesMore();
  }

  async function resumeWhenOutputTakesMore(): Promise<void> {
    try {
      while (sinks.output.isBlocked) await sinks.output.flush();
    } finally {
      paused = false;
      if (!closed) for (const socket of sockets) socket.resume();
    }
  }

  const tcp: TCPSocketListener<LineSource | undefined> = Bun.listen<LineSource | undefined>({
    hostname: options.host,
    port: options.port,
    tls: options.tls,
    data: undefined,
    socket: {
      open(socket) {
        if (sockets.size >= options.maxConnections) {
          warnRefused(
            `refused a connection from ${hostPort(socket.remoteAddress, socket.remotePort)}: ` +
              `--max-connections ${options.maxConnections} are open`,
          );
          socket.end();
          return;
        }
        const source = { address: socket.remoteAddress, port: socket.remotePort, transport };
        socket.data = new LineSource(source, intake, options.maxLineBytes);
        sockets.add(socket);
        if (paused) socket.pause();
      },
      data(socket, chunk) {
        const source = socket.data;
        if (!source) return;
        source.receive(chunk);
        if (source.overflowed) socket.end();
        if (sinks.output.isBlocked) pauseReading();
      },
      close(socket) {
        sockets.delete(socket);
        socket.data?.finish();
        if (sinks.output.isBlocked) pauseReading();
      },
      // A reset peer or a failed TLS handshake: nothing to do here, `close` follows and reads what is left.
      error() {},
    },
  });

  let udpSocket: udp.Socket<"buffer"> | undefined;
  if (options.udpPort !== undefined) {
    try {
      udpSocket = await Bun.udpSocket({
        hostname: options.host,
        port: options.udpPort,
        socket: {
          data(_socket, datagram, port, address) {
            if (sinks.output.isBlocked) {
              warnDropped("stdout is not keeping up: dropping UDP datagrams until it does");
              return;
            }
            const source = new LineSource({ address, port, transport: "udp" }, intake, options.maxLineBytes);
            source.receive(datagram);
            source.finish();
          },
        },
      });
    } catch (error) {
      tcp.stop(true);
      throw error;
    }
  }

  const addresses = [`${transport} ${hostPort(tcp.hostname, tcp.port)}`];
  if (udpSocket) addresses.push(`udp ${hostPort(udpSocket.hostname, udpSocket.port)}`);

  return {
    addresses,
    port: tcp.port,
    udpPort: udpSocket?.port,
    get connectionCount() {
      return sockets.size;
    },
    get isPaused() {
      return paused;
    },
    async close() {
      if (closed) return;
      closed = true;
      tcp.stop(false);
      await Bun.sleep(SHUTDOWN_READ_MS);
      for (const socket of sockets) socket.data?.finish();
      tcp.stop(true);
      udpSocket?.close();
      sockets.clear();
    },
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Says a thing at most once per interval, so a flood of bad clients cannot flood stderr. */
function throttled(warn: (message: string) => void): (message: string) => void {
  let lastAt = -Infinity;
  let held = 0;
  return (message) => {
    const now = Date.now();
    if (now - lastAt < WARNING_INTERVAL_MS) {
      held++;
      return;
    }
    warn(held > 0 ? `${message} (and ${held} more like it since the last warning)` : message);
    lastAt = now;
    held = 0;
  };
}
