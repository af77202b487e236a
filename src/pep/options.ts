/**
 * Options of `createProxy`, with their defaults. `ztgate serve` fills them from the `proxy:`
 * section of ztgate.yaml (src/config/runtime.ts `proxySettings`, docs/proxy.md "Configuration").
 */
import type { JWK } from 'jose';
import type { PolicyEngine, RouteSource } from '../pdp/index.js';
import type { AssertionSigner } from './assertion/assertion.js';
import type { AuditPort, Clock, DeviceFactsPort, IdentityPort, ReadinessCheck } from './ports.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/** The part of a config route the proxy uses (`Route` of src/config/schema.ts fits). */
export interface ProxyRoute extends RouteSource {
  readonly from: string;
  /** `http://` or `https://` upstream; a path in it is prefixed to every upstream path */
  readonly to: string;
  readonly mode: 'enforce' | 'audit';
  readonly identity_headers: boolean;
  /** send the client's `Host` upstream for this route (overrides `preserveHost`) */
  readonly preserve_host?: boolean;
}

export type Pem = string | Buffer;

export interface ListenAddress {
  readonly host: string;
  /** 0 picks a free port (tests) */
  readonly port: number;
}

/** TLS towards an `https://` upstream. */
export interface UpstreamTls {
  /** CA certificates to verify the upstream with (default: the system's) */
  readonly ca?: Pem;
  /** client certificate and key for mTLS to the upstream */
  readonly cert?: Pem;
  readonly key?: Pem;
  /** SNI and name to verify (default: the upstream host) */
  readonly servername?: string;
}

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/**
 * Handles requests for the public host that are not the proxy's own (`/api/authz/*`, JWKS,
 * health): sign-in pages, portal, admin. Mounted by the composition root.
 */
export type PublicHandler = (req: AnyRequest, res: AnyResponse) => void;

export interface DecisionCacheOptions {
  /** entries kept at most (oldest evicted first); default 10,000 */
  readonly maxEntries?: number;
  /** longest an entry is reused; default 10 s */
  readonly ttlMs?: number;
}

export interface ProxyOptions {
  /** compiled policies and routes; swap with `proxy.policyChanged(engine)` */
  readonly engine: PolicyEngine<ProxyRoute>;
  /** ztgate's own `https://` URL: forward-auth, JWKS, health; the `iss` of assertions */
  readonly publicUrl: string;
  readonly tls: {
    readonly cert: Pem;
    readonly key: Pem;
    /** CA of device certificates; when set, clients are asked for a certificate */
    readonly clientCa?: Pem;
  };
  /** default 127.0.0.1:8443 */
  readonly listen?: ListenAddress;
  /** Prometheus `/metrics`, `/healthz`, `/readyz` on a separate plain-HTTP listener; off when absent */
  readonly metricsListen?: ListenAddress;

  readonly identity: IdentityPort;
  /** device facts; without it every request has no device */
  readonly devices?: DeviceFactsPort;
  readonly audit: AuditPort;
  /** signs `X-Ztgate-Jwt-Assertion` */
  readonly assertions: AssertionSigner;
  /** the JWKS served at `{public_url}/.well-known/ztgate/jwks.json`; not served when absent */
  readonly jwks?: () => { keys: JWK[] };
  readonly clock?: Clock;
  /** `/readyz`; default always ready */
  readonly ready?: ReadinessCheck;
  /**
   * one JSON line per request (no newline); default: stdout, batched (./observe/line-buffer.ts);
   * an injected writer should batch too (a system call per request is a measurable cost)
   */
  readonly accessLog?: (line: string) => void;
  /** coded warnings and errors, one JSON line each; default stderr */
  readonly log?: (line: string) => void;
  readonly publicHandler?: PublicHandler;

  /**
   * CIDRs of proxies (load balancers, nginx, Caddy) whose `X-Forwarded-*`/`Forwarded`/
   * `X-Original-*` headers are believed; every other peer's copies are removed. Default none.
   */
  readonly trustedProxies?: readonly string[];
  /** largest request body forwarded; default 10 MiB (413 beyond) */
  readonly maxBodyBytes?: number;
  /** an upstream silent for this long (no connection, no response, no body bytes) gets 504; default 30 s */
  readonly upstreamTimeoutMs?: number;
  /** idle keep-alive connections per upstream kept open; default 64 */
  readonly upstreamMaxFreeSockets?: number;
  /** TLS to `https://` upstreams: one setting for all, or per upstream origin */
  readonly upstreamTls?: UpstreamTls | ((origin: string) => UpstreamTls | undefined);
  /** send the client's `Host` to the upstream instead of the upstream's own; default false */
  readonly preserveHost?: boolean;
  /** ztgate's session cookie, removed from the `Cookie` header sent upstream; null keeps it */
  readonly sessionCookieName?: string | null;
  /** false turns the decision cache off */
  readonly decisionCache?: DecisionCacheOptions | false;
  /** open WebSockets are decided again this often (session expiry, MFA age, time windows); default 60 s */
  readonly tunnelRecheckMs?: number;
  /** idle keep-alive timeout of client connections; default 65 s */
  readonly clientKeepAliveMs?: number;
}

export const DEFAULTS = {
  listen: { host: '127.0.0.1', port: 8443 },
  maxBodyBytes: 10 * 1024 * 1024,
  upstreamTimeoutMs: 30_000,
  upstreamMaxFreeSockets: 64,
  sessionCookieName: '__Host-ztgate_session',
  decisionCacheEntries: 10_000,
  decisionCacheTtlMs: 10_000,
  tunnelRecheckMs: 60_000,
  clientKeepAliveMs: 65_000,
} as const;
