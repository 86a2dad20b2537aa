/**
 * Hash routing: `#/workspaces/acme/projects/web/pipelines/3?tab=runs`. Views are chosen by a table of
 * patterns; segments are URL-decoded, `:name` captures one.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  segs: string[];
  query: URLSearchParams;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseHash(hash = location.hash): Route {
  let raw = hash.replace(/^#/, '');
  const qi = raw.indexOf('?');
  const query = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  if (qi >= 0) raw = raw.slice(0, qi);
  return { segs: raw.split('/').filter(Boolean).map(decode), query };
}

/** `#/a/b c` from segments, each encoded; `query` adds `?k=v`. */
export function href(segs: (string | number)[], query?: Record<string, string>): string {
  const q = query ? new URLSearchParams(query).toString() : '';
  return '#/' + segs.map((s) => encodeURIComponent(String(s))).join('/') + (q ? `?${q}` : '');
}

export function navigate(to: string, replace = false): void {
  if (replace) {
    history.replaceState(null, '', to);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else location.hash = to.replace(/^#/, '');
}

/** Matches `segs` against a pattern like "workspaces/:ws/projects/:project"; the captures, or null. */
export function match(pattern: string, segs: string[]): Record<string, string> | null {
  const parts = pattern.split('/').filter(Boolean);
  if (parts.length !== segs.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    const s = segs[i] as string;
    if (p.startsWith(':')) out[p.slice(1)] = s;
    else if (p !== s) return null;
  }
  return out;
}

/** The current route, re-rendering on every hash change. */
export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = (): void => setRoute(parseHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
