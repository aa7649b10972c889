/**
 * Who may use the API. On loopback (the default) anyone on the machine may, as with Kibana or Micro run
 * locally. Bound to another address the dashboard requires an access token, given as
 * `Authorization: Bearer <token>`, as the password of HTTP basic auth (so `http://any:<token>@host/micro/good`
 * works for test suites), or as `?token=` (how the page and its event stream pass it).
 */
import { timingSafeEqual } from "node:crypto";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The token a request offers, if any. */
function offeredToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (header?.startsWith("Bearer ")) return header.slice(7).trim();
  if (header?.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    return decoded.slice(decoded.indexOf(":") + 1);
  }
  return new URL(request.url).searchParams.get("token");
}

/** null when the request may go on, else the 401 to answer. */
export function refusal(request: Request, token: string | undefined): Response | null {
  if (!token) return null;
  const offered = offeredToken(request);
  if (offered !== null && same(offered, token)) return null;
  return Response.json(
    { error: "this dashboard needs its access token: Authorization: Bearer <token>, basic auth with the token as password, or ?token=" },
    { status: 401, headers: { "www-authenticate": 'Basic realm="telemetry dashboard"' } },
  );
}
