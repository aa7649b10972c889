/**
 * The end-to-end bench's load generator, run as its own process so that its CPU time is its own: tracker-
 * protocol page views at a fixed rate (open loop: a request is due at its time whether or not the earlier
 * ones were answered), GET (one event a request) or POST (tp2 batches of 10).
 *
 * Why not `fetch`: a Request, a Response and their promises per event cost about as much CPU as a pipeline
 * stage (README, Speed). Here each connection is a plain keep-alive HTTP/1.1 socket (Bun.connect), a
 * request is one string written, and a response is read by its status line and Content-Length only.
 *
 * Usage: bun load-generator.ts '<json: GeneratorOptions>'; writes each event's send time (ms since the epoch,
 * a Float64Array by sequence) to `sentAtFile` and prints one JSON line (GeneratorResult) on stdout.
 */
import type { Socket } from "bun";
import { writeFileSync } from "node:fs";
import { peakRssMb } from "./measure";

export interface GeneratorOptions {
  port: number;
  method: "get" | "post";
  /** Carried in every event id (with the sequence), so the store tells which run an event belongs to. */
  run: number;
  perSecond: number;
  seconds: number;
  connections: number;
  sentAtFile: string;
}

export interface GeneratorResult {
  total: number;
  /** Events by the status their request was answered with; -1: the connection failed first. */
  statuses: Record<string, number>;
  lastSentAt: number;
  /** Every request went out within a tenth of the run's time of when it was due. */
  keptUp: boolean;
  /** The generator's own CPU time (user + system), µs. */
  cpuMicros: number;
  peakRssMb: number;
}

/**
 * One request at a time on a connection, as browsers and trackers send them: Bun's server closes a
 * connection that pipelines a request while an earlier one's response is still being awaited. When every
 * connection is waiting, another is opened, up to this many; past it the generator is behind.
 */
const MAX_CONNECTIONS = 2000;
const POST_BATCH = 10;
/** How often the due requests are sent: coarser ticks cost less, finer ones spread the load more evenly. */
const TICK_MS = Number(process.env.BENCH_TICK_MS ?? 5);

/** Event ids that carry the run and the send order, so the store tells which event arrived when. */
export function eventId(run: number, sequence: number): string {
  return `${run.toString(16).padStart(8, "0")}-0000-4000-8000-${sequence.toString(16).padStart(12, "0")}`;
}

export function sequenceOf(id: string): number {
  return parseInt(id.slice(-12), 16);
}

export function runOf(id: string): number {
  return parseInt(id.slice(0, 8), 16);
}

/** A page view's parameters; `eid`, `dtm` and `stm` are what changes from one event to the next. */
function eventFields(run: number, sequence: number, now: number): [string, string][] {
  return [
    ["e", "pv"],
    ["p", "web"],
    ["tv", "js-4.0.0"],
    ["aid", "bench"],
    ["eid", eventId(run, sequence)],
    ["dtm", String(now)],
    ["stm", String(now)],
    ["url", `https://shop.example.com/products/${sequence % 500}?ref=mail`],
    ["page", "Product"],
    ["refr", "https://mail.example.com/"],
    ["res", "1280x720"],
    ["lang", "en-US"],
    ["duid", "4d6a8a6c-8b7b-4a57-8f32-4f1f6b6c2d11"],
    ["sid", "1b7b0f0e-3b4c-4f2e-9a57-6f6e8c0a2b33"],
    ["vid", "3"],
  ];
}

const HEADERS = "Host: 127.0.0.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) bench/1.0\r\nAccept: */*\r\n";

function getRequest(run: number, sequence: number, now: number): string {
  const query = eventFields(run, sequence, now)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join("&");
  return `GET /i?${query} HTTP/1.1\r\n${HEADERS}\r\n`;
}

