/**
 * javascript_script_config: runs the user's `process(event, params, headers)` from the config's base64
 * `script` on every event and adds the entities it returns to the derived contexts; a throw, a timeout
 * or a return value that is not an array of self-describing JSONs becomes an EnrichmentError.
 *
 * The event looks like Snowplow's: Java-bean accessors (`event.getApp_id()`, `event.setApp_id("x")`) and
 * plain properties by TSV name; timestamps as "yyyy-MM-dd HH:mm:ss.SSS" (UTC); `contexts`,
 * `unstruct_event` and `derived_contexts` as their wrapped JSON strings, readable but not replaceable.
 * Scalar columns the script changes are written back. `params` is the config's `parameters.config`
 * (or {}), `headers` the request's "Name: value" lines. `event.drop()` is not offered.
 *
 * Isolation: the script lives in its own node:vm realm whose global comes from a null-prototype object,
 * so no object of ours is reachable from it (no `process`, `require`, `Bun`, `fetch`, timers or
 * console), on a worker thread of its own (script-sandbox.ts). Only strings cross: the event goes in as
 * JSON and comes back as JSON. Each call, the work it defers to promises included, is cut off after
 * SCRIPT_TIMEOUT_MS and fails that event.
 */
import { ENRICHED_FIELDS, FIELD_KIND, type EnrichedEvent, type EnrichedFieldName, type SelfDescribing } from "../event";
import { parseSchemaUri } from "../../iglu/schema-key";
import { isTimestampInRange } from "../conversions";
import { ConfigProblem, enrichmentError, type EnrichmentConfig, type EnrichmentDefinition } from "./config";
import { ScriptSandbox, ScriptSetupError } from "./script-sandbox";
import type { EnrichmentContext } from "./types";

/** Longest a script may run on one event; a per-event function that needs more is stuck. */
export const SCRIPT_TIMEOUT_MS = 1000;
const IDENTIFIER = "Javascript enrichment";
const CONTEXTS_SCHEMA = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0";
const UNSTRUCT_EVENT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0";
/** Names inside the sandbox; odd enough not to meet a user's globals. */
const RUN = "__telemetryRunProcess";
const INPUT = "__telemetryInput";

/**
 * Evaluated once in the sandbox before the user's script: builds the event object over a `values` record
 * that each run replaces, the non-replaceable runner the host calls and the input slot it reads (a plain
 * writable property the script cannot turn into a setter). Its arguments are JSON text so that not even
 * an array of ours enters the sandbox.
 */
const PRELUDE = `(function (fieldNamesJson, readOnlyJson) {
  "use strict";
  const fieldNames = JSON.parse(fieldNamesJson);
  const readOnly = JSON.parse(readOnlyJson);
  let values = {};
  const event = {};
  for (const name of fieldNames) {
    const accessor = name.charAt(0).toUpperCase() + name.slice(1);
    const set = readOnly.includes(name)
      ? function () { throw new Error(name + " cannot be replaced by the JavaScript enrichment"); }
      : function (value) { values[name] = value === undefined ? null : value; };
    const get = function () { return values[name]; };
    Object.defineProperty(event, name, { get: get, set: set, enumerable: true });
    event["get" + accessor] = get;
    event["set" + accessor] = set;
  }
  Object.freeze(event);
  Object.defineProperty(globalThis, ${JSON.stringify(INPUT)}, { value: null, writable: true });
  Object.defineProperty(globalThis, ${JSON.stringify(RUN)}, {
    value: function (inputJson) {
      const input = JSON.parse(inputJson);
      values = input.fields;
      if (typeof process !== "function") throw new Error("the script defines no function process(event)");
      const returned = process(event, input.params, input.headers);
      return JSON.stringify({ fields: values, entities: returned === undefined ? null : returned });
    },
  });
})`;

const JSON_COLUMNS: readonly EnrichedFieldName[] = ["contexts", "unstruct_event", "derived_contexts"];

