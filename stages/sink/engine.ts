/**
 * Which search engine a cluster is: Elasticsearch (8.x, 9.x) or OpenSearch (2.x), and its version, read
 * from what the cluster says of itself. The sink needs it because the two differ in the mappings they
 * accept (index templates, ./templates).
 *
 * Elasticsearch names itself in the `X-Elastic-Product` header of every answer; its integ-test-zip has no
 * `GET /`, so its version comes from the local node's info. OpenSearch sends no such header and answers
 * `GET /` with `version.distribution: "opensearch"`.
 */
export type Flavour = "elasticsearch" | "opensearch";

export interface Engine {
  flavour: Flavour;
  version: string;
}

const NAMES: Record<Flavour, string> = { elasticsearch: "Elasticsearch", opensearch: "OpenSearch" };

/** "Elasticsearch 9.2.0", "OpenSearch 2.19.6". */
export function engineName(engine: Engine): string {
  return `${NAMES[engine.flavour]} ${engine.version}`;
}

/** What the cluster answered: the product header of any answer, and the bodies of `GET /` and of the local node's info. */
export interface SelfDescription {
  product: string | null | undefined;
  root?: unknown;
  nodes?: unknown;
}

/** The engine those answers name, or null when they name neither Elasticsearch nor OpenSearch. */
export function identifyEngine({ product, root, nodes }: SelfDescription): Engine | null {
  const rootVersion = (root as { version?: { number?: unknown; distribution?: unknown } } | null | undefined)?.version;
  if (product === "Elasticsearch") {
    const nodeVersions = Object.values((nodes as { nodes?: Record<string, { version?: unknown }> } | null | undefined)?.nodes ?? {});
    const version = typeof rootVersion?.number === "string" ? rootVersion.number : nodeVersions.find((node) => typeof node.version === "string")?.version;
    return { flavour: "elasticsearch", version: typeof version === "string" ? version : "(version unknown)" };
  }
  if (rootVersion?.distribution === "opensearch" && typeof rootVersion.number === "string") {
    return { flavour: "opensearch", version: rootVersion.number };
  }
  return null;
}
