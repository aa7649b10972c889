/**
 * Snowplow's enrichment config files: self-describing JSONs
 * `{"schema": "iglu:<vendor>/<name>/jsonschema/M-R-A", "data": {vendor, name, enabled, parameters}}`.
 * This module reads one file into an EnrichmentConfig and gives the enrichment modules a typed view of
 * its parameters whose complaints are short phrases ("parameters.anonOctets must be …"); index.ts
 * turns a complaint into the one-sentence ConfigError that names the file.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSchemaUri, type SchemaKey } from "../../iglu/schema-key";
import type { EnrichedEvent } from "../event";
import { EnrichmentError, type Enrichment } from "./types";

export interface EnrichmentConfig {
  /** The file it was read from, or a label for a built-in default; every complaint names it. */
  readonly source: string;
  /** The config's schema URI exactly as written (bad rows carry it as the enrichment's schemaKey). */
  readonly schema: string;
  readonly key: SchemaKey;
  readonly enabled: boolean;
  /** The whole `data` object: a few settings (pii's `emitEvent`, `anonymousOnly`) live beside `parameters`. */
  readonly data: Readonly<Record<string, unknown>>;
  readonly parameters: ParameterReader;
}

/** A configuration mistake found while reading parameters; the message is a phrase about one field. */
export class ConfigProblem extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads an already-parsed config JSON; throws ConfigProblem for a shape that is not an enrichment config. */
export function readEnrichmentConfig(json: unknown, source: string): EnrichmentConfig {
  if (!isObject(json)) throw new ConfigProblem("it is not a JSON object");
  if (typeof json.schema !== "string") throw new ConfigProblem('it has no "schema" string, so it is not a self-describing enrichment config');
  const key = parseSchemaUri(json.schema);
  if ("error" in key) throw new ConfigProblem(`its schema is not an Iglu URI (${key.error})`);
  if (!isObject(json.data)) throw new ConfigProblem('its "data" is not an object');
  const data = json.data;
  if (typeof data.enabled !== "boolean") throw new ConfigProblem('data.enabled must be true or false');
  if (data.name !== undefined && data.name !== key.name) {
    throw new ConfigProblem(`data.name "${String(data.name)}" does not match the schema's name ${key.name}`);
  }
  const parameters = data.parameters === undefined ? {} : data.parameters;
  if (!isObject(parameters)) throw new ConfigProblem("data.parameters must be an object");
  return { source, schema: json.schema, key, enabled: data.enabled, data, parameters: new ParameterReader(parameters, "parameters") };
}

/** Typed access to one object of a config; `path` is how complaints name it (`parameters.fields`). */
export class ParameterReader {
  constructor(
    readonly values: Readonly<Record<string, unknown>>,
    private readonly path: string,
  ) {}

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  private where(name: string): string {
    return `${this.path}.${name}`;
  }

  string(name: string): string {
    const value = this.values[name];
    if (typeof value !== "string") throw new ConfigProblem(`${this.where(name)} must be a string`);
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  stringList(name: string): string[] {
    const value = this.values[name];
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
      throw new ConfigProblem(`${this.where(name)} must be a list of strings`);
    }
    return value as string[];
  }

  optionalStringList(name: string): string[] | undefined {
    return this.has(name) ? this.stringList(name) : undefined;
  }

  integer(name: string, min: number, max: number): number {
    const value = this.values[name];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigProblem(`${this.where(name)} must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  object(name: string): ParameterReader {
    const value = this.values[name];
    if (!isObject(value)) throw new ConfigProblem(`${this.where(name)} must be an object`);
    return new ParameterReader(value, this.where(name));
  }

  list(name: string): ParameterReader[] {
    const value = this.values[name];
    if (!Array.isArray(value) || !value.every(isObject)) throw new ConfigProblem(`${this.where(name)} must be a list of objects`);
    return value.map((item, index) => new ParameterReader(item as Record<string, unknown>, `${this.where(name)}[${index}]`));
  }

  stringMap(name: string): Record<string, string> {
    const value = this.values[name];
    if (!isObject(value) || !Object.values(value).every((item) => typeof item === "string")) {
      throw new ConfigProblem(`${this.where(name)} must be an object of strings`);
    }
    return value as Record<string, string>;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.string(name);
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigProblem(`${this.where(name)} must be one of ${allowed.join(", ")} (got "${value}")`);
    }
    return value as T;
  }
}

/**
 * A data file a config names by `{uri, database}` (Snowplow downloads `uri/database` at start). We never
 * download: the file is used when `uri` is a local directory (a path or file: URL) holding `database`,
 * or when `database` sits beside the config file. Undefined when neither has it.
 */
export function localAsset(config: EnrichmentConfig, asset: ParameterReader): string | undefined {
  const database = asset.string("database");
  const uri = asset.optionalString("uri");
  const candidates: string[] = [];
  if (uri !== undefined && uri.startsWith("file:")) candidates.push(join(fileURLToPath(uri), database));
  else if (uri !== undefined && !/^[a-z][a-z0-9+.-]*:/i.test(uri)) candidates.push(join(uri, database));
  if (isAbsolute(database)) candidates.push(database);
  if (config.source.endsWith(".json")) candidates.push(join(dirname(config.source), database));
  return candidates.find((path) => existsSync(path));
}

/** An EnrichmentError carrying what enrich needs for the `enrichment_failures` bad row. */
export function enrichmentError(config: EnrichmentConfig, identifier: string, message: string): EnrichmentError {
  return new EnrichmentError({ schemaKey: config.schema, identifier }, message);
}

/** One kind of enrichment: the config schema it reads (vendor, name, accepted models) and how to build it. */
export interface EnrichmentDefinition {
  readonly vendor: string;
  readonly name: string;
  readonly models: readonly number[];
  create(config: EnrichmentConfig): Enrichment | Promise<Enrichment>;
}