/** Snowplow's enriched timestamp text: 2024-01-31 12:00:00.000 (UTC). */
function timestampText(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

function timestampFrom(value: unknown): number | undefined {
  if (typeof value === "number") return isTimestampInRange(value) ? value : undefined;
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?$/.test(value)) return undefined;
  const ms = Date.parse(`${value.replace(" ", "T")}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The event's columns as the script sees them. */
function scriptView(event: EnrichedEvent): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const name of ENRICHED_FIELDS) {
    const value = event[name];
    switch (FIELD_KIND[name]) {
      case "timestamp":
        view[name] = value === null ? null : timestampText(value as number);
        break;
      case "contexts":
        view[name] = (value as SelfDescribing[]).length === 0 ? null : JSON.stringify({ schema: CONTEXTS_SCHEMA, data: value });
        break;
      case "unstruct":
        view[name] = value === null ? null : JSON.stringify({ schema: UNSTRUCT_EVENT_SCHEMA, data: value });
        break;
      default:
        view[name] = value;
    }
  }
  return view;
}

/** A value the script set, converted back to the column's type; undefined when it cannot be. */
function columnValue(name: EnrichedFieldName, value: unknown): unknown {
  if (value === null) return null;
  switch (FIELD_KIND[name]) {
    case "string":
      return typeof value === "object" ? JSON.stringify(value) : String(value);
    case "integer":
    case "decimal":
    case "float": {
      const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      return typeof number === "number" && Number.isFinite(number) ? number : undefined;
    }
    case "boolean":
      return value === true || value === 1 ? true : value === false || value === 0 ? false : undefined;
    case "timestamp":
      return timestampFrom(value);
    default:
      return undefined;
  }
}

function selfDescribingEntities(returned: unknown): SelfDescribing[] | string {
  if (returned === null) return [];
  if (!Array.isArray(returned)) return `process() returned ${JSON.stringify(returned)}, which is not an array of self-describing JSONs`;
  for (const entity of returned) {
    const schema = (entity as { schema?: unknown } | null)?.schema;
    if (typeof entity !== "object" || entity === null || !("data" in entity) || typeof schema !== "string" || "error" in parseSchemaUri(schema)) {
      return `process() returned an entity that is not self-describing: ${JSON.stringify(entity)}`;
    }
  }
  return returned as SelfDescribing[];
}

function decodeScript(config: EnrichmentConfig): string {
  const encoded = config.parameters.string("script");
  // Snowplow decodes with the URL-safe alphabet and tolerates the standard one; Buffer's base64 reads both.
  const script = Buffer.from(encoded, "base64").toString("utf8");
  if (script.trim() === "") throw new ConfigProblem("parameters.script is empty once base64-decoded");
  return script;
}

export const javascriptScript: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow",
  name: "javascript_script_config",
  models: [1],
  async create(config) {
    const script = decodeScript(config);
    const params = config.parameters.has("config") ? config.parameters.object("config").values : {};
    let sandbox: ScriptSandbox;
    try {
      sandbox = await ScriptSandbox.start({
        script,
        prelude: PRELUDE,
        preludeArgs: [JSON.stringify(ENRICHED_FIELDS), JSON.stringify(JSON_COLUMNS)],
        name: `${config.source} (javascript enrichment)`,
        entry: RUN,
        input: INPUT,
        timeoutMs: SCRIPT_TIMEOUT_MS,
      });
    } catch (error) {
      if (error instanceof ScriptSetupError) throw new ConfigProblem(`parameters.script does not run: ${error.message}`);
      throw error;
    }
    const fail = (message: string) => enrichmentError(config, IDENTIFIER, message);

    return {
      name: config.key.name,
      schemaKey: config.schema,
      async apply({ event, raw, derived }: EnrichmentContext) {
        const view = scriptView(event);
        let output: string;
        try {
          output = await sandbox.run(JSON.stringify({ fields: view, params, headers: raw.headers }));
        } catch (error) {
          throw fail(`Error during execution of JavaScript function: [${(error as Error).message}]`);
        }
        let result: { fields: Record<string, unknown>; entities: unknown };
        try {
          result = JSON.parse(output);
        } catch {
          result = { fields: null as never, entities: null };
        }
        if (typeof result?.fields !== "object" || result.fields === null) throw fail("the JavaScript function's output could not be read back as JSON");
        const entities = selfDescribingEntities(result.entities);
        if (typeof entities === "string") throw fail(entities);
        for (const name of ENRICHED_FIELDS) {
          const after = result.fields[name] ?? null;
          if (JSON_COLUMNS.includes(name) || after === view[name]) continue;
          const converted = columnValue(name, after);
          if (converted === undefined) throw fail(`the script set ${name} to ${JSON.stringify(after)}, which is not a valid ${FIELD_KIND[name]}`);
          (event as unknown as Record<string, unknown>)[name] = converted;
        }
        derived.push(...entities);
      },
    };
  },
};
