/**
 * Iglu's resolver-config file (`iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-*`):
 * cache size and TTL, and the repositories with their priorities, vendor prefixes and connections.
 */
import { dirname, resolve } from "node:path";
import { DirectoryRepository, EMBEDDED_SCHEMAS_DIR, HttpRepository, type HttpLookupOptions, type Repository } from "./repositories";

/** A resolver specification that cannot be used; CLI commands turn it into exit 2. */
export class ResolverConfigError extends Error {
  readonly isConfigError = true;
}

/** The JVM client's classpath path for bundled schemas; here it means our own `schemas/`. */
const CONVENTIONAL_EMBEDDED_PATH = "/iglu-client-embedded";

export interface ResolverSettings {
  cacheSize: number;
  /** Seconds a cached answer (found or not) is kept; null keeps it until evicted by size. */
  cacheTtl: number | null;
  repositories: Repository[];
}

interface ConfigRepository {
  name: string;
  priority: number;
  vendorPrefixes: string[];
  connection: { http?: { uri: string; apikey?: string | null }; embedded?: { path: string } };
}

/**
 * Builds the settings from a resolver config that has already passed its own schema.
 * Relative embedded paths are taken from the config file's folder.
 */
export async function settingsFromConfig(
  config: { cacheSize: number; cacheTtl?: number | null; repositories: ConfigRepository[] },
  configPath: string,
  lookup: HttpLookupOptions,
): Promise<ResolverSettings> {
  const repositories: Repository[] = [];
  for (const entry of config.repositories) {
    const common = { name: entry.name, priority: entry.priority, vendorPrefixes: entry.vendorPrefixes };
    if (entry.connection.http) {
      repositories.push(new HttpRepository({ ...common, ...entry.connection.http, ...lookup }));
    } else if (entry.connection.embedded) {
      const path = entry.connection.embedded.path;
      const dir = path === CONVENTIONAL_EMBEDDED_PATH ? EMBEDDED_SCHEMAS_DIR : resolve(dirname(configPath), path);
      repositories.push(
        await DirectoryRepository.open(dir, common).catch((error: Error) => {
          throw new ResolverConfigError(`${configPath}: repository "${entry.name}": ${error.message}`);
        }),
      );
    }
  }
  return { cacheSize: config.cacheSize, cacheTtl: config.cacheTtl ?? null, repositories };
}
