/** Durations as people write them in flags: `45s`, `30m`, `12h`, `7d` (a bare number is seconds). */

const SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$/;

/** A positive duration in seconds; undefined otherwise. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]) * SECONDS[(match[2] ?? "s") as keyof typeof SECONDS];
  return seconds > 0 ? seconds : undefined;
}
