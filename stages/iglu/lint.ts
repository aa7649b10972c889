/**
 * Schema linting the way igluctl lint (and Iglu Server on upload) does it: the document must be a
 * self-describing draft-4 schema whose `self` matches its place on disk, then schema-ddl's linters run
 * over every sub-schema. ERROR findings cannot be skipped; the others can, by name, as with
 * `igluctl lint --skip-checks`.
 */
import type Ajv from "ajv-draft-04";
import { createAjv, SELF_DESC_META_URI } from "./json-schema";
import { keyFromSelf, schemaUri, type SchemaKey } from "./schema-key";

export type LintLevel = "ERROR" | "WARNING" | "INFO";

export interface LintFinding {
  linter: string;
  level: LintLevel;
  message: string;
  /** JSON Pointer to the sub-schema concerned ("" is the root). */
  pointer: string;
}

/** schema-ddl's linters with their levels; only the non-ERROR ones may be skipped. */
export const LINTERS = {
  rootObject: "WARNING",
  unknownFormats: "WARNING",
  numericMinMax: "WARNING",
  stringLength: "WARNING",
  optionalNull: "INFO",
  stringMaxLengthRange: "WARNING",
  description: "INFO",
  schemaUri: "ERROR",
  numericMinimumMaximum: "ERROR",
  stringMinMaxLength: "ERROR",
  arrayMinMaxItems: "ERROR",
  numericProperties: "ERROR",
  stringProperties: "ERROR",
  arrayProperties: "ERROR",
  objectProperties: "ERROR",
  requiredPropertiesExist: "ERROR",
} as const satisfies Record<string, LintLevel>;

export type LinterName = keyof typeof LINTERS;

export const SKIPPABLE_LINTERS = (Object.keys(LINTERS) as LinterName[]).filter((name) => LINTERS[name] !== "ERROR");

/** The checks Iglu Central's own CI skips: only unknown formats plus the mandatory checks stay on. */
export const IGLU_CENTRAL_SKIPPED: LinterName[] = [
  "optionalNull",
  "description",
  "numericMinMax",
  "stringLength",
  "stringMaxLengthRange",
  "rootObject",
];

/** Formats schema-ddl knows; any other is reported by `unknownFormats`. */
const KNOWN_FORMATS = new Set(["date-time", "date", "email", "hostname", "ipv4", "ipv6", "uri", "uuid"]);
const REDSHIFT_VARCHAR_MAX = 65535;

export interface LintOptions {
  skipChecks?: ReadonlySet<string>;
  /** The key the schema's place on disk or URL gives it; `self` must agree. */
  expectedKey?: SchemaKey;
}

/** Findings that are not linters but preconditions: structure of the document itself. */
const STRUCTURE = "selfDescribing";
const SYNTAX = "jsonSchemaSyntax";

type Schema = Record<string, unknown>;

let sharedAjv: Ajv | undefined;

export function lintSchema(document: unknown, options: LintOptions = {}): LintFinding[] {
  const findings: LintFinding[] = [];
  const report = (linter: string, level: LintLevel, pointer: string, message: string) =>
    findings.push({ linter, level, message, pointer });
  if (!isObject(document)) {
    report(STRUCTURE, "ERROR", "", "the document is not a JSON object");
    return findings;
  }
  const declared = keyFromSelf(document.self);
  if ("error" in declared) report(STRUCTURE, "ERROR", "/self", declared.error);
  else if (options.expectedKey && schemaUri(declared) !== schemaUri(options.expectedKey)) {
    report(STRUCTURE, "ERROR", "/self", `self declares ${schemaUri(declared)} but its location says ${schemaUri(options.expectedKey)}`);
  }
  if (document.$schema !== SELF_DESC_META_URI) {
    report("schemaUri", "ERROR", "/$schema", `$schema must be exactly "${SELF_DESC_META_URI}"`);
  }
  sharedAjv ??= createAjv();
  // Checked against draft 4 alone (the `self` rules are reported above with clearer words).
  if (!sharedAjv.validateSchema({ ...document, $schema: "http://json-schema.org/draft-04/schema#" })) {
    for (const error of sharedAjv.errors ?? []) {
      report(SYNTAX, "ERROR", error.instancePath, `not a valid JSON Schema (draft 4): ${error.instancePath || "schema"} ${error.message}`);
    }
    return findings.filter((f) => kept(f, options.skipChecks));
  }
  visit(document, "", true, report);
  return findings.filter((f) => kept(f, options.skipChecks));
}

/** Skipping applies to the optional linters only; ERROR-level checks always report. */
function kept(finding: LintFinding, skip: ReadonlySet<string> | undefined): boolean {
  return finding.level === "ERROR" || !skip?.has(finding.linter);
}

type Reporter = (linter: LinterName, level: LintLevel, pointer: string, message: string) => void;

