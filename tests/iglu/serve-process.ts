/** Starts a real `telemetry iglu serve` on an ephemeral port for a test, and stops it. */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REPO = join(import.meta.dir, "../..");
export const TELEMETRY = join(REPO, "bin/telemetry");

export interface RunningRegistry {
  /** Base URL for resolvers: `http://127.0.0.1:PORT/api`. */
  api: string;
  dir: string;
  startupLine: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A temporary registry folder holding copies of the given schema folders of the embedded registry. */
export function temporaryRegistry(...vendorNames: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "iglu-test-"));
  for (const path of vendorNames) cpSync(join(REPO, "schemas", path), join(dir, path), { recursive: true });
  return dir;
}

export async function startRegistry(dir: string, env: Record<string, string> = {}, extraArgs: string[] = []): Promise<RunningRegistry> {
  const child = spawn(TELEMETRY, ["iglu", "serve", "--port", "0", "--host", "127.0.0.1", "--dir", dir, ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const startupLine = await new Promise<string>((resolve, reject) => {
    let seen = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split("\n").find((l) => /at http:\/\/\S+\/api/.test(l));
      if (line) resolve(line);
    });
    child.on("exit", (code) => reject(new Error(`iglu serve exited with ${code}: ${seen}`)));
  });
  const api = /at (http:\/\/\S+\/api)/.exec(startupLine)![1]!;
  return {
    api,
    dir,
    startupLine,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
