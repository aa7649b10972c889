/**
 * JSON Schema draft 4 the way Iglu uses it: one ajv (draft-04) instance that knows the Iglu
 * self-describing meta-schema, so compiling a schema also checks its `self` block, and that
 * turns ajv's errors into the data reports Snowplow's bad rows carry.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv-draft-04";
import addFormats from "ajv-formats";
import { EMBEDDED_SCHEMAS_DIR } from "./repositories";

/** The exact `$schema` every self-describing schema declares (igluctl rejects anything else). */
export const SELF_DESC_META_URI = "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#";

const SELF_DESC_META_PATH = join(EMBEDDED_SCHEMAS_DIR, "com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0");

export interface DataReport {
  message: string;
  path: string;
  keyword: string;
  targets: string[];
}

/**
 * `checkSchemas: false` is for schemas we ship and test (the embedded registry): checking each against the
 * meta-schema first means compiling the meta-schemas, a tenth of a second at every stage's start.
 */
export function createAjv(options: { checkSchemas?: boolean } = {}): Ajv {
  // allErrors: a bad row should name every problem, as Iglu's validator does.
  // strict off: `self`, `$supersedes` and unknown formats are legal in Iglu schemas.
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: options.checkSchemas ?? true, logger: false });
  addFormats(ajv);
  const meta = JSON.parse(readFileSync(SELF_DESC_META_PATH, "utf8"));
  // The meta-schema names itself as its own `$schema`; it is checked by lint, not by itself at load.
  ajv.addMetaSchema(meta, SELF_DESC_META_URI, false);
  return ajv;
}

/** Compiles a schema, or says in one sentence why it is not a valid (self-describing) draft-4 schema. */
export function compileSchema(ajv: Ajv, schema: object): ValidateFunction | { invalid: string } {
  try {
    if (ajv.opts.validateSchema && !ajv.validateSchema(schema)) return { invalid: ajv.errorsText(ajv.errors, { dataVar: "schema" }) };
    return ajv.compile(schema);
  } catch (error) {
    return { invalid: (error as Error).message };
  }
}

/** ajv's `/a/0/b` as Iglu's JSONPath `$.a[0].b`. */
export function jsonPath(instancePath: string): string {
  if (instancePath === "") return "$";
  return (
    "$" +
    instancePath
      .slice(1)
      .split("/")
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
      .join("")
  );
}

/** One report per ajv error, shaped like the Iglu client's `dataReports` entries. */
export function dataReports(errors: ErrorObject[] | null | undefined): DataReport[] {
  return (errors ?? []).map((error) => {
    const path = jsonPath(error.instancePath);
    const params = error.params as Record<string, unknown>;
    let targets: string[];
    let subject = path;
    if (error.keyword === "required") {
      targets = [String(params.missingProperty)];
      subject = `${path}.${params.missingProperty}`;
    } else if (error.keyword === "additionalProperties") {
      targets = [String(params.additionalProperty)];
      subject = `${path}.${params.additionalProperty}`;
    } else {
      targets = Object.values(params).flatMap((value) => (Array.isArray(value) ? value.map(String) : [String(value)]));
    }
    return { message: `${subject}: ${error.message ?? error.keyword}`, path, keyword: error.keyword, targets };
  });
}
