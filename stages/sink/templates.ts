/**
 * Index templates: the mappings the good, bad and logs indices get before their first document, so
 * Elasticsearch does not guess (a timestamp guessed as text cannot be charted, an id guessed as text
 * cannot be counted). Only field types the integ-test-zip distribution has are used: it lacks the
 * mapper-extras module (no match_only_text, scaled_float) and x-pack's wildcard/constant_keyword, but has
 * keyword, text, date, geo_point, flattened and the numeric types.
 */
import { FIELD_SPECS, type FieldKind } from "../enrich/event";
import type { IndexPattern } from "./document";

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

function badMappings(): object {
  return {
    dynamic_templates: [
      // Each failure type has its own shape (messages, errors, message…): an object-valued failure field is
      // `flattened`, so any shape is accepted and every leaf can be filtered and aggregated by its path.
      {
        failure_objects: {
          path_match: "data.failure.*",
          match_mapping_type: "object",
          mapping: { type: "flattened", ignore_above: 1024 },
        },
      },
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

/** The composable index template for every index a pattern produces, or null for dynamic mapping. */
export function indexTemplate(pattern: IndexPattern, kind: MappingKind): IndexTemplate | null {
  if (kind === "dynamic") return null;
  const mappings = kind === "good" ? goodMappings() : kind === "bad" ? badMappings() : logsMappings();
  return {
    name: `telemetry-${pattern.family}`,
    body: {
      index_patterns: [pattern.wildcard],
      // Above the stack's built-in templates (priority 100–200 on a full distribution), so ours applies.
      priority: 300,
      template: { mappings },
      _meta: { managed_by: "telemetry sink", mapping: kind },
    },
  };
}