function postRequest(run: number, firstSequence: number, count: number, now: number): string {
  const data = Array.from({ length: count }, (_, i) => Object.fromEntries(eventFields(run, firstSequence + i, now)));
  const body = JSON.stringify({ schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", data });
  return (
    `POST /com.snowplowanalytics.snowplow/tp2 HTTP/1.1\r\n${HEADERS}Content-Type: application/json; charset=UTF-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

interface Connection {
  socket: Socket<undefined> | null;
  /** Events of the request sent and not answered yet; 0 when idle. */
  waiting: number;
  /** Bytes the socket has not taken yet (written once it is open, or on drain). */
  unsent: Uint8Array | null;
  received: Buffer;
  failed: boolean;
}

const HEADER_END = Buffer.from("\r\n\r\n");
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

export async function generate(options: GeneratorOptions): Promise<GeneratorResult> {
  const perRequest = options.method === "post" ? POST_BATCH : 1;
  const total = Math.round(options.perSecond * options.seconds);
  const sentAt = new Float64Array(total);
  const statuses = new Map<number, number>();
  let answered = 0;
  let allAnswered!: () => void;
  const done = new Promise<void>((resolve) => (allAnswered = resolve));
  const settle = (status: number, events: number) => {
    statuses.set(status, (statuses.get(status) ?? 0) + events);
    answered += events;
    if (answered === total) allAnswered();
  };

  const idle: Connection[] = [];
  let open = 0;
  const write = (connection: Connection, bytes: Uint8Array) => {
    if (connection.socket === null || connection.unsent !== null) {
      connection.unsent = connection.unsent === null ? bytes : Buffer.concat([connection.unsent, bytes]);
      return;
    }
    const written = connection.socket.write(bytes);
    if (written < bytes.length) connection.unsent = bytes.subarray(Math.max(written, 0));
  };
  const fail = (connection: Connection) => {
    if (connection.failed) return;
    connection.failed = true;
    open--;
    const at = idle.indexOf(connection);
    if (at !== -1) idle.splice(at, 1);
    if (connection.waiting > 0) settle(-1, connection.waiting);
    connection.waiting = 0;
  };
  const readResponse = (connection: Connection) => {
    const buffer = connection.received;
    const headerEnd = buffer.indexOf(HEADER_END);
    if (headerEnd === -1) return;
    const head = buffer.toString("latin1", 0, headerEnd);
    const end = headerEnd + 4 + Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
    if (buffer.length < end) return;
    settle(Number(head.slice(9, 12)), connection.waiting);
    connection.waiting = 0;
    connection.received = buffer.subarray(end);
    idle.push(connection);
  };
  /** A new connection; a request written before it is open waits in `unsent`. */
  const connect = (): { connection: Connection; opened: Promise<unknown> } => {
    const connection: Connection = { socket: null, waiting: 0, unsent: null, received: Buffer.alloc(0), failed: false };
    open++;
    const opened = Bun.connect({
      hostname: "127.0.0.1",
      port: options.port,
      socket: {
        open(socket) {
          connection.socket = socket;
          const bytes = connection.unsent;
          connection.unsent = null;
          if (bytes !== null) write(connection, bytes);
        },
        data(_socket, data) {
          connection.received = connection.received.length === 0 ? data : Buffer.concat([connection.received, data]);
          readResponse(connection);
        },
        drain(socket) {
          const bytes = connection.unsent;
          if (bytes === null) return;
          const written = socket.write(bytes);
          connection.unsent = written < bytes.length ? bytes.subarray(Math.max(written, 0)) : null;
        },
        close: () => fail(connection),
        error: () => fail(connection),
        connectError: () => fail(connection),
      },
    }).catch(() => fail(connection));
    return { connection, opened };
  };
  const first = Array.from({ length: options.connections }, connect);
  await Promise.all(first.map(({ opened }) => opened));
  for (const { connection } of first) if (!connection.failed) idle.push(connection);

  let sent = 0;
  let behind = false;
  const started = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.perSecond));
    const now = Date.now();
    while (sent + perRequest <= due || (sent < due && due === total)) {
      let connection = idle.pop();
      if (connection === undefined) {
        // Every connection is waiting for its answer: one more, as another browser would open.
        if (open >= MAX_CONNECTIONS) {
          behind = true;
          break;
        }
        connection = connect().connection;
      }
      const events = Math.min(perRequest, total - sent);
      sentAt.fill(now, sent, sent + events);
      connection.waiting = events;
      write(connection, Buffer.from(options.method === "get" ? getRequest(options.run, sent, now) : postRequest(options.run, sent, events, now)));
      sent += events;
    }
    await Bun.sleep(TICK_MS);
  }
  const lastSentAt = Date.now();
  const sendSeconds = (performance.now() - started) / 1000;
  if (answered < total) await done;
  for (const connection of idle) connection.socket?.end();
  writeFileSync(options.sentAtFile, new Uint8Array(sentAt.buffer));
  const cpu = process.cpuUsage();
  return {
    total,
    statuses: Object.fromEntries(statuses),
    lastSentAt,
    keptUp: !behind && sendSeconds < options.seconds * 1.1,
    cpuMicros: cpu.user + cpu.system,
    peakRssMb: peakRssMb(process.pid),
  };
}

if (import.meta.main) {
  const result = await generate(JSON.parse(process.argv[2]!) as GeneratorOptions);
  console.log(JSON.stringify(result));
  process.exit(0);
}
