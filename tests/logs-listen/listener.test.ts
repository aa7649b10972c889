/**
 * The listener in-process, fed by raw TCP, TLS and UDP sockets: framing, bad input, limits, backpressure.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { closedByPeer, makeCertificate, openTcp, sendTcp, startTestListener, until, type TestListener } from "./helpers";
import { validateBadRow } from "../fixtures/bad-row-schema";

let running: TestListener[] = [];
async function listen(...args: Parameters<typeof startTestListener>): Promise<TestListener> {
  const started = await startTestListener(...args);
  running.push(started);
  return started;
}
afterEach(async () => {
  for (const started of running) await started.stop();
  running = [];
});

describe("logs-listen over TCP", () => {
  test("joins a line split across packets and reads the last line without newline when the peer closes", async () => {
    const t = await listen();
    const { localPort } = await sendTcp(t.listener.port, ['{"message":"first ', 'half"}\n{"n"', ":2}\n", '{"message":"no newline at the end"}']);
    await until(() => t.records().length === 3, "three records");
    const records = t.records();
    expect(records.map((r) => r.message ?? r.n)).toEqual(["first half", 2, "no newline at the end"]);
    expect(records[0]!.source).toEqual({ address: "127.0.0.1", port: localPort, transport: "tcp" });
  });

  test("CRLF line ends are stripped and empty keep-alive lines are ignored", async () => {
    const t = await listen();
    await sendTcp(t.listener.port, ['{"a":1}\r\n\n\r\n{"a":2}\r', "\n\n"]);
    await until(() => t.counters.in === 2, "two lines");
    await t.writer.flush();
    expect(t.records().map((r) => r.a)).toEqual([1, 2]);
  });

  test("a line of only whitespace is no record (no _jsonparsefailure), over TCP and UDP alike", async () => {
    const t = await listen({ udpPort: 0 });
    await sendTcp(t.listener.port, ['{"a":1}\n', "   \n", "\t \r\n", '{"a":2}\n', " \t "]);
    const udp = await Bun.udpSocket({ hostname: "127.0.0.1" });
    udp.send('  \n{"a":3}\n\t\n', t.listener.udpPort!, "127.0.0.1");
    await until(() => t.records().length === 3, "three records");
    udp.close();
    await t.writer.flush();
    expect(t.records().map((r) => r.a).sort()).toEqual([1, 2, 3]);
    expect(t.records().some((r) => r.tags !== undefined)).toBe(false);
    expect(t.counters.in).toBe(3);
  });

  test("plain text and invalid JSON are kept with their raw text and tagged _jsonparsefailure", async () => {
    const t = await listen();
    await sendTcp(t.listener.port, ["plain text line\n", '{"broken": \n', '{"ok":true}\n']);
    await until(() => t.records().length === 3, "three records");
    const [plain, broken, ok] = t.records();
    expect(plain).toMatchObject({ message: "plain text line", tags: ["_jsonparsefailure"] });
    expect(broken).toMatchObject({ message: '{"broken": ', tags: ["_jsonparsefailure"] });
    expect(ok!.tags).toBeUndefined();
    expect(t.bad.rows).toEqual([]);
  });

  test("binary garbage does not crash it: invalid UTF-8 lines become bad rows, the rest goes on", async () => {
    const t = await listen();
    const garbage = new Uint8Array(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 256;
    await sendTcp(t.listener.port, [garbage, "\n", new Uint8Array([0xff, 0xfe, 0x00, 0x0a]), '\n{"after":"garbage"}\n']);
    await until(() => t.records().some((r) => r.after === "garbage"), "the line after the garbage");
    expect(t.bad.rows.length).toBeGreaterThan(0);
    expect(t.bad.rows.every((row) => row.schema.includes("/generic_error/"))).toBe(true);
    const invalid = t.bad.rows.at(-1)!;
    expect(typeof invalid.data.payload).toBe("string");
    expect([...Buffer.from(invalid.data.payload as string, "base64")]).toEqual([0xff, 0xfe, 0x00]);
    expect(await validateBadRow(invalid)).toMatchObject({ ok: true });
    // Every line was accounted for, as a record or as a bad row.
    expect(t.counters.in).toBe(t.counters.bad + t.records().length);
    await sendTcp(t.listener.port, ['{"still":"listening"}\n']);
    await until(() => t.records().some((r) => r.still === "listening"), "a record from a new connection");
  });

  test("a line over --max-line-bytes is a size_violation bad row, a warning, and its connection is closed", async () => {
    const t = await listen({ maxLineBytes: 100 });
    const socket = await openTcp(t.listener.port);
    const closed = closedByPeer(socket);
    socket.write(`{"before":1}\n{"big":"${"x".repeat(300)}"}\n`);
    await closed;
    await until(() => t.bad.rows.length === 1 && t.records().length === 1, "one record and one bad row");
    expect(t.records()[0]!.before).toBe(1);
    const row = t.bad.rows[0]!;
    expect(row.schema).toContain("/size_violation/");
    expect(row.data.failure).toMatchObject({ maximumAllowedSizeBytes: 100, actualSizeBytes: 310 });
    expect(row.data.payload).toStartWith('{"big":"xxx');
    expect(await validateBadRow(row)).toMatchObject({ ok: true });
    expect(t.warnings.join("\n")).toContain("--max-line-bytes 100");
  });

  test("an endless line without newline is cut off once it passes the limit, without waiting for its end", async () => {
    const t = await listen({ maxLineBytes: 1000 });
    const socket = await openTcp(t.listener.port);
    const closed = closedByPeer(socket);
    socket.write("y".repeat(5000)); // no newline: the client could go on for ever
    await closed;
    expect(t.bad.rows.length).toBe(1);
    expect((t.bad.rows[0]!.data.failure as { actualSizeBytes: number }).actualSizeBytes).toBeGreaterThan(1000);
  });

  test("many concurrent slow clients: every line arrives once, in order per connection, with its own source", async () => {
    const t = await listen();
    const clients = 40;
    const linesEach = 50;
    const sockets = await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        const text = Array.from({ length: linesEach }, (_, n) => JSON.stringify({ client, n }) + "\n").join("");
        // Cut each client's stream into small pieces that do not respect line boundaries.
        const pieces = text.match(/[\s\S]{1,23}/g)!;
        return sendTcp(t.listener.port, pieces);
      }),
    );
    await until(() => t.records().length === clients * linesEach, "all records");
    const portOf = new Map(sockets.map((sent, client) => [client, sent.localPort]));
    for (let client = 0; client < clients; client++) {
      const mine = t.records().filter((r) => r.client === client);
      expect(mine.map((r) => r.n)).toEqual(Array.from({ length: linesEach }, (_, n) => n));
      expect(mine.every((r) => r.source.port === portOf.get(client))).toBe(true);
    }
  });

  test("--max-connections: a connection beyond the bound is closed at once, later ones are accepted again", async () => {
    const t = await listen({ maxConnections: 2 });
    const first = await openTcp(t.listener.port);
    const second = await openTcp(t.listener.port);
    await until(() => t.listener.connectionCount === 2, "two open connections");
    const third = await openTcp(t.listener.port);
    await closedByPeer(third);
    expect(t.warnings.join("\n")).toContain("--max-connections 2");
    first.end('{"from":"first"}\n');
    await until(() => t.listener.connectionCount === 1, "the first connection to go");
    await sendTcp(t.listener.port, ['{"from":"fourth"}\n']);
    await until(() => t.records().length === 2, "records from the first and fourth connections");
    expect(t.records().map((r) => r.from).sort()).toEqual(["first", "fourth"]);
    second.destroy();
  });

  test("backpressure: while the output is blocked reading pauses and the sender stalls; nothing is lost after", async () => {
    const t = await listen();
    t.stream.hold();
    const socket = await openTcp(t.listener.port);
    const line = JSON.stringify({ message: "m".repeat(200) }) + "\n";
    const chunk = line.repeat(500); // ~100 KB
    const chunks = 400; // ~40 MB, far more than the socket buffers between us
    let handedOver = 0;
    const writing = (async () => {
      for (let i = 0; i < chunks; i++) {
        if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve));
        handedOver++;
      }
      socket.end();
    })();
    await until(() => t.listener.isPaused, "reading to pause");
    // Wait until the sender has made no progress for a while: it is stalled on TCP backpressure.
    let last = -1;
    while (handedOver !== last) {
      last = handedOver;
      await Bun.sleep(300);
    }
    expect(handedOver).toBeLessThan(chunks);
    expect(t.counters.in).toBeLessThan(chunks * 500);
    t.stream.release();
    await writing;
    await until(() => t.counters.in === chunks * 500 && !t.listener.isPaused, "every line after release");
    await t.writer.flush();
    expect(t.records().length).toBe(chunks * 500);
  }, 60_000);
});

describe("logs-listen over UDP and TLS", () => {
  test("UDP: each datagram holds one or more lines; the last needs no newline", async () => {
    const t = await listen({ udpPort: 0 });
    const client = await Bun.udpSocket({ hostname: "127.0.0.1" });
    client.send('{"d":1}\n{"d":2}\nplain in udp', t.listener.udpPort!, "127.0.0.1");
    client.send('{"d":3}', t.listener.udpPort!, "127.0.0.1");
    await until(() => t.records().length === 4, "four records");
    const records = t.records();
    expect(records.map((r) => r.d ?? r.message).sort()).toEqual([1, 2, 3, "plain in udp"].sort() as never);
    expect(records.every((r) => r.source.transport === "udp" && r.source.port === client.port)).toBe(true);
    client.close();
  });

  test("TLS: records arrive over an encrypted connection and say so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logs-listen-tls-"));
    const { cert, key } = makeCertificate(dir);
    const t = await listen({ tls: { cert, key } });
    expect(t.listener.addresses[0]).toStartWith("tls 127.0.0.1:");
    const socket = tlsConnect({ host: "127.0.0.1", port: t.listener.port, ca: cert });
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    socket.end('{"secret":"sauce"}\n{"tail":1}');
    await until(() => t.records().length === 2, "two records over TLS");
    expect(t.records()[0]).toMatchObject({ secret: "sauce", source: { transport: "tls", address: "127.0.0.1" } });
    // A plain-text client on the TLS port is not mistaken for log lines.
    const plain = await openTcp(t.listener.port);
    plain.write('{"plain":"text"}\n');
    await closedByPeer(plain);
    expect(t.records().some((r) => r.plain)).toBe(false);
  });

  test("TLS takes only modern suites by default: a CBC suite such as AES128-SHA is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logs-listen-tls-"));
    const { cert, key } = makeCertificate(dir);
    const t = await listen({ tls: { cert, key } });
    // openssl's own client, asked for one suite over TLS 1.2 at a time.
    // (Spawned, not spawnSync: the listener runs in this very event loop.)
    const handshake = async (cipher: string) => {
      const openssl = Bun.spawn(["openssl", "s_client", "-connect", `127.0.0.1:${t.listener.port}`, "-tls1_2", "-cipher", cipher], {
        stdin: new Blob([""]),
        stdout: "pipe",
        stderr: "ignore",
      });
      const [out] = await Promise.all([new Response(openssl.stdout).text(), openssl.exited]);
      return out;
    };
    expect(await handshake("AES128-SHA")).not.toContain("Cipher is AES128-SHA");
    expect(await handshake("ECDHE-RSA-AES128-SHA")).not.toContain("Cipher is ECDHE-RSA-AES128-SHA");
    expect(await handshake("ECDHE-RSA-AES128-GCM-SHA256")).toContain("Cipher is ECDHE-RSA-AES128-GCM-SHA256");
  });

  test("TLS with a client CA: only clients with a certificate it signed are read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logs-listen-mtls-"));
    const server = makeCertificate(join(dir));
    const clientDir = mkdtempSync(join(tmpdir(), "logs-listen-mtls-client-"));
    // A self-signed client certificate is its own CA.
    const client = makeCertificate(clientDir);
    const t = await listen({ tls: { cert: server.cert, key: server.key, ca: client.cert } });
    const stranger = tlsConnect({ host: "127.0.0.1", port: t.listener.port, ca: server.cert });
    stranger.on("error", () => {});
    stranger.on("secureConnect", () => stranger.write('{"from":"stranger"}\n'));
    await new Promise((resolve) => stranger.once("close", resolve));
    const known = tlsConnect({ host: "127.0.0.1", port: t.listener.port, ca: server.cert, cert: client.cert, key: client.key });
    await new Promise((resolve) => known.once("secureConnect", resolve));
    known.end('{"from":"known"}\n');
    await until(() => t.records().length === 1, "the known client's record");
    expect(t.records().map((r) => r.from)).toEqual(["known"]);
  });
});
