/**
 * What every request of one proxy shares: the policy engine (swapped whole on a policy change),
 * the ports, the upstream pools, the decision cache, the open tunnels, metrics and logs.
 */
import type { CompiledPolicy, PolicyEngine } from '../pdp/index.js';
import { normalizeHost } from '../pdp/index.js';
import type { ErrorCode } from '../shared/errors.js';
import type { AssertionSigner } from './assertion/assertion.js';
import { DecisionCache } from './decide/decision-cache.js';
import { profileOf, type PolicyProfile } from './decide/policy-profile.js';
import { TrustedProxies } from './net/addresses.js';
import { lineBuffer } from './observe/line-buffer.js';
import { Metrics } from './observe/metrics.js';
import { DEFAULTS, type ProxyOptions, type ProxyRoute } from './options.js';
import {
  systemClock,
  type AuditPort,
  type Clock,
  type DeviceFactsPort,
  type IdentityPort,
} from './ports.js';
import { TunnelRegistry } from './tunnel/registry.js';
import { UpstreamPool, type Upstream } from './upstream/pool.js';

export interface RouteRuntime {
  /** unique per route and engine: part of decision cache keys */
  readonly key: number;
  readonly route: ProxyRoute;
  /** undefined when the route names no compiled policy: every decision is a deny */
  readonly policy: CompiledPolicy | undefined;
  readonly profile: PolicyProfile | undefined;
  /** undefined when `to` is not an http(s) URL: 502 */
  readonly upstream: Upstream | undefined;
}

export interface Limits {
  readonly maxBodyBytes: number;
  readonly upstreamTimeoutMs: number;
  readonly preserveHost: boolean;
  readonly sessionCookieName: string | null;
  readonly tunnelRecheckMs: number;
  readonly clientKeepAliveMs: number;
}

export class Runtime {
  engine: PolicyEngine<ProxyRoute>;
  private routes = new WeakMap<ProxyRoute, RouteRuntime>();
  private nextRouteKey = 1;
  readonly clock: Clock;
  readonly identity: IdentityPort;
  readonly devices: DeviceFactsPort | undefined;
  readonly audit: AuditPort;
  readonly assertions: AssertionSigner;
  readonly trusted: TrustedProxies;
  readonly pool: UpstreamPool;
  readonly cache: DecisionCache | undefined;
  readonly metrics = new Metrics();
  readonly tunnels = new TunnelRegistry();
  readonly limits: Limits;
  /** the public host (`auth.example.com`, with a non-default port) */
  readonly publicHost: string;
  readonly publicUrl: string;
  readonly accessLog: (line: string) => void;
  /** flushes the default (buffered stdout) access log; a no-op for an injected writer */
  readonly flushAccessLog: () => void;
  private readonly logLine: (line: string) => void;
  draining = false;

  constructor(readonly options: ProxyOptions) {
    this.engine = options.engine;
    this.clock = options.clock ?? systemClock;
    this.identity = options.identity;
    this.devices = options.devices;
    this.audit = options.audit;
    this.assertions = options.assertions;
    this.trusted = new TrustedProxies(options.trustedProxies ?? []);
    this.pool = new UpstreamPool({
      maxFreeSockets: options.upstreamMaxFreeSockets ?? DEFAULTS.upstreamMaxFreeSockets,
      tls: options.upstreamTls,
    });
    const dc = options.decisionCache;
    this.cache =
      dc === false
        ? undefined
        : new DecisionCache(
            dc?.maxEntries ?? DEFAULTS.decisionCacheEntries,
            dc?.ttlMs ?? DEFAULTS.decisionCacheTtlMs,
          );
    this.limits = {
      maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
      upstreamTimeoutMs: options.upstreamTimeoutMs ?? DEFAULTS.upstreamTimeoutMs,
      preserveHost: options.preserveHost ?? false,
      sessionCookieName:
        options.sessionCookieName === undefined
          ? DEFAULTS.sessionCookieName
          : options.sessionCookieName,
      tunnelRecheckMs: options.tunnelRecheckMs ?? DEFAULTS.tunnelRecheckMs,
      clientKeepAliveMs: options.clientKeepAliveMs ?? DEFAULTS.clientKeepAliveMs,
    };
    const url = new URL(options.publicUrl);
    if (url.protocol !== 'https:') throw new TypeError('publicUrl must be an https:// URL');
    this.publicUrl = url.origin;
    this.publicHost = normalizeHost(url.host);
    if (options.accessLog !== undefined) {
      this.accessLog = options.accessLog;
      this.flushAccessLog = () => undefined;
    } else {
      const buffer = lineBuffer((chunk) => process.stdout.write(chunk));
      this.accessLog = (line) => buffer.line(line);
      this.flushAccessLog = () => buffer.flush();
    }
    this.logLine = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** The per-route state, built once per route object (a new engine brings new objects). */
  routeRuntime(route: ProxyRoute): RouteRuntime {
    let rr = this.routes.get(route);
    if (rr) return rr;
    const policy = this.engine.policyFor(route);
    let upstream: Upstream | undefined;
    try {
      upstream = this.pool.get(route.to);
    } catch {
      upstream = undefined;
      this.log(
        'error',
        'ZT_PEP_UPSTREAM_UNREACHABLE',
        `route \`${route.from}\` has an invalid upstream`,
      );
    }
    rr = {
      key: this.nextRouteKey++,
      route,
      policy,
      profile: policy ? profileOf(policy) : undefined,
      upstream,
    };
    this.routes.set(route, rr);
    return rr;
  }

  /** Swaps the engine: new route states, an empty decision cache. */
  setEngine(engine: PolicyEngine<ProxyRoute>): void {
    this.engine = engine;
    this.routes = new WeakMap();
    this.cache?.clear();
  }

  isPublicHost(routeHost: string): boolean {
    return routeHost === this.publicHost;
  }

  /** One JSON log line with a code; never a secret in `message` or `fields`. */
  log(
    level: 'info' | 'warn' | 'error',
    code: ErrorCode,
    message: string,
    fields: Record<string, unknown> = {},
  ): void {
    try {
      this.logLine(
        JSON.stringify({
          time: new Date(this.clock.now()).toISOString(),
          level,
          code,
          msg: message,
          ...fields,
        }),
      );
    } catch {
      // a failing log writer must not fail requests
    }
  }
}
