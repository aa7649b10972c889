/** igluctl-style lint: the linters one by one, the CLI's exit codes, and every schema we ship. */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileSchema, createAjv } from "../../stages/iglu/json-schema";
import { IGLU_CENTRAL_SKIPPED, lintSchema, SKIPPABLE_LINTERS } from "../../stages/iglu/lint";
import { lintRegistry } from "../../stages/iglu/lint-registry";
import { readFileSync } from "node:fs";
import { removeDir, REPO, TELEMETRY } from "./serve-process";

const META = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#";
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/** A schema every linter is happy with. */
function goodSchema(name = "clean", version = "1-0-0") {
  return {
    $schema: META,
    description: "a schema that passes every linter",
    self: { vendor: "com.acme", name, format: "jsonschema", version },
    type: "object",
    properties: {
      label: { type: "string", maxLength: 100, description: "a label" },
      count: { type: ["integer", "null"], minimum: 0, maximum: 10, description: "a count" },
      at: { type: "string", format: "date-time", description: "when" },
    },
    required: ["label", "at"],
    additionalProperties: false,
  };
}

function linters(schema: unknown, skip: string[] = []) {
  return lintSchema(schema, { skipChecks: new Set(skip) }).map((f) => f.linter);
}

function registryWith(files: Record<string, unknown>): string {
  const root = mkdtempSync(join(tmpdir(), "iglu-lint-"));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), typeof content === "string" ? content : JSON.stringify(content));
  }
  return root;
}

describe("lint rules", () => {
  test("a clean schema has no findings", () => {
    expect(lintSchema(goodSchema())).toEqual([]);
  });

  test("each mandatory check reports an ERROR", () => {
    const s = goodSchema();
    const cases: [string, object][] = [
      ["schemaUri", { ...s, $schema: "http://json-schema.org/draft-04/schema#" }],
      ["numericMinimumMaximum", { ...s, properties: { ...s.properties, count: { ...s.properties.count, minimum: 11 } } }],
      ["stringMinMaxLength", { ...s, properties: { ...s.properties, label: { ...s.properties.label, minLength: 101 } } }],
      ["arrayMinMaxItems", { ...s, properties: { ...s.properties, tags: { type: ["array", "null"], minItems: 3, maxItems: 1, description: "d" } } }],
      ["numericProperties", { ...s, properties: { ...s.properties, label: { ...s.properties.label, minimum: 1 } } }],
      ["stringProperties", { ...s, properties: { ...s.properties, count: { ...s.properties.count, pattern: "^a$" } } }],
      ["arrayProperties", { ...s, properties: { ...s.properties, label: { ...s.properties.label, minItems: 1 } } }],
      ["objectProperties", { ...s, properties: { ...s.properties, label: { ...s.properties.label, required: ["x"] } } }],
      ["requiredPropertiesExist", { ...s, required: ["label", "at", "ghost"] }],
    ];
    for (const [linter, schema] of cases) {
      const findings = lintSchema(schema, { skipChecks: new Set(SKIPPABLE_LINTERS) });
      expect(findings.map((f) => `${f.linter}/${f.level}`)).toContain(`${linter}/ERROR`);
    }
  });

  test("the optional linters report, and can be skipped", () => {
    const s = goodSchema();
    const loose = {
      ...s,
      properties: { free: { type: "string" }, n: { type: "number", description: "n" }, big: { type: "string", maxLength: 70000, description: "b" }, f: { type: "string", format: "phone", description: "f" }, id: { type: "string", format: "uuid", description: "i" } },
      required: undefined,
    };
    const found = linters(loose);
    for (const linter of ["stringLength", "numericMinMax", "optionalNull", "description", "stringMaxLengthRange", "unknownFormats"]) expect(found).toContain(linter);
    // schema-ddl knows "uuid" (Iglu Central's schemas use it), so only the made-up "phone" is reported.
    expect(lintSchema(loose).filter((f) => f.linter === "unknownFormats").map((f) => f.pointer)).toEqual(["/properties/f"]);
    expect(linters({ ...s, type: "array", items: {}, properties: undefined }, ["description", "optionalNull"])).toContain("rootObject");
    expect(linters(loose, SKIPPABLE_LINTERS)).toEqual([]);
  });

  test("mandatory checks cannot be skipped", () => {
    expect(linters({ ...goodSchema(), $schema: "x" }, ["schemaUri"])).toContain("schemaUri");
  });

  test("a document that is not a draft-4 schema, or has no valid self, is an ERROR", () => {
    expect(linters({ ...goodSchema(), required: [] })).toContain("jsonSchemaSyntax");
    expect(linters({ ...goodSchema(), properties: { a: { type: "strnig" } } })).toContain("jsonSchemaSyntax");
    expect(linters({ ...goodSchema(), self: { vendor: "com.acme", name: "x", format: "jsonschema", version: "1.0.0" } })).toContain("selfDescribing");
    expect(linters([1, 2])).toEqual(["selfDescribing"]);
  });
});

