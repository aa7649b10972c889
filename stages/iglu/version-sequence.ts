/**
 * Iglu Server's rule for which new version of a schema may be published, given those that exist
 * (its VersionCursor): versions grow one step at a time, and an ADDITION may not be slipped into a
 * REVISION that a newer REVISION of the same MODEL has already superseded.
 */
import { schemaVerString, type SchemaVer } from "./schema-key";

/** Why `next` may not be published after `existing`, or undefined when it may. */
export function sequenceRefusal(existing: readonly SchemaVer[], next: SchemaVer): string | undefined {
  const { model, revision, addition } = next;
  if (model === 1 && revision === 0 && addition === 0) return undefined;
  const exists = (test: (v: SchemaVer) => boolean) => existing.some(test);
  const name = schemaVerString(next);
  if (revision === 0 && addition === 0) {
    return exists((v) => v.model === model - 1) ? undefined : `${name} needs a version of model ${model - 1} to exist first`;
  }
  if (addition === 0) {
    return exists((v) => v.model === model && v.revision === revision - 1)
      ? undefined
      : `${name} needs a version ${model}-${revision - 1}-x to exist first`;
  }
  if (!exists((v) => v.model === model && v.revision === revision && v.addition === addition - 1)) {
    return `${name} needs ${model}-${revision}-${addition - 1} to exist first`;
  }
  if (exists((v) => v.model === model && v.revision > revision)) {
    return `${name} adds to revision ${model}-${revision} but a later revision of model ${model} already exists`;
  }
  return undefined;
}
