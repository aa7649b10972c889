/**
 * The real Java client: logback with logstash-logback-encoder's LogstashTcpSocketAppender (Debian's
 * liblogback-java, liblogstash-logback-encoder-java, libdisruptor-java), compiled and run by the test,
 * sending to the real `telemetry logs-listen` process.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killStartedProcesses, logRecordValidator, parseLines, startListenerProcess, until } from "./helpers";

const javaDir = join(import.meta.dir, "java");
const source = join(javaDir, "LogbackClient.java");
// The jars logs.md §8 names, as Debian installs them.
const classpathJars = [
  "logback-classic", "logback-core", "logstash-logback-encoder", "slf4j-api",
  "jackson-core", "jackson-databind", "jackson-annotations", "disruptor",
].map((name) => `/usr/share/java/${name}.jar`);

let workDir: string;
let records: Record<string, any>[];
let listenerExit: number;

function run(command: string[]): void {
  const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${command[0]} failed: ${result.stderr.toString()}${result.stdout.toString()}`);
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "logs-listen-logback-"));
  const classes = join(workDir, "classes");
  run(["javac", "-d", classes, "-cp", classpathJars.join(":"), source]);
  const listener = await startListenerProcess(["--stats-interval", "0"]);
  try {
    run([
      "java",
      "-cp", [...classpathJars, classes].join(":"),
      `-DLOGS_DESTINATION=127.0.0.1:${listener.ports.tcp}`,
      `-Dlogback.configurationFile=${join(javaDir, "logback.xml")}`,
      "example.LogbackClient",
    ]);
    // The JVM stopped its LoggerContext, which flushed the appender and closed the connection.
    await until(() => listener.stdout().split("\n").length > 4, "four records on stdout");
  } finally {
    const { code, stdout } = await listener.stop();
    listenerExit = code;
    records = parseLines(stdout);
  }
}, 60_000);

afterAll(() => {
  killStartedProcesses();
  rmSync(workDir, { recursive: true, force: true });
});

/** The line of LogbackClient.java that holds `text`, as the JVM numbers it in stack frames. */
function lineOf(text: string): number {
  return readFileSync(source, "utf8").split("\n").findIndex((line) => line.includes(text)) + 1;
}

describe("logback LogstashTcpSocketAppender → logs-listen", () => {
  test("every event arrives once, in order, with level, logger and message as logged", () => {
    expect(listenerExit).toBe(0);
    expect(records.map((r) => [r.level, r.level_value, r.message])).toEqual([
      ["DEBUG", 10000, "debug before any MDC"],
      ["INFO", 20000, "order received"],
      ["WARN", 30000, "stock low\nsecond line of the warning"],
      ["ERROR", 40000, "order failed"],
    ]);
    for (const record of records) {
      expect(record.logger_name).toBe("example.orders.OrderService");
      expect(record.thread_name).toBe("main");
      expect(record["@version"]).toBe("1");
      expect(record.app).toBe("orders"); // the encoder's customFields
      expect(Number.isNaN(Date.parse(record["@timestamp"]))).toBe(false);
      expect(record.source).toMatchObject({ address: "127.0.0.1", transport: "tcp" });
      expect(record.tags).toBeUndefined();
    }
  });

  test("MDC entries are top-level fields on exactly the events logged while they were set", () => {
    expect(records.map((r) => [r.request_id, r.user])).toEqual([
      [undefined, undefined],
      ["req-7", "ada"],
      ["req-7", "ada"],
      [undefined, undefined],
    ]);
  });

  test("the exception with a cause is summarised by its root cause and where it was thrown", () => {
    const error = records.find((r) => r.level === "ERROR")!;
    expect(error.stack_trace).toContain("Caused by: java.io.IOException");
    expect(error.exception).toEqual({
      class: "java.io.IOException",
      message: "disk on fire: /var/orders",
      top_frame: `example.LogbackClient.readDisk(LogbackClient.java:${lineOf('throw new IOException("disk on fire')})`,
    });
    expect(records.filter((r) => r.exception).length).toBe(1);
  });

  test("every record is valid against the log_record schema", () => {
    const validate = logRecordValidator();
    for (const record of records) expect({ record, valid: validate(record), errors: validate.errors }).toMatchObject({ valid: true });
  });
});

describe("logback after logs-listen closed its idle connection", () => {
  test("the appender reconnects and the event it logs then arrives; none is lost or doubled", async () => {
    const listener = await startListenerProcess(["--stats-interval", "0", "--idle-timeout", "1"]);
    try {
      run([
        "java",
        "-cp", [...classpathJars, join(workDir, "classes")].join(":"),
        `-DLOGS_DESTINATION=127.0.0.1:${listener.ports.tcp}`,
        `-Dlogback.configurationFile=${join(javaDir, "logback.xml")}`,
        "example.LogbackClient",
        "3000",
      ]);
      await until(() => listener.stdout().includes("after a quiet spell"), "the event logged after the quiet spell");
    } finally {
      const { code, stdout } = await listener.stop();
      expect(code).toBe(0);
      expect(parseLines(stdout).map((r) => r.message)).toEqual([
        "debug before any MDC", "order received", "stock low\nsecond line of the warning", "order failed", "after a quiet spell",
      ]);
      expect(listener.stderr()).toContain("--idle-timeout");
    }
  }, 60_000);
});
