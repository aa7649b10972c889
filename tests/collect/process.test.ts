/**
 * `bin/telemetry collect` as a process: HTTP on a real socket, flags, the --bad and --archive files,
 * back-pressure from a stdout nobody reads, malformed requests on raw sockets, and the stage lifecycle.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { closeSync, constants, createReadStream, openSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { startCollector, telemetry, tempDir, validateRawRecord } from "./helpers";

const TP2 = "/com.snowplowanalytics.snowplow/tp2";
const PIXEL_BASE64 = "R0lGODlhAQABAPAAAP///wAAACH5BAUAAAAALAAAAAABAAEAAAICRAEAOw==";

function payload(marker: string, padding = 0): string {
  return JSON.stringify({
    schema: "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
    data: [{ e: "pv", p: "web", tv: "test", eid: marker, url: "https://x.test/" + "p".repeat(padding) }],
  });
}

/** Sends raw bytes and resolves with whatever the server answered before closing (or `waitMs`). */
function rawExchange(port: number, data: string | Buffer, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, waitMs);
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      // One complete response is enough: stop at the end of its headers plus its declared body.
      const end = answer.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(answer);
      if (end !== -1 && (!length || answer.length >= end + 4 + Number(length[1]))) done();
    });
    socket.on("close", done);
    socket.on("error", done);
    socket.write(data);
  });
}

/**
 * Reads a FIFO to its end. The reading end is opened before returning, so the caller may then close
 * any other reader without the writer ever seeing a FIFO with no reader (which would be EPIPE).
 */
function readAll(fifo: string): Promise<string> {
  const fd = openSync(fifo, "r");
  return new Response(createReadStream("", { fd }) as unknown as ReadableStream).text();
}

function statusOf(answer: string): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
  return match ? Number(match[1]) : undefined;
}

