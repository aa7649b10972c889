/**
 * What a collector that died had archived but not yet written out. Its archive is written before its
 * stdout and in the same order (stages/collect/archive.ts), so the records missing downstream are the
 * archived ones after the last record the supervisor received from it. They are read from the segments
 * made since the supervisor started (older ones were handled by earlier runs), whole lines only: a line
 * cut short by the crash was never answered 200.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

const SEGMENT = /^raw-\d{8}T\d{6}Z-(\d{6})\.ndjson(\.open)?$/;

/** The segment names in DIR now (to be left alone later). */
export async function archiveSegments(dir: string): Promise<Set<string>> {
  try {
    return new Set((await readdir(dir)).filter((name) => SEGMENT.test(name)));
  } catch {
    return new Set();
  }
}

/**
 * The lines archived after the record with id `lastId` (all of them when it is undefined or no longer
 * there), in the segments not in `before`, in the order they were written. Segments are read from the
 * newest back, and only until the one holding `lastId`.
 */
export async function archivedAfter(dir: string, lastId: string | undefined, before: Set<string>): Promise<string[]> {
  const names = [...(await archiveSegments(dir))]
    .filter((name) => !before.has(name))
    .sort((a, b) => Number(SEGMENT.exec(b)![1]) - Number(SEGMENT.exec(a)![1]));
  const newestFirst: string[][] = [];
  const marker = lastId === undefined ? undefined : `"id":"${lastId}"`;
  for (const name of names) {
    const lines = await wholeLines(join(dir, name));
    if (marker !== undefined) {
      const found = lines.findLastIndex((line) => line.includes(marker) && recordId(line) === lastId);
      if (found !== -1) {
        newestFirst.push(lines.slice(found + 1));
        break;
      }
    }
    newestFirst.push(lines);
  }
  return newestFirst.reverse().flat();
}

async function wholeLines(path: string): Promise<string[]> {
  // A segment may be finished (renamed without .open) between the listing and now.
  const text = await readFile(path, "utf8").catch(() => readFile(path.replace(/\.open$/, ""), "utf8").catch(() => ""));
  const whole = text.slice(0, text.lastIndexOf("\n") + 1);
  return whole === "" ? [] : whole.slice(0, -1).split("\n");
}

/** The id of a raw record line, or undefined. */
export function recordId(line: string): string | undefined {
  try {
    const id = (JSON.parse(line) as { id?: unknown }).id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
