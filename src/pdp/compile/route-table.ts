/**
 * The route index: which route serves a request, by host and path prefix. Exact hosts first, then
 * a wildcard for the first label (`*.example.com`); within a host the longest path prefix wins,
 * matched on segment boundaries (`/api` serves `/api` and `/api/x`, not `/apix`).
 * Hosts compare case-insensitively; port 443 is implied.
 */
export interface RouteLike {
  readonly from: string;
}

interface Entry<R> {
  readonly prefix: string;
  readonly route: R;
}

export class RouteTable<R extends RouteLike> {
  private constructor(private readonly byHost: ReadonlyMap<string, readonly Entry<R>[]>) {}

  /** Builds the index. Routes whose `from` is not a URL are reported and left out. */
  static build<R extends RouteLike>(
    routes: readonly R[],
  ): { table: RouteTable<R>; invalid: number[] } {
    const byHost = new Map<string, Entry<R>[]>();
    const invalid: number[] = [];
    routes.forEach((route, i) => {
      const key = routeKey(route.from);
      if (!key) {
        invalid.push(i);
        return;
      }
      const list = byHost.get(key.host) ?? [];
      list.push({ prefix: key.prefix, route });
      byHost.set(key.host, list);
    });
    for (const list of byHost.values()) list.sort((a, b) => b.prefix.length - a.prefix.length);
    return { table: new RouteTable(byHost), invalid };
  }

  /** `host` as in the Host header (`App.Example.com:443`); `path` normalized. */
  match(host: string, path: string): R | undefined {
    const h = normalizeHost(host);
    const exact = this.byHost.get(h);
    const found = exact && pick(exact, path);
    if (found) return found;
    const dot = h.indexOf('.');
    if (dot < 0) return undefined;
    const wild = this.byHost.get(`*${h.slice(dot)}`);
    return wild && pick(wild, path);
  }

  get size(): number {
    let n = 0;
    for (const list of this.byHost.values()) n += list.length;
    return n;
  }
}

function pick<R>(entries: readonly Entry<R>[], path: string): R | undefined {
  for (const e of entries) {
    const p = e.prefix;
    if (
      p === '/' ||
      path === p ||
      (path.startsWith(p) && (p.endsWith('/') || path.charCodeAt(p.length) === 47))
    ) {
      return e.route;
    }
  }
  return undefined;
}

export function normalizeHost(host: string): string {
  let h = host.toLowerCase();
  if (h.endsWith(':443')) h = h.slice(0, -4);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function routeKey(from: string): { host: string; prefix: string } | undefined {
  // `*.example.com` is not a valid URL host: parse with a placeholder label, then put it back.
  const wildcard = /^https:\/\/\*\./i.test(from);
  let url: URL;
  try {
    url = new URL(wildcard ? from.replace(/^https:\/\/\*\./i, 'https://wildcard-label.') : from);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:') return undefined;
  let host = url.host.toLowerCase();
  if (wildcard) host = `*${host.slice('wildcard-label'.length)}`;
  const prefix =
    url.pathname.length > 1 && url.pathname.endsWith('/')
      ? url.pathname.slice(0, -1)
      : url.pathname;
  return { host: normalizeHost(host), prefix: prefix || '/' };
}
