/** Sizes as people write them in flags: `65536`, `500KB`, `64MiB`, `1GiB`. */

const UNITS = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 } as const;
const SIZE = /^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$/;

/** A positive whole number with an optional unit, in bytes (a bare number is bytes); undefined otherwise. */
export function parseByteSize(text: string): number | undefined {
  const match = SIZE.exec(text);
  if (!match) return undefined;
  const bytes = Number(match[1]) * UNITS[(match[2] ?? "B") as keyof typeof UNITS];
  return bytes > 0 ? bytes : undefined;
}
