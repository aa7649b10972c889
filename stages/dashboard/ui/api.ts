/**
 * The page's calls to the dashboard API. The access token (when the dashboard has one) comes once as
 * `?token=` in the address, is kept for the tab in sessionStorage, and is sent as a Bearer header.
 * An unreachable store is shown in the banner (and cleared when it answers again); a search the
 * server cannot read comes back as a SearchProblem with its position.
 */
const TOKEN_KEY = "telemetry-dashboard-token";

function token(): string | null {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    const url = new URL(location.href);
    url.searchParams.delete("token");
    history.replaceState(null, "", url);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export class ApiProblem extends Error {
  constructor(message: string, readonly status: number, readonly position?: number) {
    super(message);
  }
}

let bannerListener: (message: string | null) => void = () => {};
export function onStoreTrouble(listener: (message: string | null) => void): void {
  bannerListener = listener;
}

export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== "") query.set(name, String(value));
  const secret = token();
  let response: Response;
  try {
    response = await fetch(`${path}${query.size ? `?${query}` : ""}`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} });
  } catch (error) {
    bannerListener(`the dashboard itself cannot be reached (${(error as Error).message}); retrying`);
    throw new ApiProblem("the dashboard cannot be reached", 0);
  }
  const body = (await response.json().catch(() => ({}))) as { error?: string; position?: number; unavailable?: boolean };
  if (response.status === 503 || body.unavailable) {
    bannerListener(`The store is unreachable: ${body.error ?? response.statusText}. Retrying…`);
    throw new ApiProblem(body.error ?? "store unavailable", 503);
  }
  bannerListener(null);
  if (!response.ok) throw new ApiProblem(body.error ?? `${response.status} ${response.statusText}`, response.status, body.position);
  return body as T;
}

/** The event stream URL, with the token as a parameter (EventSource cannot send headers). */
export function streamUrl(path: string): string {
  const secret = token();
  return secret ? `${path}?token=${encodeURIComponent(secret)}` : path;
}
