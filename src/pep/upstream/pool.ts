/**
 * One keep-alive connection pool per upstream origin (`http://127.0.0.1:9000`), shared by every
 * route that forwards there. `https://` upstreams are verified against the system CAs or the CA
 * given for them, and may present a client certificate (mTLS). WebSocket tunnels take their own
 * connections (an upgraded socket never returns to a pool).
 */
import http from 'node:http';
import https from 'node:https';
import type { UpstreamTls } from '../options.js';

export interface Upstream {
  readonly origin: string;
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
  /** the path of `to` without its trailing slash (`''` for the root) */
  readonly basePath: string;
  /** `Host` sent upstream unless the host is preserved */
  readonly hostHeader: string;
  readonly agent: http.Agent;
  /** for upgrades: no keep-alive */
  readonly tunnelAgent: http.Agent;
  readonly request: typeof http.request;
}

export interface PoolOptions {
  readonly maxFreeSockets: number;
  readonly tls: UpstreamTls | ((origin: string) => UpstreamTls | undefined) | undefined;
}

export class UpstreamPool {
  private readonly byOrigin = new Map<string, Omit<Upstream, 'basePath'>>();
  private readonly byTo = new Map<string, Upstream>();

  constructor(private readonly options: PoolOptions) {}

  /** The upstream of a route's `to`; throws a TypeError when `to` is not an http(s) URL. */
  get(to: string): Upstream {
    const known = this.byTo.get(to);
    if (known) return known;
    const url = new URL(to);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`upstream \`${to}\` is not an http:// or https:// URL`);
    }
    const origin = url.origin;
    let base = this.byOrigin.get(origin);
    if (!base) {
      base = this.create(url);
      this.byOrigin.set(origin, base);
    }
    const path = url.pathname.replace(/\/+$/, '');
    const upstream: Upstream = { ...base, basePath: path };
    this.byTo.set(to, upstream);
    return upstream;
  }

  /** Closes every pooled connection. */
  destroy(): void {
    for (const u of this.byOrigin.values()) {
      u.agent.destroy();
      u.tunnelAgent.destroy();
    }
    this.byOrigin.clear();
    this.byTo.clear();
  }

  private create(url: URL): Omit<Upstream, 'basePath'> {
    const secure = url.protocol === 'https:';
    const port = url.port !== '' ? Number(url.port) : secure ? 443 : 80;
    // URL keeps IPv6 literals in brackets; sockets want them bare.
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const common = {
      keepAlive: true,
      keepAliveMsecs: 1000,
      maxFreeSockets: this.options.maxFreeSockets,
      scheduling: 'lifo' as const,
      timeout: 60_000,
    };
    let agent: http.Agent;
    let tunnelAgent: http.Agent;
    if (secure) {
      const t =
        typeof this.options.tls === 'function' ? this.options.tls(url.origin) : this.options.tls;
      const tls = {
        ...(t?.ca !== undefined ? { ca: t.ca } : {}),
        ...(t?.cert !== undefined ? { cert: t.cert } : {}),
        ...(t?.key !== undefined ? { key: t.key } : {}),
        ...(t?.servername !== undefined ? { servername: t.servername } : {}),
        minVersion: 'TLSv1.2' as const,
        rejectUnauthorized: true,
      };
      agent = new https.Agent({ ...common, ...tls });
      tunnelAgent = new https.Agent({ ...tls, keepAlive: false });
    } else {
      agent = new http.Agent(common);
      tunnelAgent = new http.Agent({ keepAlive: false });
    }
    const defaultPort = secure ? 443 : 80;
    return {
      origin: url.origin,
      secure,
      hostname,
      port,
      hostHeader: port === defaultPort ? url.hostname : `${url.hostname}:${port}`,
      agent,
      tunnelAgent,
      request: secure ? https.request : http.request,
    };
  }
}