describe("telemetry collect (process)", () => {
  test("--port 0: the startup line names the bound address; pixel bytes and CORS over real HTTP", async () => {
    const collector = await startCollector();
    try {
      expect(collector.stderr()).toMatch(/telemetry collect: listening on http:\/\/127\.0\.0\.1:\d+/);
      const pixel = await fetch(`${collector.base}/i?e=pv`);
      expect(pixel.headers.get("content-type")).toBe("image/gif");
      expect(Buffer.from(await pixel.arrayBuffer()).toString("base64")).toBe(PIXEL_BASE64);
      const head = await fetch(`${collector.base}/ice.png`, { method: "HEAD" });
      expect([head.status, head.headers.get("content-length")]).toEqual([200, "43"]);

      const origin = "http://app.example.com:3000";
      const preflight = await fetch(collector.base + TP2, {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
      });
      expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
      expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");
      expect(preflight.headers.get("access-control-allow-headers")).toBe("Content-Type, SP-Anonymous");
      const post = await fetch(collector.base + TP2, {
        method: "POST",
        headers: { Origin: origin, "Content-Type": "application/json" },
        body: payload("cors"),
      });
      expect(post.status).toBe(200);
      expect(post.headers.get("access-control-allow-origin")).toBe(origin);
      expect(post.headers.get("access-control-allow-credentials")).toBe("true");
      const records = (await collector.waitForLines(3)).map((line) => JSON.parse(line));
      for (const record of records) expect(validateRawRecord(record)).toEqual([]);
      expect(records.map((record) => record.path)).toEqual(["/i", "/ice.png", TP2]);
    } finally {
      expect(await collector.stop()).toBe(0);
    }
  });

  test("cookie flags shape the Set-Cookie header", async () => {
    const collector = await startCollector([
      "--cookie-name", "nuid",
      "--cookie-domain", "example.com",
      "--cookie-fallback-domain", "collector.test",
      "--cookie-expiration-days", "2",
      "--cookie-same-site", "Strict",
      "--no-cookie-secure",
      "--client-cookie-name", "nuid_js",
    ]);
    try {
      const response = await fetch(`${collector.base}/i`, { headers: { Origin: "https://www.example.com" } });
      const [main, client] = response.headers.getSetCookie();
      expect(main).toMatch(/^nuid=[0-9a-f-]{36}; Expires=[^;]+ GMT; Path=\/; Domain=example\.com; SameSite=Strict; HttpOnly$/);
      expect(client).toMatch(/^nuid_js=[0-9a-f-]{36}; Expires=[^;]+ GMT; Path=\/; Domain=example\.com; SameSite=Strict$/);
      const expires = Date.parse(/Expires=([^;]+)/.exec(main!)![1]!);
      expect(expires).toBeGreaterThan(Date.now() + 1.9 * 86400_000);
      expect(expires).toBeLessThan(Date.now() + 2.1 * 86400_000);
      const fallback = (await fetch(`${collector.base}/i`)).headers.getSetCookie()[0];
      expect(fallback).toContain("; Domain=collector.test;");
    } finally {
      expect(await collector.stop()).toBe(0);
    }
  });

  test("bad configuration: one sentence on stderr and exit 2", () => {
    const result = spawnSync(telemetry, ["collect", "--port", "0", "--redirects"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("--redirect-domain");
  });

  test("413 over --drop-payload-size (declared or chunked) records nothing; over --max-record-bytes → size_violation on --bad, 200", async () => {
    const dir = tempDir();
    const bad = join(dir, "bad.ndjson");
    const collector = await startCollector(["--drop-payload-size", "20000", "--max-record-bytes", "5000", "--bad", bad]);
    try {
      const declared = await fetch(collector.base + TP2, { method: "POST", body: payload("big", 30000) });
      expect(declared.status).toBe(413);
      const chunks = [payload("chunked-big", 30000)];
      const chunked = await fetch(collector.base + TP2, {
        method: "POST",
        body: new ReadableStream({
          pull(controller) {
            const next = chunks.shift();
            if (next === undefined) controller.close();
            else controller.enqueue(new TextEncoder().encode(next));
          },
        }),
      });
      expect(chunked.status).toBe(413);
      const oversized = await fetch(collector.base + TP2, { method: "POST", body: payload("oversized", 8000) });
      expect(oversized.status).toBe(200);
      const fine = await fetch(collector.base + TP2, { method: "POST", body: payload("fine") });
      expect(fine.status).toBe(200);
      const [line] = await collector.waitForLines(1);
      expect(JSON.parse(line!).body).toContain('"eid":"fine"');
      expect(await collector.stop()).toBe(0);
      expect(collector.lines).toHaveLength(1);
      const rows = readFileSync(bad, "utf8").trimEnd().split("\n").map((text) => JSON.parse(text));
      expect(rows).toHaveLength(1);
      expect(rows[0].schema).toContain("/size_violation/");
      expect(rows[0].data.failure.maximumAllowedSizeBytes).toBe(5000);
      // A one-event batch: the event itself is what was too large (the request's batch could not be split).
      expect(rows[0].data.payload).toStartWith('{"e":"pv"');
      expect(rows[0].data.payload).toContain('"eid":"oversized"');
    } finally {
      await collector.stop();
    }
  });

  test("a corpus of malformed requests gets an error status (or a closed connection), never a crash", async () => {
    const collector = await startCollector(["--body-read-timeout", "1"]);
    const port = collector.port;
    try {
      const corpus: [string, string | Buffer, (number | undefined)[]][] = [
        ["unknown method", "FROB /i HTTP/1.1\r\nHost: x\r\n\r\n", [400, 405, 501, undefined]],
        ["PUT on a tracking path", `PUT ${TP2} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`, [404]],
        ["DELETE on the pixel", "DELETE /i HTTP/1.1\r\nHost: x\r\n\r\n", [404]],
        ["three segments", "GET /a/b/c HTTP/1.1\r\nHost: x\r\n\r\n", [404]],
        ["three segments POST", "POST /a/b/c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", [404]],
        ["bad percent-encoding in the path", "GET /com.acme/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n", [400]],
        ["garbage request line", "this is not http\r\n\r\n", [400]],
        ["header without a colon", "GET /i HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", [400]],
        ["64 KiB of headers", `GET /i HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`, [400, 431]],
        ["30 KB request line", `GET /i?${"q".repeat(30_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, [400, 414, 431]],
        ["declared 3 MiB body", `POST ${TP2} HTTP/1.1\r\nHost: x\r\nContent-Length: 3145728\r\n\r\n{`, [413]],
        ["broken chunked encoding", `POST ${TP2} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n`, [400, undefined]],
        ["body shorter than declared (slow client)", `POST ${TP2} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a"`, [408, undefined]],
        // Bun's HTTP parser stops at the NUL and reports the rest of the line as an unknown HTTP version.
        ["NUL in the path", "GET /com.acme/\u0000v1 HTTP/1.1\r\nHost: x\r\n\r\n", [400, 404, 505]],
      ];
      // A client that never finishes its headers must not hold up anyone else.
      const stalled = net.connect(port, "127.0.0.1");
      stalled.write("GET /i HTTP/1.1\r\nHost: x\r\n");
      const results = await Promise.all(corpus.map(([, request]) => rawExchange(port, request)));
      // Compared as one table so a failure shows every case: a status outside the allowed list shows the list.
      const observed: [string, unknown][] = corpus.map(([name], i) => [name, statusOf(results[i]!)]);
      const allowed: [string, unknown][] = corpus.map(([name, , statuses], i) => {
        const status = statusOf(results[i]!);
        return [name, statuses.includes(status) ? status : statuses];
      });
      expect(observed).toEqual(allowed);
      stalled.destroy();

      // Still alive and still recording; a querystring with bad encoding is stored as received.
      const accepted = await Promise.all([
        rawExchange(port, "GET /i?e=pv&url=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n"),
        rawExchange(port, "GET /com.acme/v1 HTTP/1.0\r\n\r\n"),
      ]);
      expect(accepted.map(statusOf)).toEqual([200, 200]);
      expect((await fetch(`${collector.base}/health`)).status).toBe(200);
      const records = (await collector.waitForLines(2)).map((line) => JSON.parse(line));
      expect(records.map((record) => record.path).sort()).toEqual(["/com.acme/v1", "/i"]);
      expect(records.find((record) => record.path === "/i").querystring).toBe("e=pv&url=%ZZ");
      for (const record of records) expect(validateRawRecord(record)).toEqual([]);
      expect(collector.child.exitCode).toBeNull();
    } finally {
      expect(await collector.stop()).toBe(0);
    }
    expect(collector.lines).toHaveLength(2);
  });

  test("stdout nobody reads: the queue fills, requests get 503 and /sink-health 503; every 200 is written out later", async () => {
    const dir = tempDir();
    const fifo = join(dir, "stdout.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    // Hold a reading end that never reads, so the pipe fills and stdout blocks.
    const idleReader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, "w");
    const collector = await startCollector(["--queue-size", "5"], { stdout: writer });
    closeSync(writer);
    let reading: Promise<string> | undefined;
    try {
      const answered: Record<string, number> = {};
      for (let i = 0; i < 200 && !Object.values(answered).includes(503); i++) {
        const response = await fetch(collector.base + TP2, { method: "POST", body: payload(`m${i}`, 10_000) });
        answered[`m${i}`] = response.status;
      }
      const statuses = Object.values(answered);
      expect(statuses).toContain(503);
      expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
      expect((await fetch(`${collector.base}/sink-health`)).status).toBe(503);
      expect((await fetch(`${collector.base}/health`)).status).toBe(200);

      // Now read: everything answered 200 must come out, and the collector becomes healthy again.
      reading = readAll(fifo);
      closeSync(idleReader);
      let healthy = 0;
      for (let tries = 0; tries < 100 && healthy !== 200; tries++) {
        healthy = (await fetch(`${collector.base}/sink-health`)).status;
        if (healthy !== 200) await Bun.sleep(50);
      }
      expect(healthy).toBe(200);
      expect(await collector.stop()).toBe(0);
      const written = (await reading).trimEnd().split("\n").map((line) => JSON.parse(JSON.parse(line).body).data[0].eid);
      const accepted = Object.keys(answered).filter((marker) => answered[marker] === 200);
      expect(written).toEqual(accepted);
    } finally {
      await collector.stop();
    }
  });

  test("SIGTERM with a backlog: stops accepting, writes out everything accepted, exits 0 and says so", async () => {
    const dir = tempDir();
    const fifo = join(dir, "stdout.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const idleReader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, "w");
    const collector = await startCollector([], { stdout: writer });
    closeSync(writer);
    const markers = Array.from({ length: 40 }, (_, i) => `t${i}`);
    // 40 × ~10 KB is more than the pipe holds, so part of it is still queued when the signal comes.
    const statuses = await Promise.all(
      markers.map(async (marker) => (await fetch(collector.base + TP2, { method: "POST", body: payload(marker, 10_000) })).status),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    collector.child.kill("SIGTERM");
    const reading = readAll(fifo);
    closeSync(idleReader);
    expect(await collector.child.exited).toBe(0);
    const written = (await reading).trimEnd().split("\n").map((line) => JSON.parse(JSON.parse(line).body).data[0].eid);
    expect(written.sort()).toEqual([...markers].sort());
    await collector.stderrEnded;
    expect(collector.stderr().trimEnd().split("\n").at(-1)).toBe("telemetry collect: stopped (total in 40 out 40 bad 0)");
  });

  test("| head -1: the collector exits 0 quietly once its reader is gone", async () => {
    const dir = tempDir();
    const err = join(dir, "err.txt");
    const shell = Bun.spawn(
      ["bash", "-c", `"${telemetry}" collect --port 0 --host 127.0.0.1 --stats-interval 0 2>"${err}" | head -1; echo "status=\${PIPESTATUS[0]}"`],
      { stdout: "pipe", stderr: "inherit" },
    );
    try {
      let port: number | undefined;
      for (let tries = 0; tries < 200 && port === undefined; tries++) {
        const match = /listening on http:\/\/[^:]+:(\d+)/.exec(await Bun.file(err).text().catch(() => ""));
        if (match) port = Number(match[1]);
        else await Bun.sleep(50);
      }
      expect(port).toBeDefined();
      // Keep sending until the collector notices the closed pipe and the shell finishes.
      for (let i = 0; i < 200 && shell.exitCode === null; i++) {
        await fetch(`http://127.0.0.1:${port}/i?n=${i}`).catch(() => undefined);
        await Bun.sleep(10);
      }
      const output = await new Response(shell.stdout).text();
      const [first, status] = output.trimEnd().split("\n");
      expect(JSON.parse(first!).querystring).toBe("n=0");
      expect(status).toBe("status=0");
      expect(readFileSync(err, "utf8")).not.toContain("EPIPE");
    } finally {
      shell.kill();
    }
  });

  test("--archive: rotating segments hold exactly the lines written to stdout", async () => {
    const archiveDir = join(tempDir(), "archive");
    const collector = await startCollector(["--archive", archiveDir, "--archive-segment-bytes", "4000"]);
    const count = 30;
    try {
      for (let wave = 0; wave < 3; wave++) {
        await Promise.all(
          Array.from({ length: count / 3 }, (_, i) =>
            fetch(collector.base + TP2, { method: "POST", body: payload(`a${wave}-${i}`, 200) }),
          ),
        );
      }
      await collector.waitForLines(count);
      expect(readdirSync(archiveDir).some((name) => name.endsWith(".ndjson.open"))).toBe(true);
    } finally {
      expect(await collector.stop()).toBe(0);
    }
    const names = readdirSync(archiveDir).sort();
    expect(names.length).toBeGreaterThan(1);
    for (const name of names) expect(name).toMatch(/^raw-\d{8}T\d{6}Z-\d{6}\.ndjson$/);
    const archived = names.flatMap((name) => readFileSync(join(archiveDir, name), "utf8").trimEnd().split("\n"));
    expect(archived.sort()).toEqual([...collector.lines].sort());
    expect(archived).toHaveLength(count);
  });

  test("--archive on a full disk: refused records reach neither stdout nor the archive, and the next one is whole", async () => {
    // A file-size limit stands in for a small filesystem: a write past it stops short (a partial line) and
    // then fails with EFBIG, as ENOSPC does. SIGXFSZ is ignored so the write fails instead of killing.
    const limitKiB = 300;
    const archiveDir = join(tempDir(), "archive");
    const collector = await startCollector(["--archive", archiveDir], {
      prefix: ["bash", "-c", `trap '' XFSZ; ulimit -f ${limitKiB}; exec "$@"`, "bash"],
    });
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const response = await fetch(collector.base + TP2, { method: "POST", body: payload(`big-${i}`, 40_000) });
        statuses.push(response.status);
      }
      // Less than 40 KB was left: every large request was refused from some point on, and a small one fits.
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses).toContain(503);
      expect(statuses.slice(statuses.indexOf(503))).toEqual(statuses.slice(statuses.indexOf(503)).map(() => 503));
      expect((await fetch(collector.base + "/i?e=pv&eid=small")).status).toBe(200);
      await collector.waitForLines(statuses.filter((status) => status === 200).length + 1);
    } finally {
      expect(await collector.stop()).toBe(0);
    }
    const answered200 = [...statuses.flatMap((status, i) => (status === 200 ? [`big-${i}`] : [])), "small"];
    const markers = (lines: string[]) =>
      lines.map((line) => {
        const record = JSON.parse(line);
        return record.body === undefined ? new URLSearchParams(record.querystring).get("eid") : JSON.parse(record.body).data[0].eid;
      });
    expect(markers(collector.lines)).toEqual(answered200);
    const archived = readdirSync(archiveDir)
      .sort()
      .flatMap((name) => readFileSync(join(archiveDir, name), "utf8").trimEnd().split("\n"));
    expect(markers(archived)).toEqual(answered200);
    expect(collector.stderr()).toContain("could not archive a record");
  });

  test("a /r/tp2 target with CR/LF is refused with 400 before anything is recorded; errors are short", async () => {
    const collector = await startCollector(["--redirects", "--redirect-domain", "shop.example.com"]);
    try {
      const injected = await rawExchange(collector.port, "GET /r/tp2?e=pv&u=https%3A%2F%2Fshop.example.com%2F%0D%0ASet-Cookie%3A%20x%3D1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      expect(statusOf(injected)).toBe(400);
      expect(injected).not.toContain("Location");
      expect(injected).not.toContain("Set-Cookie: x=1");
      // Then a proper click: it alone is on stdout.
      expect((await fetch(`${collector.base}/r/tp2?e=pv&u=https%3A%2F%2Fshop.example.com%2F`, { redirect: "manual" })).status).toBe(302);
      const [line, ...more] = await collector.waitForLines(1);
      expect(more).toEqual([]);
      expect(JSON.parse(line!).querystring).toBe("e=pv&u=https%3A%2F%2Fshop.example.com%2F");
    } finally {
      expect(await collector.stop()).toBe(0);
    }
    expect(collector.stderr()).not.toContain("request failed");
  });
});
