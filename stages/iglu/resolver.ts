/**
 * The Iglu resolver: finds a schema by key across repositories (vendor prefixes, then class, then
 * priority, as Iglu's client orders them), caches answers (LRU of `cacheSize`, `cacheTtl` seconds,
 * "not found" included), compiles each schema once, and reports every failure as the typed Iglu
 * error that Snowplow bad rows carry. Nothing here throws for a missing or unreachable schema.
 */
import { readFile, stat } from "node:fs/promises";
import type Ajv from "ajv-draft-04";
import type { ValidateFunction } from "ajv-draft-04";
import { LRUCache } from "lru-cache";
import { compileSchema, createAjv, dataReports, type DataReport } from "./json-schema";
import {
  DirectoryRepository,
  EMBEDDED_REPOSITORY_NAME,
  EMBEDDED_SCHEMAS_DIR,
  HttpRepository,
  igluCentralRepositories,
  prioritize,
  type HttpLookupOptions,
  type RegistryError,
  type Repository,
} from "./repositories";
import { ResolverConfigError, settingsFromConfig, type ResolverSettings } from "./resolver-config";
import { SchemaCache } from "./schema-cache";
import { keyFromSelf, parseSchemaUri, sameKey, schemaUri, type SchemaKey } from "./schema-key";

export { ResolverConfigError } from "./resolver-config";

export interface LookupHistory {
  repository: string;
  errors: unknown[];
  attempts: number;
  lastAttempt: string;
}

/** JSON shapes as the Snowplow bad-row library writes them into schema_violations / tracker_protocol_violations. */
export type IgluError =
  | { error: "ResolutionError"; lookupHistory: LookupHistory[] }
  | { error: "ValidationError"; dataReports: DataReport[] }
  | { error: "InvalidSchema" | "InvalidData"; message: string };

export type ValidationOutcome = { ok: true; key: SchemaKey } | { ok: false; schemaKey: string; igluError: IgluError };

export interface ResolverLoadOptions {
  /** `apikey` header sent when `spec` is a registry URL (a resolver config names its own keys). */
  apikey?: string;
  /** Milliseconds before one HTTP lookup is abandoned. */
  timeoutMs?: number;
  /**
   * Public registries asked after every other (Iglu Central and its mirror, IGLU_CENTRAL_URLS, for the
   * command line's default); none when not given. A resolver config file lists its own registries instead.
   */
  igluCentral?: readonly string[];
  /** Folder where schemas resolved from HTTP registries are kept across restarts (SchemaCache); none: memory only. */
  cacheDir?: string;
}

/** After a failure that may be transient, a registry is asked again this many more times, backing off. */
const TRANSIENT_RETRIES = 3;
const RETRY_BACKOFF_MS = 1000;
const DEFAULT_TIMEOUT_MS = 5000;
/** Defaults when no resolver config is given: local registries never change under us; remote ones may. */
const LOCAL_DEFAULTS = { cacheSize: 500, cacheTtl: null };
const REMOTE_DEFAULTS = { cacheSize: 500, cacheTtl: 600 };

type Compiled = ValidateFunction | { invalid: string };
type CacheEntry =
  | { found: true; schema: object; compiled?: Compiled; /** from the embedded registry, which we ship and test */ trusted: boolean }
  | { found: false; history: Map<string, LookupHistory>; transient: boolean; attempts: number; retryAt: number };

/** A resolved, compiled schema on the hot path, valid until its cache entry expires. */
interface ReadyValidator {
  validate: ValidateFunction;
  valid: ValidationOutcome;
  expiresAt: number;
}

export class Resolver {
  readonly repositories: readonly Repository[];
  private readonly ajv: Ajv = createAjv();
  /** Compiles embedded schemas without checking them against the meta-schema first (see createAjv). */
  private trustedAjvInstance: Ajv | undefined;
  private readonly cache: LRUCache<string, CacheEntry> | undefined;
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  private readonly ttlMs: number | undefined;
  /**
   * Schema URI exactly as data names it → its compiled validator, for schemas already found and compiled.
   * Enrich validates about three times per event; this makes each a Map lookup instead of parsing the URI,
   * rebuilding the cache key and asking the LRU. An entry goes when its cache entry is evicted or expires
   * (a hit here does not refresh the entry's LRU recency, so a busy schema may be looked up again sooner).
   */
  private readonly ready = new Map<string, ReadyValidator>();

  constructor(settings: ResolverSettings) {
    this.repositories = settings.repositories;
    this.ttlMs = settings.cacheTtl === null ? undefined : settings.cacheTtl * 1000;
    // cacheTtl 0 (allowed since resolver-config 1-0-3) means answers are never reused.
    if (settings.cacheSize >= 1 && settings.cacheTtl !== 0) {
      this.cache = new LRUCache<string, CacheEntry>({
        max: Math.floor(settings.cacheSize),
        ttl: this.ttlMs,
        // Drop an evicted schema from ajv too, or its compiled code would outlive the cache.
        dispose: (entry, uri) => {
          this.ready.delete(uri);
          if (entry.found) this.ajvFor(entry.trusted).removeSchema(entry.schema);
        },
      });
    }
  }

