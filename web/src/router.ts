/**
 * A router small enough to read: the location's path is the state; links inside the app change it
 * with `history.pushState` and everyone listening re-renders. The server answers every path under
 * `/console/` and `/portal/` with the same page, so deep links and reloads work.
 */
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  for (const l of listeners) l();
  // a new page: move focus to its heading region, as a full page load would
  requestAnimationFrame(() => document.getElementById('main')?.focus());
}

addEventListener('popstate', () => {
  for (const l of listeners) l();
});

/** The current path (and query), kept up to date. */
export function useLocation(): { path: string; search: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = (): void => setTick((t) => t + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return { path: location.pathname, search: new URLSearchParams(location.search) };
}

/** Clicks on same-origin links inside the app become pushState navigations. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
    return;
  const a = (e.target as Element | null)?.closest('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  if (!url.pathname.startsWith('/console') && !url.pathname.startsWith('/portal')) return;
  if (url.pathname.split('/')[1] !== location.pathname.split('/')[1]) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
}

/** Matches `/console/devices/:id` style patterns; values are decoded. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (p.length !== s.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i] ?? '';
    const got = s[i] ?? '';
    if (want.startsWith(':')) {
      if (got === '') return undefined;
      try {
        out[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return undefined;
      }
    } else if (want !== got) return undefined;
  }
  return out;
}
