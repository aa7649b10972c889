/**
 * The fixed responses of the collector (reference/snowplow-pipeline.md §1.1, §1.4). Tracking responses get
 * their CORS and cookie headers from the caller.
 */

/** The 43-byte transparent 1×1 GIF every pixel route answers with. */
export const PIXEL = Buffer.from("R0lGODlhAQABAPAAAP///wAAACH5BAUAAAAALAAAAAABAAEAAAICRAEAOw==", "base64");

export const ROBOTS_TXT = "User-agent: *\nDisallow: /\n\nUser-agent: Googlebot\nDisallow: /\n\nUser-agent: AdsBot-Google\nDisallow: /\n";

export type HeaderList = [string, string][];

/** The CORS headers of every tracking response: the caller's origin (or *) with credentials allowed. */
export function corsHeaders(origin: string | null): HeaderList {
  return [
    ["Access-Control-Allow-Origin", allowedOrigin(origin)],
    ["Access-Control-Allow-Credentials", "true"],
  ];
}

/**
 * The first origin of the Origin header, as scheme://host[:port]; `*` when there is none or it is
 * "null" (sandboxed frames, file: pages). A browser only sends credentials to an exact origin, never to `*`.
 */
export function allowedOrigin(origin: string | null): string {
  if (origin === null) return "*";
  let allowed = knownOrigins.get(origin);
  if (allowed === undefined) {
    allowed = parseOrigin(origin);
    if (knownOrigins.size >= MAX_KNOWN_ORIGINS) knownOrigins.clear();
    knownOrigins.set(origin, allowed);
  }
  return allowed;
}

// A collector serves a handful of sites, so parsed origins are remembered (bounded: clients choose them).
const knownOrigins = new Map<string, string>();
const MAX_KNOWN_ORIGINS = 1024;

function parseOrigin(origin: string): string {
  const first = origin.trim().split(" ")[0]!;
  if (first === "" || first === "null") return "*";
  try {
    return new URL(first).origin;
  } catch {
    return "*";
  }
}

export function preflightResponse(origin: string | null, maxAgeSeconds: number): Response {
  return new Response(null, {
    status: 200,
    headers: [
      ...corsHeaders(origin),
      ["Access-Control-Allow-Headers", "Content-Type, SP-Anonymous"],
      ["Access-Control-Max-Age", String(maxAgeSeconds)],
    ],
  });
}

export function textResponse(status: number, body: string, headers: HeaderList = []): Response {
  return new Response(body, { status, headers: [["Content-Type", "text/plain; charset=utf-8"], ...headers] });
}

/**
 * The answer to a recorded request: the pixel or "ok", with CORS for `allowOrigin` and the Set-Cookie
 * values. The header list is written out flat: this is the collector's hot path.
 */
export function trackingResponse(reply: "pixel" | "ok", allowOrigin: string, cookies: readonly string[]): Response {
  const headers: HeaderList =
    reply === "pixel"
      ? [
          ["Content-Type", "image/gif"],
          ["Cache-Control", "no-cache, no-store, must-revalidate"],
          ["Access-Control-Allow-Origin", allowOrigin],
          ["Access-Control-Allow-Credentials", "true"],
        ]
      : [
          ["Content-Type", "text/plain; charset=utf-8"],
          ["Access-Control-Allow-Origin", allowOrigin],
          ["Access-Control-Allow-Credentials", "true"],
        ];
  for (const cookie of cookies) headers.push(["Set-Cookie", cookie]);
  return reply === "pixel" ? new Response(PIXEL, { headers }) : new Response("ok", { status: 200, headers });
}

export function crossDomainResponse(domains: string[], secure: boolean): Response {
  const entries = domains.map((domain) => `  <allow-access-from domain="${escapeXml(domain)}" secure="${secure}" />`);
  const body = `<?xml version="1.0"?>\n<cross-domain-policy>\n${entries.join("\n")}\n</cross-domain-policy>\n`;
  return new Response(body, { headers: [["Content-Type", "text/xml"]] });
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
