/**
 * The canonical enriched TSV read back into an EnrichedEvent: what Snowplow's enrich (and ours) puts on the
 * enriched topic, turned into the Analytics-SDK JSON that sink-good stores. The inverse of enrich's toTsv.
 */
import { FIELD_SPECS, type EnrichedEvent, type FieldKind } from "../enrich/event";

export class EnrichedTsvError extends Error {}

const COLUMNS = FIELD_SPECS.length;
const TSV_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$/;

function column(kind: FieldKind, name: string, text: string): unknown {
  if (text === "") return kind === "contexts" ? [] : null;
  switch (kind) {
    case "string":
      return text;
    case "integer":
    case "decimal":
    case "float": {
      const number = Number(text);
      if (!Number.isFinite(number)) throw new EnrichedTsvError(`${name} is not a number: ${JSON.stringify(text.slice(0, 100))}`);
      return number;
    }
    case "boolean":
      if (text === "1" || text === "true") return true;
      if (text === "0" || text === "false") return false;
      throw new EnrichedTsvError(`${name} is not 1 or 0: ${JSON.stringify(text.slice(0, 100))}`);
    case "timestamp": {
      const ms = TSV_TIMESTAMP.test(text) ? Date.parse(text.replace(" ", "T").slice(0, 23) + "Z") : NaN;
      if (!Number.isFinite(ms)) throw new EnrichedTsvError(`${name} is not a timestamp: ${JSON.stringify(text.slice(0, 100))}`);
      return ms;
    }
    case "contexts":
    case "unstruct": {
      let wrapper: { data?: unknown };
      try {
        wrapper = JSON.parse(text);
      } catch {
        throw new EnrichedTsvError(`${name} is not JSON`);
      }
      if (kind === "contexts" && !Array.isArray(wrapper?.data)) throw new EnrichedTsvError(`${name} has no array of entities`);
      if (kind === "unstruct" && (typeof wrapper?.data !== "object" || wrapper.data === null)) throw new EnrichedTsvError(`${name} has no event`);
      return wrapper.data;
    }
  }
}

/** The event a TSV line holds; EnrichedTsvError when it is not 131 well-typed columns. */
export function parseEnrichedTsv(line: string): EnrichedEvent {
  const columns = line.split("\t");
  if (columns.length !== COLUMNS) throw new EnrichedTsvError(`an enriched TSV line has ${COLUMNS} columns, this one ${columns.length}`);
  const event: Record<string, unknown> = {};
  for (let i = 0; i < COLUMNS; i++) {
    const [name, kind] = FIELD_SPECS[i]!;
    event[name] = column(kind, name, columns[i]!);
  }
  return event as unknown as EnrichedEvent;
}

/** The column index of an enriched field (for a partition key such as user_id), or -1. */
export function enrichedColumnIndex(name: string): number {
  return FIELD_SPECS.findIndex(([field]) => field === name);
}
