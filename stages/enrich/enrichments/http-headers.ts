/**
 * The request headers a raw record keeps, as `Name: value` lines. The collector also appends the bare
 * content type as a last element; having no colon, it is not a header line and is skipped, as in Enrich.
 */
export interface HeaderLine {
  /** As stored, untrimmed. */
  name: string;
  value: string;
}

export function headerLines(headers: readonly string[]): HeaderLine[] {
  const lines: HeaderLine[] = [];
  for (const header of headers) {
    const colon = header.indexOf(":");
    if (colon !== -1) lines.push({ name: header.slice(0, colon), value: header.slice(colon + 1) });
  }
  return lines;
}
