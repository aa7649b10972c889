/**
 * The listeners bind what their startup lines say. 127.0.0.2 is loopback too, but a socket bound to
 * 127.0.0.1 alone refuses it, while one bound to every address takes it: so connecting there tells a
 * listener for this machine only from one other machines can reach.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { collectText } from "../fixtures/collect-text";
import { spawnChild, tempDir, until } from "../fixtures/processes";

const telemetry = join(import.meta.dir, "../../bin/telemetry");

/** Starts a listening command and returns its startup line and port; the child is killed after the test. */
async function listening(args: string[], env: Record<string, string> = {}): Promise<{ line: string; port: number }> {
  const child = spawnChild([telemetry, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, ...env } });
  const stderr = collectText(child.stderr);
  const startup = /^.*(?:listening on|serving).*:(\d+)\b.*$/m;
  await until(() => startup.test(stderr.text()) || child.exitCode !== null, `the startup line of telemetry ${args[0]}`);
  const match = startup.exec(stderr.text());
  if (!match) throw new Error(`telemetry ${args.join(" ")} did not start: ${stderr.text()}`);
  return { line: match[0], port: Number(match[1]) };
}

/** Whether a TCP connection to host:port is accepted. */
async function accepts(host: string, port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: host, port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

describe("listening addresses", () => {
  test("collect and logs-listen on --host 127.0.0.1 say so, with how to open them, and refuse other addresses", async () => {
    for (const command of ["collect", "logs-listen"]) {
      const { line, port } = await listening([command, "--host", "127.0.0.1", "--port", "0", "--bad", join(tempDir(), "bad.ndjson")]);
      expect(line).toContain(`127.0.0.1:${port} (this machine only; --host 0.0.0.0 lets other machines in)`);
      expect(await accepts("127.0.0.1", port)).toBe(true);
      expect(await accepts("127.0.0.2", port)).toBe(false);
    }
  });

  test("collect on --host 0.0.0.0 says so and takes other addresses", async () => {
    const { line, port } = await listening(["collect", "--host", "0.0.0.0", "--port", "0", "--bad", join(tempDir(), "bad.ndjson")]);
    expect(line).toContain(`http://0.0.0.0:${port} (other machines can reach it)`);
    expect(await accepts("127.0.0.2", port)).toBe(true);
  });

  test("iglu serve listens on this machine only by default, even when TELEMETRY_HOST asks other stages to open up", async () => {
    const { line, port } = await listening(["iglu", "serve", "--port", "0", "--dir", tempDir()], { TELEMETRY_HOST: "0.0.0.0" });
    expect(line).toContain(`http://127.0.0.1:${port}/api (this machine only)`);
    expect(await accepts("127.0.0.1", port)).toBe(true);
    expect(await accepts("127.0.0.2", port)).toBe(false);
  });

  test("iglu serve takes another address when --host names it on the command line", async () => {
    const { line, port } = await listening(["iglu", "serve", "--host", "0.0.0.0", "--port", "0", "--dir", tempDir()]);
    expect(line).toContain("other machines can reach it");
    expect(await accepts("127.0.0.2", port)).toBe(true);
  });
});
