/** A stage told to use Kafka says in one sentence what is wrong and exits 2: no broker, no topic, --acks. */
import { describe, expect, test } from "bun:test";
import { freePorts } from "../supervise/harness";
import { kafkaUrl, telemetry } from "./harness";

async function runStage(args: string[]): Promise<{ code: number; stderr: string }> {
  const child = Bun.spawn([telemetry, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  return { code, stderr };
}

describe("--kafka configuration errors", () => {
  test("an unreachable broker at start: exit 2, one line naming it", async () => {
    const [port] = freePorts(1);
    for (const stage of [["enrich"], ["sink-good", "--db", ":memory:"], ["collect", "--port", "0"]]) {
      const { code, stderr } = await runStage([...stage, "--kafka", `127.0.0.1:${port}`]);
      expect(code).toBe(2);
      expect(stderr).toContain(`cannot reach the Kafka broker at 127.0.0.1:${port}`);
      expect(stderr.trim().split("\n")).toHaveLength(1);
    }
  }, 60_000);

  test("a missing topic: exit 2, naming the topic and how to create it", async () => {
    const broker = await kafkaUrl();
    const { code, stderr } = await runStage(["sink-bad", "--db", ":memory:", "--kafka", broker, "--kafka-input-topic", "no-such-topic-here"]);
    expect(code).toBe(2);
    expect(stderr).toContain("the Kafka topic no-such-topic-here does not exist");
    expect(stderr).toContain("telemetry kafka-topics");
  }, 60_000);

  test("--acks is refused with --kafka (offsets are committed instead)", async () => {
    const broker = await kafkaUrl();
    const { code, stderr } = await runStage(["kafka-topics", "--kafka", broker]);
    expect(code).toBe(0);
    const refused = await runStage(["enrich", "--kafka", broker, "--acks", "/dev/null"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--acks does not go with --kafka");
    expect(stderr).toMatch(/created|exist already/);
  }, 60_000);
});
