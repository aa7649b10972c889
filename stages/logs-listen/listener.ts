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
 *
 * Two limits keep clients from exhausting the process. A connection that finishes no line for the idle
 * timeout is closed, so silent or trickling clients give their slot back; and the unfinished lines of all
 * connections together hold at most maxBufferedBytes, the largest being dropped first. Either way a line
 * cut short is a bad row holding its head, never a record.
 */
import type { Socket, TCPSocketListener, udp } from "bun";
import { makeBadRow, type BadRowSink, type Processor } from "../shared/bad-rows";
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
  /**
   * PEM certificate and key: the TCP port then speaks TLS. With `ca`, clients must present a certificate
   * one of its PEM certificates signed. `ciphers` (OpenSSL's list form) are the TLS 1.2 suites offered;
   * TLS 1.3's are always on.
   */
  tls?: { cert: string; key: string; ca?: string; ciphers?: string };
  maxLineBytes: number;
  maxConnections: number;
  /** A connection that completes no line (nor sends a bare newline) for this long is closed; 0: never. */
  idleTimeoutMs: number;
  /** Bytes of unfinished lines held across all connections at most. */
  maxBufferedBytes: number;
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

/**
 * TLS 1.2 suites offered unless told otherwise: forward-secret AEAD only (Mozilla's "intermediate" set), so
 * CBC suites such as AES128-SHA, and with them TLS 1.0 and 1.1, are refused. Java 8+ (logback) has these.
 */
export const DEFAULT_TLS_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20";

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
  /** Bytes the sources' unfinished lines hold, all together. */
  buffered = 0;

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

  /** A line that will never be finished: a bad row with its head, so it is told, not taken as a record. */
  dropUnfinished(source: LineSource, unfinished: { bytes: number; head: string }, why: string): void {
    const { counters, bad, processor } = this.sinks;
    counters.bad++;
    const error = `${source.name}: ${why}; its unfinished line of ${unfinished.bytes} bytes (the payload is its head) was not taken as a record`;
    void bad.write(makeBadRow("generic_error", processor, { timestamp: new Date().toISOString(), errors: [error] }, unfinished.head));
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
  /** When this source last ended a line (or was opened, or reading resumed after a pause). */
  lastLineAt = Date.now();

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

  /** Bytes this source's unfinished line holds. */
  get bufferedBytes(): number {
    return this.splitter.bufferedBytes;
  }

  receive(chunk: Uint8Array): void {
    if (this.finished) return;
    this.receiptTime = undefined;
    const { lineEnds, bufferedBytes } = this.splitter;
    this.splitter.push(chunk, this.takeLine);
    this.intake.buffered += this.splitter.bufferedBytes - bufferedBytes;
    if (this.splitter.lineEnds !== lineEnds) this.lastLineAt = Date.now();
    this.intake.deliver();
    // Stop at once on an endless line rather than waiting for a newline that may never come.
    if (this.splitter.isInOversizedLine) this.finish();
  }

  /** The peer is gone (or we are stopping): its last line counts even without a newline. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.receiptTime = undefined;
    this.intake.buffered -= this.splitter.bufferedBytes;
    this.splitter.end(this.takeLine);
    this.intake.deliver();
  }

  /** We close the connection for `why`: a line it left unfinished is dropped as a bad row. */
  giveUp(why: string): void {
    if (this.finished) return;
    this.finished = true;
    this.intake.buffered -= this.splitter.bufferedBytes;
    const unfinished = this.splitter.abandon();
    if (unfinished) this.intake.dropUnfinished(this, unfinished, why);
  }

  private readonly takeLine = (event: LineEvent): void => this.intake.take(event, this);
}

export async function startLogListener(options: LogListenerOptions, sinks: LogListenerSinks): Promise<LogListener> {
  const intake = new Intake(sinks, options.maxLineBytes);
  const sockets = new Set<Socket<LineSource | undefined>>();
  const transport: Transport = options.tls ? "tls" : "tcp";
  const warnRefused = throttled(sinks.warn);
  const warnDropped = throttled(sinks.warn);
  const warnIdle = throttled(sinks.warn);
  const warnBuffered = throttled(sinks.warn);
  let paused = false;
  let closed = false;

  /** Closes a connection for `why`, its unfinished line (if any) becoming a bad row. */
  function giveUp(socket: Socket<LineSource | undefined>, why: string): void {
    socket.data?.giveUp(why);
    socket.end();
  }

  // A paused connection cannot finish a line, so time spent paused does not count as idle.
  const idleSweep =
    options.idleTimeoutMs > 0
      ? setInterval(() => {
          if (paused) return;
          const now = Date.now();
          for (const socket of sockets) {
            const source = socket.data;
            if (!source || now - source.lastLineAt <= options.idleTimeoutMs) continue;
            const why = `the connection finished no line for --idle-timeout ${options.idleTimeoutMs / 1000} s and was closed`;
            warnIdle(`${source.name}: ${why}`);
            giveUp(socket, why);
          }
        }, Math.min(1000, options.idleTimeoutMs / 2))
      : undefined;
  idleSweep?.unref();

  /** Over the cap, the connections holding the most are closed until the rest fit. */
  function keepBufferedUnderCap(): void {
    if (intake.buffered <= options.maxBufferedBytes) return;
    const largestFirst = [...sockets].sort((a, b) => (b.data?.bufferedBytes ?? 0) - (a.data?.bufferedBytes ?? 0));
    for (const socket of largestFirst) {
      if (intake.buffered <= options.maxBufferedBytes) break;
      const why = `unfinished lines of all connections reached --max-buffered-bytes ${options.maxBufferedBytes}, and this connection held the most; it was closed`;
      warnBuffered(`${socket.data?.name}: ${why}`);
      giveUp(socket, why);
    }
  }

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
      const now = Date.now();
      for (const socket of sockets) if (socket.data) socket.data.lastLineAt = now;
      if (!closed) for (const socket of sockets) socket.resume();
    }
  }

  const tcp: TCPSocketListener<LineSource | undefined> = Bun.listen<LineSource | undefined>({
    hostname: options.host,
    port: options.port,
    tls: options.tls && {
      cert: options.tls.cert,
      key: options.tls.key,
      ciphers: options.tls.ciphers ?? DEFAULT_TLS_CIPHERS,
      ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca, requestCert: true, rejectUnauthorized: true }),
    },
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
        else keepBufferedUnderCap();
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
      clearInterval(idleSweep);
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
