/**
 * Snowplow's default topic names (the enrich-kafka reference configuration) and ours for what Snowplow has
 * no topic for. Apart from the client code so that every command can name them without loading it.
 */

export const DEFAULT_TOPICS = {
  /** Thrift CollectorPayloads, collect → enrich. */
  raw: "snowplow-collector-payloads",
  /** Enriched events, canonical TSV, enrich → sink-good. */
  enriched: "snowplow-enriched",
  /** Bad rows, self-describing JSON, every stage → sink-bad. */
  bad: "snowplow-bad",
  /** Log records, JSON, logs-listen → sink (Snowplow has no such stream). */
  logs: "telemetry-logs",
} as const;

/** Partitions of a topic we create: the most processes of one consumer group that can share it. */
export const DEFAULT_PARTITIONS = 3;
