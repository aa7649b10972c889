/**
 * The part of the Iglu resolver (stages/iglu/resolver.ts) that enrich depends on, so the enrich logic can
 * be tested with a stand-in and the resolver can change its internals freely.
 */
export type ValidationOutcome =
  | { ok: true; key: unknown }
  /** igluError is already in the bad-row IgluError shape (ResolutionError / ValidationError). */
  | { ok: false; schemaKey: string; igluError: unknown };

export interface SchemaValidator {
  validate(schemaUri: string, data: unknown): ValidationOutcome | Promise<ValidationOutcome>;
}
