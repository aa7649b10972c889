/** "1 file", "2 files", "0 files": a count and its noun for messages people read. */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
