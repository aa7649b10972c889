/**
 * The Schemas page: every schema the registries hold, and how many stored events use each, as the
 * event itself (self-describing events, by their full URI) or as an entity (by the stored column, which
 * keeps only the model: contexts_<vendor>_<name>_<model>, so 1-0-0 and 1-0-1 of one schema share it).
 * Schemas events use that no listed registry holds are listed too.
 */
import { shreddedName } from "../enrich/output";
import { fieldFor } from "./fields";
import type { SchemaRegistry } from "./schema-registry";
import type { DashboardStore } from "./store";
import type { TimeRange } from "./time-range";

export interface SchemaUse {
  uri: string;
  inRegistry: boolean;
  /** Events that are this schema's self-describing event. */
  events: number;
  /** Events carrying at least one entity of this schema's model. */
  entities: number;
  entityColumn: string;
}

export async function schemasWithCounts(store: DashboardStore, registry: SchemaRegistry, range: TimeRange): Promise<SchemaUse[]> {
  const [listed, eventCounts, entityCounts] = await Promise.all([
    registry.list(),
    store.top("good", fieldFor("good", "event_schema"), range, 10_000),
    store.entityCounts(range),
  ]);
  const events = new Map(eventCounts.map(({ value, count }) => [value, count]));
  const rows: SchemaUse[] = listed.map(({ uri }) => {
    const entityColumn = `contexts_${shreddedName(uri)}`;
    return { uri, inRegistry: true, events: events.get(uri) ?? 0, entities: entityCounts.get(entityColumn) ?? 0, entityColumn };
  });
  const known = new Set(listed.map(({ uri }) => uri));
  for (const [uri, count] of events) {
    if (!known.has(uri)) rows.push({ uri, inRegistry: false, events: count, entities: 0, entityColumn: "" });
  }
  const knownColumns = new Set(rows.map((row) => row.entityColumn));
  for (const [column, count] of entityCounts) {
    if (!knownColumns.has(column)) rows.push({ uri: column, inRegistry: false, events: 0, entities: count, entityColumn: column });
  }
  return rows;
}
