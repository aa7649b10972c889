/**
 * Every embedded schema that names an Iglu Central key must accept and reject what Iglu Central's schema
 * with that key accepts and rejects. The instances in iglu-central-instances.json were made once from
 * Iglu Central's own definitions: for each schema a minimal valid instance (required fields only) and a full
 * one (every field), and invalid ones, each the full instance with one constraint broken (a required field
 * removed, an unlisted field added, a wrong type, a value off the enum, a string over maxLength, a number past
 * its maximum, a bad format or pattern…), named by the keyword and place Iglu Central's schema rejects it for.
 * The test runs offline: a constraint loosened or dropped here lets its invalid instance through, or no longer
 * reports it for that reason, and the test names it.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { jsonPath } from "../../stages/iglu/json-schema";
import { EMBEDDED_SCHEMAS_DIR } from "../../stages/iglu/repositories";
import { Resolver, type ValidationOutcome } from "../../stages/iglu/resolver";

/** Our own records' schemas; every other vendor in schemas/ is Iglu Central's. */
const OWN_VENDOR = "dev.telemetry";

interface InvalidCase {
  /** The JSON Schema keyword Iglu Central's schema rejects the instance for. */
  violates: string;
  /** JSON Pointer into the full valid instance: the value replaced, removed, or (additionalProperties) added. */
  at: string;
  set?: unknown;
  delete?: true;
}
type Instances = Record<string, { valid: unknown[]; invalid: InvalidCase[] }>;

/** Long strings are stored as {"$repeat": "a", "count": n}. */
const instances: Instances = JSON.parse(readFileSync(join(import.meta.dir, "iglu-central-instances.json"), "utf8"), (_key, value) =>
  value !== null && typeof value === "object" && typeof value.$repeat === "string" ? value.$repeat.repeat(value.count) : value,
);

function embeddedKeys(): string[] {
  return readdirSync(EMBEDDED_SCHEMAS_DIR, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
    .map((entry) => `iglu:${relative(EMBEDDED_SCHEMAS_DIR, join(entry.parentPath, entry.name))}`)
    .sort();
}

function broken(valid: unknown, change: InvalidCase): unknown {
  if (change.at === "") return change.set;
  const copy = structuredClone(valid);
  const parts = change.at.slice(1).split("/").map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
  let node = copy as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  if (change.delete) delete node[parts.at(-1)!];
  else node[parts.at(-1)!] = change.set;
  return copy;
}

/** The data report an invalid instance must produce: required and additionalProperties are reported on the parent object. */
function expectedReport(change: InvalidCase): { keyword: string; path: string; target?: string } {
  if (change.violates !== "required" && change.violates !== "additionalProperties") return { keyword: change.violates, path: jsonPath(change.at) };
  const cut = change.at.lastIndexOf("/");
  const name = change.at.slice(cut + 1).replace(/~1/g, "/").replace(/~0/g, "~");
  return { keyword: change.violates, path: jsonPath(change.at.slice(0, cut)), target: name };
}

function reports(outcome: ValidationOutcome): { keyword: string; path: string; targets: string[] }[] {
  if (outcome.ok) return [];
  return outcome.igluError.error === "ValidationError" ? outcome.igluError.dataReports : [{ keyword: outcome.igluError.error, path: "", targets: [] }];
}

describe("embedded schemas carry Iglu Central's constraints", () => {
  const keys = embeddedKeys().filter((key) => !key.startsWith(`iglu:${OWN_VENDOR}/`));

  test("every embedded schema naming an Iglu Central key has instances to check, and no instances lack their schema", () => {
    expect(keys.length).toBeGreaterThan(190);
    expect(Object.keys(instances).sort()).toEqual(keys);
  });

  test("valid instances pass, and each invalid one fails for the constraint it breaks", async () => {
    const resolver = await Resolver.load();
    const problems: string[] = [];
    let checked = 0;
    for (const key of keys) {
      const { valid, invalid } = instances[key] ?? { valid: [], invalid: [] };
      for (const [index, instance] of valid.entries()) {
        const outcome = await resolver.validate(key, instance);
        checked++;
        if (!outcome.ok) problems.push(`${key}: valid instance ${index} rejected: ${JSON.stringify(reports(outcome))}`);
      }
      for (const change of invalid) {
        const outcome = await resolver.validate(key, broken(valid.at(-1), change));
        checked++;
        const want = expectedReport(change);
        const found = reports(outcome).some(
          (report) => report.keyword === want.keyword && report.path === want.path && (want.target === undefined || report.targets.includes(want.target)),
        );
        if (!found) problems.push(`${key}: breaking ${change.violates} at ${change.at || "the root"} was not reported (${outcome.ok ? "accepted" : JSON.stringify(reports(outcome))})`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(4000);
    // About 200 schemas to compile and 4,800 validations: longer than bun's default 5 s on a busy machine.
  }, 60_000);
});
