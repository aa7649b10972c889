/**
 * Querystrings (and form bodies) as Enrich reads them: `name=value` pairs split on `&`, `+` meaning a
 * space, percent-escapes decoded as UTF-8. A name without `=` has no value (null), which bad rows keep
 * and the parameter map leaves out.
 */

export interface NameValue {
  name: string;
  value: string | null;
}

/** A tracker event's parameters by name; the last of repeated names wins. */
export type Parameters = Record<string, string>;

export class QuerystringError extends Error {}

function decode(text: string): string {
  if (text.indexOf("%") === -1 && text.indexOf("+") === -1) return text;
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    throw new QuerystringError(`"${text}" is not valid percent-encoded UTF-8`);
  }
}

/** Every pair in order; throws QuerystringError on an escape that does not decode. */
export function parseQuerystring(querystring: string): NameValue[] {
  const pairs: NameValue[] = [];
  // One pass over the text with indexOf: no intermediate array of parts (this runs for every request).
  for (let start = 0; start < querystring.length; ) {
    let end = querystring.indexOf("&", start);
    if (end === -1) end = querystring.length;
    if (end > start) {
      const equals = querystring.indexOf("=", start);
      if (equals === -1 || equals > end) pairs.push({ name: decode(querystring.slice(start, end)), value: null });
      else pairs.push({ name: decode(querystring.slice(start, equals)), value: decode(querystring.slice(equals + 1, end)) });
    }
    start = end + 1;
  }
  return pairs;
}

export function toParameters(pairs: readonly NameValue[]): Parameters {
  const parameters: Parameters = Object.create(null);
  for (const { name, value } of pairs) if (value !== null) parameters[name] = value;
  return parameters;
}

export function toNameValues(parameters: Parameters): NameValue[] {
  return Object.keys(parameters).map((name) => ({ name, value: parameters[name]! }));
}
