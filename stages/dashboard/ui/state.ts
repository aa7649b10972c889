/**
 * All the page's state lives in the URL (path = page, query = range, search, sort, open record…), so a
 * view can be shared or reloaded as it is. Changing state means changing the URL; the app re-renders.
 */
type Listener = () => void;
const listeners: Listener[] = [];

export function onNavigate(listener: Listener): void {
  listeners.push(listener);
  window.addEventListener("popstate", listener);
}

export function param(name: string, fallback = ""): string {
  return new URLSearchParams(location.search).get(name) ?? fallback;
}

/** Sets (or with null/"" removes) query parameters; `push` makes a new history entry (a new view), else replaces. */
export function setParams(changes: Record<string, string | number | null>, push = false): void {
  const params = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === "") params.delete(name);
    else params.set(name, String(value));
  }
  navigate(location.pathname + (params.size ? `?${params}` : ""), push);
}

export function navigate(url: string, push = true): void {
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
  for (const listener of listeners) listener();
}

/** The time-range parameters every API call carries, from the URL. */
export function rangeParams(): Record<string, string> {
  const from = param("from");
  const to = param("to");
  if (from || to) return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
  return { range: param("range", "24h") };
}