  /**
   * `spec`: a resolver-config JSON file, an http(s) registry URL (an Iglu Server's `…/api` or a static
   * registry), or a directory in static-registry layout; undefined → the embedded `schemas/` alone.
   * The embedded registry is always consulted too, as the Iglu client always consults its bundled one, and
   * (except with a config file) `options.igluCentral` after the rest.
   */
  static async load(spec?: string, options: ResolverLoadOptions = {}): Promise<Resolver> {
    const isUrl = spec !== undefined && /^https?:\/\//i.test(spec);
    if (spec !== undefined && !isUrl) {
      const info = await stat(spec).catch(() => undefined);
      if (!info) throw new ResolverConfigError(`${spec} is neither a resolver config file, a registry URL nor a directory`);
      if (!info.isDirectory()) return Resolver.fromConfigFile(spec, options);
    }
    const igluCentral = options.igluCentral ?? [];
    const defaults = spec === undefined && igluCentral.length === 0 ? LOCAL_DEFAULTS : REMOTE_DEFAULTS;
    const lookup = httpLookup(options, defaults.cacheTtl);
    const repositories: Repository[] = [embeddedRepository(1)];
    if (isUrl) repositories.push(new HttpRepository({ name: spec, priority: 0, vendorPrefixes: [], uri: spec, apikey: options.apikey, ...lookup }));
    else if (spec !== undefined) repositories.push(await DirectoryRepository.open(spec, { name: spec, priority: 0, vendorPrefixes: [] }));
    repositories.push(...igluCentralRepositories(igluCentral, lookup));
    return new Resolver({ ...defaults, repositories });
  }

  private static async fromConfigFile(path: string, options: ResolverLoadOptions): Promise<Resolver> {
    let config: unknown;
    try {
      config = JSON.parse(await readFile(path, "utf8"));
    } catch (error) {
      throw new ResolverConfigError(`${path} is not a readable JSON resolver config: ${(error as Error).message}`);
    }
    const schema = (config as { schema?: unknown })?.schema;
    const key = typeof schema === "string" ? parseSchemaUri(schema) : undefined;
    if (!key || "error" in key || key.vendor !== "com.snowplowanalytics.iglu" || key.name !== "resolver-config") {
      throw new ResolverConfigError(`${path} is not a self-describing iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-* JSON`);
    }
    const checked = await (await Resolver.load()).validate(schema as string, (config as { data: unknown }).data);
    if (!checked.ok) throw new ResolverConfigError(`${path}: ${describeIgluError(checked.igluError)}`);
    const data = (config as { data: { cacheTtl?: number | null } }).data;
    const settings = await settingsFromConfig(data as never, path, httpLookup(options, data.cacheTtl ?? null));
    const embeddedListed = settings.repositories.some((r) => r instanceof DirectoryRepository && r.root === EMBEDDED_SCHEMAS_DIR);
    if (!embeddedListed) settings.repositories.push(embeddedRepository(0));
    return new Resolver(settings);
  }

  async lookup(key: SchemaKey): Promise<{ schema: object } | { igluError: IgluError }> {
    const entry = await this.entry(key);
    return entry.found ? { schema: entry.schema } : { igluError: resolutionError(entry) };
  }

  /** Validates data against the schema `uri` names; synchronous once that schema is resolved and compiled. */
  validate(uri: string, data: unknown): ValidationOutcome | Promise<ValidationOutcome> {
    const ready = this.ready.get(uri);
    if (ready !== undefined && Date.now() < ready.expiresAt) {
      return ready.validate(data) ? ready.valid : validationError(uri, ready.validate);
    }
    return this.resolveAndValidate(uri, data);
  }

  private async resolveAndValidate(uri: string, data: unknown): Promise<ValidationOutcome> {
    const key = parseSchemaUri(uri);
    if ("error" in key) return { ok: false, schemaKey: String(uri), igluError: { error: "InvalidData", message: key.error } };
    const entry = await this.entry(key);
    if (!entry.found) return { ok: false, schemaKey: uri, igluError: resolutionError(entry) };
    entry.compiled ??= this.compile(key, entry.schema, entry.trusted);
    const compiled = entry.compiled;
    if ("invalid" in compiled) return { ok: false, schemaKey: uri, igluError: { error: "InvalidSchema", message: compiled.invalid } };
    const valid = compiled(data);
    // Without a cache every lookup brings a new schema object; do not let ajv keep them all.
    if (!this.cache) this.ajvFor(entry.trusted).removeSchema(entry.schema);
    // `uri` is the cache key (parseSchemaUri and schemaUri round-trip exactly); the validator is ready for
    // as long as the cache keeps this entry.
    else if (this.cache.peek(uri) === entry) {
      this.ready.set(uri, { validate: compiled, valid: { ok: true, key }, expiresAt: Date.now() + this.cache.getRemainingTTL(uri) });
    }
    if (valid) return { ok: true, key };
    return validationError(uri, compiled);
  }

