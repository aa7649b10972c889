/**
 * The real Snowplow Java tracker (com.snowplowanalytics:snowplow-java-tracker from Maven Central, the newest
 * version the registry serves) sends one event of each type it has to `telemetry collect`; `telemetry enrich`
 * with its default configuration must make no bad row and never ask Iglu Central (a local stand-in).
 * java-tracker/SendEveryEvent.java is the sender, compiled here with the JDK against the jars Maven brings.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCollector, type RunningCollector } from "../collect/helpers";
import { removeDir } from "../iglu/serve-process";
import { startStaticRegistry, type StaticRegistry } from "../iglu/static-http-registry";
import { expectAllValid, keys, trackerEvents } from "./tracker-schemas";

const SENDER = join(import.meta.dir, "java-tracker");
const dir = mkdtempSync(join(tmpdir(), "java-tracker-"));
let collector: RunningCollector;
let igluCentral: StaticRegistry;

async function run(command: string[], cwd = dir): Promise<void> {
  const child = Bun.spawn(command, { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${stdout.slice(-2000)}${stderr.slice(-2000)}`);
}

beforeAll(async () => {
  // Maven keeps what it fetched in ~/.m2, so only the first run on a machine downloads.
  await run(["mvn", "-q", "-B", "-f", join(SENDER, "pom.xml"), "dependency:copy-dependencies", `-DoutputDirectory=${join(dir, "libs")}`]);
  await run(["javac", "-nowarn", "-d", join(dir, "classes"), "-cp", `${join(dir, "libs")}/*`, join(SENDER, "SendEveryEvent.java")]);
  collector = await startCollector(["--bad", join(dir, "collect-bad.ndjson")]);
  igluCentral = startStaticRegistry();
}, 300_000);

afterAll(async () => {
  await igluCentral?.stop();
  if (collector) expect(await collector.stop()).toBe(0);
  removeDir(dir);
  if (igluCentral) removeDir(igluCentral.dir);
});

describe("Snowplow Java tracker → collect → enrich (defaults): no bad rows", () => {
  test("page view, structured, self-describing, screen view, timing, transaction and item, each with an entity", async () => {
    const before = collector.lines.length;
    await run(["java", "-cp", `${join(dir, "classes")}:${join(dir, "libs")}/*`, "SendEveryEvent", `http://127.0.0.1:${collector.port}`]);
    let lines = collector.lines.slice(before);
    for (let waited = 0; lines.flatMap(trackerEvents).length < 7 && waited < 10_000; waited += 50) {
      await Bun.sleep(50);
      lines = collector.lines.slice(before);
    }
    const SP = "iglu:com.snowplowanalytics.snowplow";
    const { good } = await expectAllValid(lines, [...keys(SP, ["web_page", "screen_view", "timing"]), `${SP}/link_click/jsonschema/1-0-1`], dir, "java", igluCentral);
    expect(good.map((event) => event.event).sort()).toEqual(["page_view", "struct", "transaction", "transaction_item", "unstruct", "unstruct", "unstruct"]);
    expect(new Set(good.map((event) => event.v_tracker.replace(/-[\d.]+$/, "")))).toEqual(new Set(["java"]));
  }, 120_000);
});
