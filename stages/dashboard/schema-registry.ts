/**
 * The schemas the dashboard knows: the embedded registry plus the `--iglu` one, the same resolver enrich
 * uses. It lists directory registries for the Schemas page, answers Micro's `/micro/iglu/…` (with the
 * lookup history when a schema cannot be resolved), and turns a stored entity column name back into a
 * full schema URI: the stored JSON keeps only `contexts_<vendor>_<name>_<model>`, while Micro's shapes
 * name `iglu:vendor/name/format/M-R-A`.
 */
import { readFile } from "node:fs/promises";
import { EMBEDDED_SCHEMAS_DIR } from "../iglu/repositories";
import { Resolver } from "../iglu/resolver";
import { compareSchemaVer, parseSchemaUri, schemaUri, type SchemaKey } from "../iglu/schema-key";
import { keyFromParts, schemaFiles } from "../iglu/static-layout";
import { shreddedName } from "../enrich/output";

export interface ListedSchema {
  uri: string;
  key: SchemaKey;
  file: string;
}

export class SchemaRegistry {
  private listed: ListedSchema[] | null = null;
  private byColumn: Map<string, ListedSchema[]> | null = null;

  private constructor(private readonly resolver: Resolver, private readonly directories: string[]) {}

  /** `iglu`: what enrich's --iglu takes (a directory, a registry URL, a resolver config); directories are listed. */
  static async open(iglu?: string): Promise<SchemaRegistry> {
    const resolver = await Resolver.load(iglu);
    const directories = [EMBEDDED_SCHEMAS_DIR];
    if (iglu && !/^https?:\/\//i.test(iglu) && !iglu.endsWith(".json")) directories.unshift(iglu);
    return new SchemaRegistry(resolver, directories);
  }

  /** Every schema in the listed directories, newest version first within a name; the first directory wins a tie. */
  async list(): Promise<ListedSchema[]> {
    if (this.listed) return this.listed;
    const seen = new Map<string, ListedSchema>();
    for (const directory of this.directories) {
      const { files } = await schemaFiles(directory).catch(() => ({ files: [] }));
      for (const { file, parts } of files) {
        const key = keyFromParts(parts);
        if ("error" in key) continue;
        const uri = schemaUri(key);
        if (!seen.has(uri)) seen.set(uri, { uri, key, file });
      }
    }
    this.listed = [...seen.values()].sort(
      (a, b) =>
        a.key.vendor.localeCompare(b.key.vendor) || a.key.name.localeCompare(b.key.name) || compareSchemaVer(b.key.version, a.key.version),
    );
    return this.listed;
  }

  async read(uri: string): Promise<object | null> {
    const schema = (await this.list()).find((listed) => listed.uri === uri);
    if (schema) return JSON.parse(await readFile(schema.file, "utf8"));
    const answer = await this.lookup(uri);
    return "schema" in answer ? answer.schema : null;
  }

  /** Micro's `/micro/iglu/…`: the schema, or what each repository said. */
  async lookup(uri: string): Promise<{ schema: object } | { error: unknown }> {
    const key = parseSchemaUri(uri);
    if ("error" in key) return { error: key.error };
    const answer = await this.resolver.lookup(key);
    return "schema" in answer ? answer : { error: answer.igluError };
  }

  /**
   * The URI an entity in column `contexts_…` had: among the known schemas whose shredded name is the
   * column's, the newest one the data validates against (the newest one when none does); null when no
   * known schema has that column name.
   */
  async entityUri(column: string, data: unknown): Promise<string | null> {
    if (!this.byColumn) {
      this.byColumn = new Map();
      for (const schema of await this.list()) {
        const name = `contexts_${shreddedName(schema.uri)}`;
        const list = this.byColumn.get(name) ?? [];
        list.push(schema);
        this.byColumn.set(name, list);
      }
    }
    const candidates = this.byColumn.get(column);
    if (!candidates || candidates.length === 0) return null;
    if (candidates.length === 1) return candidates[0]!.uri;
    for (const candidate of candidates) {
      if ((await this.resolver.validate(candidate.uri, data)).ok) return candidate.uri;
    }
    return candidates[0]!.uri;
  }
}
