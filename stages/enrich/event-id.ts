/**
 * Ids for events whose tracker sent no `eid`. Snowplow makes a random one; we derive it from the raw
 * record's id and the event's position in the request (a name-based UUID, version 5 layout over SHA-1),
 * so replaying the same raw input yields the same ids and the store does not duplicate events.
 */
import { createHash } from "node:crypto";

/** Our own namespace, chosen at random once and never to change (ids depend on it). */
const NAMESPACE = Buffer.from("4f0e6c1e5a3b5b8e9d5e0c7a1f2b3c4d", "hex");

export function derivedEventId(rawRecordId: string, position: number): string {
  const hash = createHash("sha1").update(NAMESPACE).update(`${rawRecordId}/${position}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.toString("hex", 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A stable id for a raw record that came without one, from its content. */
export function contentId(text: string): string {
  return derivedEventId(createHash("sha1").update(text).digest("hex"), -1);
}
