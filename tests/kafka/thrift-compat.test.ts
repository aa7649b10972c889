/**
 * Our CollectorPayload codec against Apache's own Thrift libraries, which are not ours: collector-payload.thrift
 * compiled by Debian's thrift-compiler, run with npm `thrift` (JavaScript) and with org.apache.thrift:libthrift
 * from Maven Central (Java, the library Snowplow's collector and enrich use). Both must read our bytes as the
 * same record and write the very same bytes for it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeCollectorPayload, encodeCollectorPayload, type CollectorPayload } from "../../stages/kafka/collector-payload";
import { SAMPLE_PAYLOADS } from "./payload-samples";

const IDL = join(import.meta.dir, "collector-payload.thrift");
const JAVA = join(import.meta.dir, "thrift-java");
const dir = mkdtempSync(join(tmpdir(), "thrift-compat-"));
const require = createRequire(import.meta.path);

async function run(command: string[], stdin?: string): Promise<string> {
  const child = Bun.spawn(command, { cwd: dir, stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${stdout.slice(-2000)}${stderr.slice(-2000)}`);
  return stdout;
}

interface ApacheStruct {
  write(protocol: unknown): void;
  read(protocol: unknown): void;
}
let ApachePayload: new (fields?: Record<string, unknown>) => ApacheStruct & Record<string, unknown>;
const thrift = require("thrift") as {
  TBufferedTransport: new (buffer: unknown, onFlush: (bytes: Buffer) => void) => { flush(): void };
  TFramedTransport: new (buffer: Buffer) => unknown;
  TBinaryProtocol: new (transport: unknown) => unknown;
  Int64: new (value: number) => { toNumber(): number };
};

beforeAll(async () => {
  await run(["thrift", "--gen", "js:node", "--gen", "java:generated_annotations=suppress", "-out", dir, IDL]);
  // The generated module requires "thrift" and "node-int64"; point it at this repository's copies.
  const generated = join(dir, "collector-payload_types.js");
  let source = readFileSync(generated, "utf8");
  for (const name of ["thrift", "node-int64"]) source = source.replaceAll(`require('${name}')`, `require(${JSON.stringify(require.resolve(name))})`);
  writeFileSync(generated, source);
  ApachePayload = require(generated).CollectorPayload;
  // Maven keeps what it fetched in ~/.m2, so only the first run on a machine downloads.
  await run(["mvn", "-q", "-B", "-f", join(JAVA, "pom.xml"), "dependency:copy-dependencies", "-DincludeScope=runtime", `-DoutputDirectory=${join(dir, "libs")}`]);
  await run(["javac", "-nowarn", "-d", join(dir, "classes"), "-cp", `${join(dir, "libs")}/*`, join(dir, "dev/telemetry/thrift/CollectorPayload.java"), join(JAVA, "RoundTrip.java")]);
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function apacheEncode(payload: CollectorPayload): Uint8Array {
  const fields: Record<string, unknown> = { ...payload, timestamp: new thrift.Int64(payload.timestamp) };
  if (payload.querystring === "") delete fields.querystring;
  let bytes: Buffer | undefined;
  const transport = new thrift.TBufferedTransport(undefined, (written) => (bytes = written));
  new ApachePayload(fields).write(new thrift.TBinaryProtocol(transport));
  transport.flush();
  return new Uint8Array(bytes!);
}

function apacheDecode(bytes: Uint8Array): Record<string, unknown> {
  const struct = new ApachePayload();
  struct.read(new thrift.TBinaryProtocol(new thrift.TFramedTransport(Buffer.from(bytes))));
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(struct)) {
    if (value !== null && value !== undefined) fields[name] = name === "timestamp" ? (value as { toNumber(): number }).toNumber() : value;
  }
  return fields;
}

describe("Thrift CollectorPayload: ours and Apache's agree", () => {
  test("npm thrift (JavaScript) writes the same bytes as ours and reads ours as the same record", () => {
    for (const payload of SAMPLE_PAYLOADS) {
      const ours = encodeCollectorPayload(payload);
      expect(Buffer.from(apacheEncode(payload)).equals(Buffer.from(ours))).toBe(true);
      const expected: Record<string, unknown> = { ...payload };
      if (payload.querystring === "") delete expected.querystring;
      expect(apacheDecode(ours)).toEqual(expected);
      expect(decodeCollectorPayload(apacheEncode(payload))).toEqual(payload);
    }
  });

  test("libthrift (Java) reads ours and writes back the very same bytes", async () => {
    const lines = SAMPLE_PAYLOADS.map((payload) => Buffer.from(encodeCollectorPayload(payload)).toString("base64"));
    const output = await run(["java", "-cp", `${join(dir, "classes")}:${join(dir, "libs")}/*`, "RoundTrip"], lines.join("\n") + "\n");
    expect(output.trim().split("\n")).toEqual(lines);
  }, 60_000);

  test("libthrift refuses what ours refuses: a truncated payload", async () => {
    const truncated = Buffer.from(encodeCollectorPayload(SAMPLE_PAYLOADS[1]!)).subarray(0, 60);
    expect(() => decodeCollectorPayload(truncated)).toThrow();
    const output = await run(["java", "-cp", `${join(dir, "classes")}:${join(dir, "libs")}/*`, "RoundTrip"], truncated.toString("base64") + "\n");
    expect(output).toStartWith("error:");
  }, 60_000);
});