  private compile(key: SchemaKey, schema: object, trusted: boolean): Compiled {
    const declared = keyFromSelf((schema as { self?: unknown }).self);
    if ("error" in declared) return { invalid: `${schemaUri(key)}: ${declared.error}` };
    if (!sameKey(declared, key)) return { invalid: `the registry answered ${schemaUri(key)} with a schema for ${schemaUri(declared)}` };
    return compileSchema(this.ajvFor(trusted), schema);
  }

  private ajvFor(trusted: boolean): Ajv {
    if (!trusted) return this.ajv;
    this.trustedAjvInstance ??= createAjv({ checkSchemas: false });
    return this.trustedAjvInstance;
  }

  /** The cached answer for a key, or a fresh lookup; concurrent callers share one lookup. */
  private async entry(key: SchemaKey): Promise<CacheEntry> {
    const uri = schemaUri(key);
    const cached = this.cache?.get(uri);
    if (cached && (cached.found || !cached.transient || Date.now() < cached.retryAt)) return cached;
    const pending = this.inflight.get(uri);
    if (pending) return pending;
    const lookup = this.resolve(key, cached && !cached.found ? cached : undefined).finally(() => this.inflight.delete(uri));
    this.inflight.set(uri, lookup);
    const entry = await lookup;
    this.cache?.set(uri, entry);
    return entry;
  }

  private async resolve(key: SchemaKey, previous: Extract<CacheEntry, { found: false }> | undefined): Promise<CacheEntry> {
    const history = new Map(previous?.history);
    let transient = false;
    for (const repository of prioritize(this.repositories, key.vendor)) {
      const answer = await repository.fetch(key);
      if ("schema" in answer) return { found: true, schema: answer.schema, trusted: isEmbedded(repository) };
      transient ||= answer.failure.error !== "NotFound";
      record(history, repository.name, answer.failure);
    }
    const attempts = (previous?.attempts ?? 0) + 1;
    return {
      found: false,
      history,
      attempts,
      // Past the retries a failing registry counts as not having the schema until the entry expires.
      transient: transient && attempts <= TRANSIENT_RETRIES,
      retryAt: Date.now() + RETRY_BACKOFF_MS * 2 ** (attempts - 1),
    };
  }
}

function embeddedRepository(priority: number): DirectoryRepository {
  return new DirectoryRepository(EMBEDDED_SCHEMAS_DIR, { name: EMBEDDED_REPOSITORY_NAME, priority, vendorPrefixes: [] });
}

/** The timeout, and the disk cache whose copies stay fresh as long as the resolver's cacheTtl (seconds). */
function httpLookup(options: ResolverLoadOptions, cacheTtl: number | null): HttpLookupOptions {
  const cache = options.cacheDir === undefined ? undefined : new SchemaCache(options.cacheDir, cacheTtl === null ? undefined : cacheTtl * 1000);
  return { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, cache };
}

function isEmbedded(repository: Repository): boolean {
  return repository instanceof DirectoryRepository && repository.root === EMBEDDED_SCHEMAS_DIR;
}

function record(history: Map<string, LookupHistory>, repository: string, failure: RegistryError): void {
  const previous = history.get(repository);
  const errors = previous?.errors ?? [];
  const seen = errors.some((e) => JSON.stringify(e) === JSON.stringify(failure));
  history.set(repository, {
    repository,
    errors: seen ? errors : [...errors, failure],
    attempts: (previous?.attempts ?? 0) + 1,
    lastAttempt: new Date().toISOString(),
  });
}

function validationError(uri: string, validate: ValidateFunction): ValidationOutcome {
  return { ok: false, schemaKey: uri, igluError: { error: "ValidationError", dataReports: dataReports(validate.errors) } };
}

function resolutionError(entry: Extract<CacheEntry, { found: false }>): IgluError {
  return { error: "ResolutionError", lookupHistory: [...entry.history.values()] };
}

/** One readable sentence for an Iglu error (for people; bad rows carry the structured form). */
export function describeIgluError(error: IgluError): string {
  switch (error.error) {
    case "ResolutionError":
      return `schema not found: ${error.lookupHistory.map((h) => `${h.repository} (${h.errors.map((e) => (e as { message?: string; error: string }).message ?? (e as { error: string }).error).join(", ")})`).join("; ")}`;
    case "ValidationError":
      return error.dataReports.map((r) => r.message).join("; ");
    default:
      return error.message;
  }
}
