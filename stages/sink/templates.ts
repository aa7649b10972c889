/**
 * Index templates: the mappings the good, bad and logs indices get before their first document, so
 * Elasticsearch does not guess (a timestamp guessed as text cannot be charted, an id guessed as text
 * cannot be counted), and the replica settings that let a one-node cluster be green. Only field types the
 * integ-test-zip distributions have are used: they lack the mapper-extras module (no match_only_text,
 * scaled_float) and x-pack's wildcard/constant_keyword, but have keyword, text, date, geo_point and the
 * numeric types; Elasticsearch has `flattened`, OpenSearch does not (see badMappings).
 */
import { FIELD_SPECS, type FieldKind } from "../enrich/event";
import type { IndexPattern } from "./document";
import type { Flavour } from "./engine";

export type MappingKind = "good" | "bad" | "logs" | "dynamic";
export const MAPPING_KINDS: readonly MappingKind[] = ["good", "bad", "logs", "dynamic"];

/** Lucene refuses terms over 32766 bytes; 8191 characters stay below it even at 4 bytes each. */
const LONGEST_KEYWORD = 8191;

/** Strings nobody declared (context fields, MDC entries) are exact values: filterable and countable. */
const STRINGS_AS_KEYWORDS = {
  strings_as_keywords: { match_mapping_type: "string", mapping: { type: "keyword", ignore_above: 1024 } },
};

/** Fields people read as prose and search by word, kept as text with an exact copy for counting. */
const PROSE_FIELDS = new Set(["page_title", "useragent", "se_label"]);

function enrichedFieldMapping(name: string, kind: FieldKind): object | null {
  switch (kind) {
    case "timestamp":
      return { type: "date" };
    case "integer":
      return { type: "long" };
    case "decimal":
    case "float":
      return { type: "double" };
    case "boolean":
      return { type: "boolean" };
    case "string":
      return PROSE_FIELDS.has(name)
        ? { type: "text", fields: { keyword: { type: "keyword", ignore_above: LONGEST_KEYWORD } } }
        : { type: "keyword", ignore_above: LONGEST_KEYWORD };
    default:
      // contexts and unstruct_event appear in the JSON as contexts_<vendor>_<name>_<model> fields instead.
      return null;
  }
}

function goodMappings(): object {
  const properties: Record<string, object> = {};
  for (const [name, kind] of FIELD_SPECS) {
    const mapping = enrichedFieldMapping(name, kind);
    if (mapping) properties[name] = mapping;
  }
  properties.geo_location = { type: "geo_point" };
  return { dynamic_templates: [STRINGS_AS_KEYWORDS], properties };
}

/**
 * Each failure type has its own shape (messages, errors, message…). On Elasticsearch an object-valued
 * failure field is `flattened`: any shape is accepted and every leaf can be filtered and aggregated by its
 * path. OpenSearch has no `flattened`, and its `flat_object` refuses a document with a leaf over 32 KB
 * (no ignore_above) and cannot aggregate leaves, so there such a field is kept whole in _source, not
 * indexed: no bad row is ever refused for its shape or size, and the dashboard groups failures by reading
 * them (as it does on Elasticsearch too).
 */
const FAILURE_OBJECT_MAPPING: Record<Flavour, object> = {
  elasticsearch: { type: "flattened", ignore_above: 1024 },
  opensearch: { type: "object", enabled: false },
};

function badMappings(flavour: Flavour): object {
  return {
    dynamic_templates: [
      { failure_objects: { path_match: "data.failure.*", match_mapping_type: "object", mapping: FAILURE_OBJECT_MAPPING[flavour] } },
      STRINGS_AS_KEYWORDS,
    ],
    properties: {
      schema: { type: "keyword" },
      data: {
        properties: {
          processor: { properties: { artifact: { type: "keyword" }, version: { type: "keyword" } } },
          failure: { properties: { timestamp: { type: "date" } } },
          // A string in some types and an object in others; kept whole in _source for recovery, not indexed.
          payload: { type: "object", enabled: false },
        },
      },
    },
  };
}

function logsMappings(): object {
  return {
    dynamic_templates: [STRINGS_AS_KEYWORDS],
    properties: {
      "@timestamp": { type: "date" },
      "@version": { type: "keyword" },
      message: { type: "text" },
      logger_name: { type: "keyword" },
      thread_name: { type: "keyword" },
      level: { type: "keyword" },
      level_value: { type: "long" },
      stack_trace: { type: "text" },
      tags: { type: "keyword" },
      source: { properties: { address: { type: "keyword" }, port: { type: "long" }, transport: { type: "keyword" } } },
      event: { properties: { created: { type: "date" }, sequence: { type: "long" } } },
      exception: {
        properties: { class: { type: "keyword" }, message: { type: "text" }, top_frame: { type: "keyword" } },
      },
    },
  };
}

/** The mapping a family gets when `--mapping` does not say: by the names `make up` uses. */
export function defaultMappingKind(family: string): MappingKind {
  if (family === "good" || family === "bad" || family === "logs") return family;
  return "dynamic";
}

export interface IndexTemplate {
  name: string;
  body: object;
}

/**
 * Replicas by default: none while the cluster has one node (so it can be green), one once it has two.
 * Elasticsearch and OpenSearch both add or drop the replica as nodes join and leave.
 */
export const DEFAULT_REPLICAS = "0-1";

/**
 * `--replicas`: a number of replicas ("1"), or a range that follows the number of data nodes
 * ("0-1", "0-all"), as the index settings take it. Throws a sentence for anything else.
 */
export function replicaSettings(replicas: string): Record<string, string | number | boolean> {
  const text = replicas.trim();
  if (/^\d+$/.test(text)) return { number_of_replicas: Number(text), auto_expand_replicas: false };
  const range = /^(\d+)-(\d+|all)$/.exec(text);
  if (range && (range[2] === "all" || Number(range[1]) <= Number(range[2]))) return { auto_expand_replicas: text };
  throw new Error(`--replicas takes a number of replicas (1) or a range that follows the cluster's size (0-1, 0-all), not "${replicas}"`);
}

export interface TemplateOptions {
  flavour: Flavour;
  /** As `--replicas` takes it (DEFAULT_REPLICAS). */
  replicas: string;
}

/**
 * The composable index template for every index a pattern produces. A dynamic family gets one too, with
 * settings only, so its indices are green on a single node like the others.
 */
export function indexTemplate(pattern: IndexPattern, kind: MappingKind, options: TemplateOptions): IndexTemplate {
  const mappings =
    kind === "good" ? goodMappings() : kind === "bad" ? badMappings(options.flavour) : kind === "logs" ? logsMappings() : undefined;
  return {
    name: `telemetry-${pattern.family}`,
    body: {
      index_patterns: [pattern.wildcard],
      // Above the stack's built-in templates (priority 100–200 on a full distribution), so ours applies.
      priority: 300,
      template: { settings: { index: replicaSettings(options.replicas) }, ...(mappings ? { mappings } : {}) },
      _meta: { managed_by: "telemetry sink", mapping: kind },
    },
  };
}
