/**
 * Which of the collector's routes a request is for (reference/snowplow-pipeline.md §1.1). Matching order as
 * in the Snowplow collector: OPTIONS on any path, the health routes, disabled redirects, tracking routes,
 * /crossdomain.xml, then 404. Pure: the method and raw path in, a route out.
 */
import type { CollectorConfig } from "./config";

export type Route =
  | { kind: "preflight" }
  | { kind: "health" }
  | { kind: "sink-health" }
  | { kind: "robots" }
  | { kind: "crossdomain" }
  /** A request that is recorded; `path` is what the raw record stores (after custom-path mapping). */
  | { kind: "track"; path: string; reply: "pixel" | "ok" }
  | { kind: "redirect"; path: string }
  | { kind: "redirects-disabled" }
  | { kind: "bad-path" }
  | { kind: "not-found" };

const PIXEL_PATHS = new Set(["/i", "/ice.png"]);

export function matchRoute(method: string, rawPath: string, config: CollectorConfig): Route {
  if (method === "OPTIONS") return { kind: "preflight" };
  const isGet = method === "GET" || method === "HEAD";
  if (isGet) {
    if (rawPath === "/health") return { kind: "health" };
    if (rawPath === "/sink-health") return { kind: "sink-health" };
    if (rawPath === "/robots.txt") return { kind: "robots" };
  }
  if (rawPath.includes("%") && !isValidPercentEncoding(rawPath)) return { kind: "bad-path" };
  if (isGet && PIXEL_PATHS.has(rawPath)) return { kind: "track", path: rawPath, reply: "pixel" };

  if (!isTwoSegmentPath(rawPath)) {
    if (isGet && rawPath === "/crossdomain.xml" && config.crossDomainDomains.length > 0) return { kind: "crossdomain" };
    return { kind: "not-found" };
  }
  // Only a path the user typed as /r/… is refused when redirects are off; a custom path mapped onto
  // /r/tp2 is an explicit wish for redirects and works regardless (as in the Snowplow collector).
  const isRedirectPath = rawPath.startsWith("/r/");
  if (isRedirectPath && !config.redirects && (method === "GET" || method === "POST")) {
    return { kind: "redirects-disabled" };
  }
  const mapped = config.paths[rawPath];
  if ((mapped === "/r/tp2" || (isRedirectPath && config.redirects)) && method === "GET") {
    return { kind: "redirect", path: mapped ?? rawPath };
  }
  if (isRedirectPath || mapped === "/r/tp2") return { kind: "not-found" };
  const path = mapped ?? rawPath;
  if (isGet) return { kind: "track", path, reply: "pixel" };
  if (method === "POST") return { kind: "track", path, reply: "ok" };
  return { kind: "not-found" };
}

/** `/vendor/version`: exactly two non-empty segments. */
function isTwoSegmentPath(path: string): boolean {
  const second = path.indexOf("/", 1);
  return second > 1 && second < path.length - 1 && path.indexOf("/", second + 1) === -1;
}

function isValidPercentEncoding(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
