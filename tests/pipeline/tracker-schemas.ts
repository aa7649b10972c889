/**
 * For the tests that send a real tracker's events through collect and enrich with enrich's default
 * configuration: the schema keys in raw records, enrich run on them, and the check that every key sent was
 * validated and shows in the enriched events.
 */
import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { shreddedName } from "../../stages/enrich/output";
import { telemetry } from "../collect/helpers";
import type { StaticRegistry } from "../iglu/static-http-registry";

/** The tracker events in one raw record (a POST body's payload_data, or a GET's querystring). */
export function trackerEvents(line: string): Record<string, string>[] {
  const record = JSON.parse(line);
  if (record.body) return JSON.parse(record.body).data;
  return record.querystring ? [Object.fromEntries(new URLSearchParams(record.querystring))] : [];
}

/** Every schema URI in the raw records: self-describing events (ue_px/ue_pr) and entities (cx/co). */
export function sentSchemas(lines: string[]): Set<string> {
  const sent = new Set<string>();
  const decode = (value: string) => JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
  for (const event of lines.flatMap(trackerEvents)) {
    const unstruct = event.ue_px ? decode(event.ue_px) : event.ue_pr ? JSON.parse(event.ue_pr) : undefined;
    if (unstruct) sent.add(unstruct.data.schema);
    const contexts = event.cx ? decode(event.cx) : event.co ? JSON.parse(event.co) : undefined;
    for (const entity of contexts?.data ?? []) sent.add(entity.schema);
  }
  return sent;
}

/**
 * `telemetry enrich` with its defaults, except that "Iglu Central" is a local stand-in (it must not be asked:
 * every key the trackers send is embedded) and the schema cache goes into `dir`.
 */
export async function enrichWithDefaults(lines: string[], dir: string, name: string, igluCentral: StaticRegistry) {
  const bad = join(dir, `${name}-bad.ndjson`);
  const child = Bun.spawn(
    [telemetry, "enrich", "--stats-interval", "0", "--bad", bad, "--iglu-central-urls", igluCentral.url, "--iglu-cache", join(dir, "iglu-cache")],
    { stdin: new Blob([lines.join("\n") + "\n"]), stdout: "pipe", stderr: "pipe", cwd: dir },
  );
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  const badRows = readFileSync(bad, { encoding: "utf8", flag: "a+" }).split("\n").filter(Boolean).map((line) => JSON.parse(line));
  return { good: stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line)), badRows };
}

/**
 * Sends nothing itself: checks that `expected` keys were all sent, that enrich made no bad row and never asked
 * Iglu Central, and that every key sent (expected or not) shows as a column of the enriched events.
 */
export async function expectAllValid(lines: string[], expected: string[], dir: string, name: string, igluCentral: StaticRegistry) {
  const sent = sentSchemas(lines);
  expect(expected.filter((uri) => !sent.has(uri))).toEqual([]);
  const { good, badRows } = await enrichWithDefaults(lines, dir, name, igluCentral);
  expect(badRows.map((row) => JSON.stringify(row.data.failure).slice(0, 500))).toEqual([]);
  expect(igluCentral.requests).toEqual([]);
  const columns = new Set(good.flatMap((event) => Object.keys(event)));
  const enriched = (uri: string) => columns.has(`unstruct_event_${shreddedName(uri)}`) || columns.has(`contexts_${shreddedName(uri)}`);
  expect([...sent].filter((uri) => !enriched(uri))).toEqual([]);
  return { sent, good };
}

/** `iglu:<base>/<name>/jsonschema/<version>` for each name. */
export function keys(base: string, names: string[], version = "1-0-0"): string[] {
  return names.map((name) => `${base}/${name}/jsonschema/${version}`);
}
