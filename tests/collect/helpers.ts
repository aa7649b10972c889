/**
 * Starting the real `bin/telemetry collect` for tests: on an ephemeral port read back from the startup
 * line, with stdout gathered into lines, and always stopped by the test that started it.
 */
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { createAjv, compileSchema } from "../../stages/iglu/json-schema";
import { readFileSync } from "node:fs";
import type { ValidateFunction } from "ajv-draft-04";

export const telemetry = join(import.meta.dir, "../../bin/telemetry");
export const repoRoot = join(import.meta.dir, "../..");

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "telemetry-collect-"));
}

export interface RunningCollector {
  child: ReturnType<typeof Bun.spawn>;
  port: number;
  base: string;
  /** stdout lines so far (only when stdout is a pipe). */
  lines: string[];
  stderr(): string;
  /** Resolves when the process has closed its stderr (after it exits, all of stderr() is in). */
  stderrEnded: Promise<void>;
  /** Resolves once at least `count` stdout lines have arrived. */
  waitForLines(count: number, timeoutMs?: number): Promise<string[]>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
}

export async function startCollector(
  args: string[] = [],
  options: { stdout?: "pipe" | number; cwd?: string; prefix?: string[] } = {},
): Promise<RunningCollector> {
  const child = Bun.spawn(
    [...(options.prefix ?? []), telemetry, "collect", "--port", "0", "--host", "127.0.0.1", "--stats-interval", "0", ...args],
    { stdout: options.stdout ?? "pipe", stderr: "pipe", cwd: options.cwd ?? tempDir() },
  );
  let errText = "";
  const lines: string[] = [];
  const lineWaiters: (() => void)[] = [];
  let stderrEnded!: Promise<void>;
  const port = new Promise<number>((resolve, reject) => {
    stderrEnded = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of chunksOf(child.stderr as ReadableStream<Uint8Array>)) {
        errText += decoder.decode(chunk, { stream: true });
        const match = /listening on http:\/\/[^\s:]+:(\d+)/.exec(errText);
        if (match) resolve(Number(match[1]));
      }
      reject(new Error(`collector exited before listening: ${errText}`));
    })();
  });
  if (options.stdout === undefined || options.stdout === "pipe") {
    void (async () => {
      const decoder = new TextDecoder();
      let partial = "";
      for await (const chunk of chunksOf(child.stdout as ReadableStream<Uint8Array>)) {
        partial += decoder.decode(chunk, { stream: true });
        const parts = partial.split("\n");
        partial = parts.pop()!;
        lines.push(...parts);
        for (const wake of lineWaiters.splice(0)) wake();
      }
    })();
  }
  const listeningPort = await port;
  return {
    child,
    port: listeningPort,
    base: `http://127.0.0.1:${listeningPort}`,
    lines,
    stderr: () => errText,
    stderrEnded,
    async waitForLines(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} lines, got ${lines.length}`);
        await Promise.race([new Promise<void>((wake) => lineWaiters.push(wake)), Bun.sleep(100)]);
      }
      return lines;
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return await child.exited;
    },
  };
}

async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  while (true) {
    const { value, done } = await reader.read();
    if (done) return;
    yield value;
  }
}

let rawRecordValidator: ValidateFunction | undefined;

/** The raw_record JSON Schema, compiled by the same ajv-draft-04 setup the Iglu code uses. */
export function validateRawRecord(record: unknown): string[] {
  if (rawRecordValidator === undefined) {
    const schema = JSON.parse(readFileSync(join(repoRoot, "schemas/dev.telemetry/raw_record/jsonschema/1-0-0"), "utf8"));
    const compiled = compileSchema(createAjv(), schema);
    if ("invalid" in compiled) throw new Error(`raw_record schema is invalid: ${compiled.invalid}`);
    rawRecordValidator = compiled;
  }
  if (rawRecordValidator(record)) return [];
  return (rawRecordValidator.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}