function visit(schema: Schema, pointer: string, isRoot: boolean, report: Reporter): void {
  const say = (linter: LinterName, message: string, at = pointer) => report(linter, LINTERS[linter], at, message);
  const types = typeList(schema.type);
  const allows = (...wanted: string[]) => types === undefined || types.some((t) => wanted.includes(t));
  const has = (...keys: string[]) => keys.filter((k) => k in schema);

  if (isRoot && !(types?.length === 1 && types[0] === "object" && isObject(schema.properties))) {
    say("rootObject", "the root of the schema should be an object (type: object) with properties");
  }
  if (typeof schema.format === "string" && !KNOWN_FORMATS.has(schema.format)) {
    say("unknownFormats", `format "${schema.format}" is not one of ${[...KNOWN_FORMATS].join(", ")}`);
  }
  if (types?.some((t) => t === "number" || t === "integer") && !("enum" in schema) && !("minimum" in schema && "maximum" in schema)) {
    say("numericMinMax", "a numeric field should have both minimum and maximum");
  }
  const knownFormat = typeof schema.format === "string" && KNOWN_FORMATS.has(schema.format);
  if (types?.includes("string") && !("maxLength" in schema) && !("enum" in schema) && !knownFormat) {
    say("stringLength", "a string field should have maxLength (or an enum or a known format)");
  }
  if (typeof schema.maxLength === "number" && schema.maxLength > REDSHIFT_VARCHAR_MAX) {
    say("stringMaxLengthRange", `maxLength ${schema.maxLength} is above ${REDSHIFT_VARCHAR_MAX}`);
  }
  const greater = (low: string, high: string) => typeof schema[low] === "number" && typeof schema[high] === "number" && (schema[low] as number) > (schema[high] as number);
  if (greater("minimum", "maximum")) say("numericMinimumMaximum", "minimum is greater than maximum");
  if (greater("minLength", "maxLength")) say("stringMinMaxLength", "minLength is greater than maxLength");
  if (greater("minItems", "maxItems")) say("arrayMinMaxItems", "minItems is greater than maxItems");
  const misplaced = (linter: LinterName, keys: string[], wanted: string[]) => {
    if (keys.length > 0 && !allows(...wanted)) say(linter, `${keys.join(", ")} need type ${wanted.join(" or ")}, but type is ${JSON.stringify(schema.type)}`);
  };
  misplaced("numericProperties", has("minimum", "maximum", "multipleOf", "exclusiveMinimum", "exclusiveMaximum"), ["number", "integer"]);
  misplaced("stringProperties", has("minLength", "maxLength", "pattern", "format"), ["string"]);
  misplaced("arrayProperties", has("items", "minItems", "maxItems", "additionalItems", "uniqueItems"), ["array"]);
  misplaced("objectProperties", has("properties", "required", "additionalProperties", "patternProperties", "minProperties", "maxProperties"), ["object"]);
  const properties = isObject(schema.properties) ? schema.properties : {};
  if (schema.additionalProperties === false && Array.isArray(schema.required) && !isObject(schema.patternProperties)) {
    for (const name of schema.required) {
      if (!(String(name) in properties)) say("requiredPropertiesExist", `required property "${name}" is not among the properties and additionalProperties is false`);
    }
  }
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  for (const [name, property] of Object.entries(properties)) {
    if (!isObject(property)) continue;
    const at = `${pointer}/properties/${escapePointer(name)}`;
    const propertyTypes = typeList(property.type);
    if (!required.has(name) && propertyTypes && !propertyTypes.includes("null")) {
      say("optionalNull", `optional property "${name}" should allow null`, at);
    }
    if (typeof property.description !== "string") say("description", `property "${name}" has no description`, at);
  }
  for (const [child, at] of children(schema, pointer)) visit(child, at, false, report);
}

function* children(schema: Schema, pointer: string): Generator<[Schema, string]> {
  for (const key of ["properties", "patternProperties", "definitions", "dependencies"]) {
    const map = schema[key];
    if (!isObject(map)) continue;
    for (const [name, child] of Object.entries(map)) {
      if (isObject(child)) yield [child, `${pointer}/${key}/${escapePointer(name)}`];
    }
  }
  for (const key of ["additionalProperties", "additionalItems", "not", "items"]) {
    if (isObject(schema[key])) yield [schema[key] as Schema, `${pointer}/${key}`];
  }
  for (const key of ["items", "allOf", "anyOf", "oneOf"]) {
    const list = schema[key];
    if (!Array.isArray(list)) continue;
    for (const [index, child] of list.entries()) if (isObject(child)) yield [child, `${pointer}/${key}/${index}`];
  }
}

function typeList(type: unknown): string[] | undefined {
  if (typeof type === "string") return [type];
  if (Array.isArray(type)) return type.map(String);
  return undefined;
}

function isObject(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function escapePointer(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}
