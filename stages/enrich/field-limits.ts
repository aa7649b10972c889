/**
 * Enrich's final check on atomic columns (`atomicFieldsLimits`): which string columns are longer than their
 * limit. Runs on every event, so it is compiled once into fixed property reads rather than a loop over
 * column names.
 */
import { FIELD_SPECS, type EnrichedEvent } from "./event";

export interface OverlongField {
  field: string;
  limit: number;
  value: string;
}

export const overlongFields = new Function(
  "e",
  "let found = null;\n" +
    FIELD_SPECS.filter(([, kind, limit]) => kind === "string" && limit > 0)
      .map(
        ([name, , limit]) =>
          `if (e.${name} !== null && e.${name}.length > ${limit}) (found ??= []).push({ field: "${name}", limit: ${limit}, value: e.${name} });`,
      )
      .join("\n") +
    "\nreturn found;",
) as (event: EnrichedEvent) => OverlongField[] | null;
