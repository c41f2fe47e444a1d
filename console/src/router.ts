// A small history router under /console: the API answers index.html for every path below it
// (app/console.py), so any page can be linked to and reloaded.
import { useEffect, useState } from "preact/hooks";

export const BASE = "/console";
type Listener = () => void;
const listeners = new Set<Listener>();

function emit() {
  for (const l of listeners) l();
}
window.addEventListener("popstate", emit);

export function href(to: string): string {
  return BASE + to;
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = href(to);
  if (opts.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  emit();
}

/** Changes the query string alone, without a new history entry for every keystroke. */
export function setQuery(params: Record<string, string | null>): void {
  const url = new URL(location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === "") url.searchParams.delete(k);
    else url.searchParams.set(k, v);
  }
  history.replaceState(null, "", url);
  emit();
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || "/" : "/";
  return { path, query: new URLSearchParams(location.search) };
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return loc;
}

/** `/runs/:id` against `/runs/abc` → `{id: "abc"}`; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const part = p[i]!;
    const seg = s[i]!;
    if (part.startsWith(":")) params[part.slice(1)] = decodeURIComponent(seg);
    else if (part !== seg) return null;
  }
  return params;
}
