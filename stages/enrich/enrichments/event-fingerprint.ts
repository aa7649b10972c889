/**
 * event_fingerprint_config: `event_fingerprint` is a hex hash of the event's tracker parameters, sorted
 * by name, each written as name, U+001F, value, U+001F, leaving out `excludeParameters` (the ones that
 * differ between retries of the same event: eid, stm, nuid, cv). Same input as Snowplow, same hash.
 */
import type { EnrichmentDefinition } from "./config";

const UNIT_SEPARATOR = "\u001f";
/** Snowplow's algorithm names → Bun.CryptoHasher's. */
const ALGORITHMS = { MD5: "md5", SHA1: "sha1", SHA256: "sha256", SHA384: "sha384", SHA512: "sha512" } as const;

function eventFingerprint(
  parameters: Readonly<Record<string, string>>,
  excluded: ReadonlySet<string>,
  algorithm: Bun.SupportedCryptoAlgorithms,
): string {
  const parts: string[] = [];
  // Plain code-unit order, as Scala's String `<` sorts.
  for (const name of Object.keys(parameters).sort()) {
    if (!excluded.has(name)) parts.push(name, parameters[name]!);
  }
  const input = parts.length === 0 ? "" : parts.join(UNIT_SEPARATOR) + UNIT_SEPARATOR;
  // One-shot hashing of a joined string: measurably cheaper per event than node:crypto's createHash.
  return Bun.CryptoHasher.hash(algorithm, input, "hex");
}

export const eventFingerprintConfig: EnrichmentDefinition = {
  vendor: "com.snowplowanalytics.snowplow",
  name: "event_fingerprint_config",
  models: [1],
  create(config) {
    const excluded = new Set(config.parameters.stringList("excludeParameters"));
    const algorithm = ALGORITHMS[config.parameters.oneOf("hashAlgorithm", Object.keys(ALGORITHMS) as (keyof typeof ALGORITHMS)[])];
    return {
      name: config.key.name,
      schemaKey: config.schema,
      apply({ event, parameters }) {
        event.event_fingerprint = eventFingerprint(parameters, excluded, algorithm);
      },
    };
  },
};