describe("lint over a registry folder", () => {
  test("self must agree with the file's place; files outside the layout and non-JSON are reported", async () => {
    const root = registryWith({
      "com.acme/clean/jsonschema/1-0-0": goodSchema(),
      "com.acme/moved/jsonschema/1-0-0": goodSchema("clean"),
      "com.acme/stray.json": goodSchema(),
      "com.acme/text/jsonschema/1-0-0": "not json",
    });
    const results = await lintRegistry(root);
    const byFile = Object.fromEntries(results.map((r) => [r.file.slice(root.length + 1), r.findings.map((f) => f.message).join(" | ")]));
    expect(byFile["com.acme/clean/jsonschema/1-0-0"]).toBe("");
    expect(byFile["com.acme/moved/jsonschema/1-0-0"]).toContain("self declares iglu:com.acme/clean/jsonschema/1-0-0");
    expect(byFile["com.acme/stray.json"]).toContain("not laid out as");
    expect(byFile["com.acme/text/jsonschema/1-0-0"]).toContain("not JSON");
  });

  test("telemetry iglu lint exits 1 with readable messages, 0 when clean, 2 on a bad flag", () => {
    const bad = registryWith({ "com.acme/clean/jsonschema/1-0-0": { ...goodSchema(), required: ["label", "ghost"] } });
    const failed = spawnSync(TELEMETRY, ["iglu", "lint", bad], { encoding: "utf8" });
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain("FAILURE");
    expect(failed.stdout).toContain('ERROR [requiredPropertiesExist]: required property "ghost"');
    expect(failed.stdout).toContain(bad);
    const good = registryWith({ "com.acme/clean/jsonschema/1-0-0": goodSchema() });
    const passed = spawnSync(TELEMETRY, ["iglu", "lint", good], { encoding: "utf8" });
    expect(passed.status).toBe(0);
    expect(passed.stdout).toContain("1 schema(s) passed, 0 failed");
    const unknown = spawnSync(TELEMETRY, ["iglu", "lint", good, "--skip-checks", "schemaUri"], { encoding: "utf8" });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("mandatory");
  });
});

describe("the schemas we ship", () => {
  // self-desc/instance uses Iglu's own "strict-uri" format, which igluctl's unknownFormats linter does not know.
  const skipSchemas = new Set(["iglu:com.snowplowanalytics.self-desc/instance/jsonschema/1-0-0"]);

  test("every one passes our lint with Iglu Central's settings", async () => {
    const results = await lintRegistry(join(REPO, "schemas"), { skipChecks: new Set(IGLU_CENTRAL_SKIPPED), skipSchemas });
    expect(results.length).toBeGreaterThan(60);
    const failures = results.filter((r) => r.findings.length > 0).map((r) => `${r.file}: ${r.findings.map((f) => f.message).join("; ")}`);
    expect(failures).toEqual([]);
  });

  // The resolver trusts the embedded registry and compiles its schemas without this meta-schema check
  // (createAjv's checkSchemas: false); this test is what makes that safe.
  test("every one compiles with ajv (draft 4, self-describing meta-schema)", async () => {
    const ajv = createAjv();
    const results = await lintRegistry(join(REPO, "schemas"), { skipChecks: new Set(SKIPPABLE_LINTERS) });
    const broken = results
      .map((r) => ({ file: r.file, compiled: compileSchema(ajv, JSON.parse(readFileSync(r.file, "utf8"))) }))
      .filter((r) => "invalid" in r.compiled)
      .map((r) => `${r.file}: ${(r.compiled as { invalid: string }).invalid}`);
    expect(broken).toEqual([]);
  });
});
