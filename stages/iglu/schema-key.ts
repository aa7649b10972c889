/**
 * Iglu schema keys: `iglu:<vendor>/<name>/<format>/<MODEL-REVISION-ADDITION>`, with the character classes
 * and SchemaVer rules of Iglu's own parser (no leading zeros, MODEL from 1). One rule is stricter than
 * Iglu's: a vendor is a reverse domain name, dot-separated labels none of them empty, so `.`, `..`,
 * `.acme` or `com..acme` are not vendors. A key names a file in a static registry, and those would name
 * folders that are not the vendor's (the registry's parent, a hidden folder).
 */

export interface SchemaVer {
  model: number;
  revision: number;
  addition: number;
}

export interface SchemaKey {
  vendor: string;
  name: string;
  format: string;
  version: SchemaVer;
}

const SCHEMA_VER = /^([1-9][0-9]*)-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$/;
const VENDOR = /^[a-zA-Z0-9\-_]+(?:\.[a-zA-Z0-9\-_]+)*$/;
const NAME = /^[a-zA-Z0-9\-_]+$/;
const URI = /^iglu:([a-zA-Z0-9\-_]+(?:\.[a-zA-Z0-9\-_]+)*)\/([a-zA-Z0-9\-_]+)\/([a-zA-Z0-9\-_]+)\/([^/]+)$/;

export function parseSchemaVer(text: string): SchemaVer | undefined {
  const match = SCHEMA_VER.exec(text);
  if (!match) return undefined;
  return { model: Number(match[1]), revision: Number(match[2]), addition: Number(match[3]) };
}

export function schemaVerString(version: SchemaVer): string {
  return `${version.model}-${version.revision}-${version.addition}`;
}

/** Numeric order on (model, revision, addition). */
export function compareSchemaVer(a: SchemaVer, b: SchemaVer): number {
  return a.model - b.model || a.revision - b.revision || a.addition - b.addition;
}

export function parseSchemaUri(uri: string): SchemaKey | { error: string } {
  if (typeof uri !== "string") return { error: "schema URI is not a string" };
  const match = URI.exec(uri);
  if (!match) return { error: `"${uri}" is not an Iglu URI of the form iglu:vendor/name/format/M-R-A` };
  const version = parseSchemaVer(match[4]!);
  if (!version) return { error: `"${match[4]}" in "${uri}" is not a SchemaVer (MODEL-REVISION-ADDITION, MODEL from 1)` };
  return { vendor: match[1]!, name: match[2]!, format: match[3]!, version };
}

export function schemaUri(key: SchemaKey): string {
  return `iglu:${schemaPath(key)}`;
}

/** `vendor/name/format/M-R-A`: the tail of a static-registry path and of an Iglu Server schema URL. */
export function schemaPath(key: SchemaKey): string {
  return `${key.vendor}/${key.name}/${key.format}/${schemaVerString(key.version)}`;
}

/** The key a self-describing schema's `self` block declares, or why it does not declare one. */
export function keyFromSelf(self: unknown): SchemaKey | { error: string } {
  if (typeof self !== "object" || self === null || Array.isArray(self)) return { error: "`self` is missing or not an object" };
  const { vendor, name, format, version } = self as Record<string, unknown>;
  if (typeof vendor !== "string" || !VENDOR.test(vendor)) {
    return { error: "`self.vendor` is missing or not dot-separated labels of [a-zA-Z0-9-_] (like com.acme)" };
  }
  if (typeof name !== "string" || !NAME.test(name)) return { error: "`self.name` is missing or has characters outside [a-zA-Z0-9-_]" };
  if (typeof format !== "string" || !NAME.test(format)) return { error: "`self.format` is missing or has characters outside [a-zA-Z0-9-_]" };
  const parsed = typeof version === "string" ? parseSchemaVer(version) : undefined;
  if (!parsed) return { error: "`self.version` is missing or not a SchemaVer (MODEL-REVISION-ADDITION, MODEL from 1)" };
  return { vendor, name, format, version: parsed };
}

export function sameKey(a: SchemaKey, b: SchemaKey): boolean {
  return a.vendor === b.vendor && a.name === b.name && a.format === b.format && compareSchemaVer(a.version, b.version) === 0;
}
