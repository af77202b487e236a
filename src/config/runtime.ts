/**
 * The `proxy:` and `pki:` sections of a loaded config in the form the components take them:
 * durations in milliseconds, the access log as a target, the trust domain resolved. A loaded config
 * is valid, so these never fail on one; they throw `ZT_CONFIG_INVALID_DURATION` only for a section
 * built by hand with a bad duration.
 *
 * The names match the options of `createProxy` (src/pep/options.ts) where there is one, so that the
 * server can pass them on; this module does not import the proxy (config imports only shared).
 */
import { parseDuration } from '../shared/duration.js';
import { ZtError } from '../shared/errors.js';
import { isAccessLogFile } from './check.js';
import type { Config, PkiConfig, ProxyConfig } from './schema.js';

/** Where the access log goes. A file path is absolute in a loaded config. */
export type AccessLogTarget =
  | { readonly kind: 'stdout' }
  | { readonly kind: 'stderr' }
  | { readonly kind: 'off' }
  | { readonly kind: 'file'; readonly path: string };

export interface ProxySettings {
  readonly trustedProxies: readonly string[];
  readonly maxBodyBytes: number;
  readonly upstreamTimeoutMs: number;
  readonly upstreamMaxFreeSockets: number;
  readonly clientKeepAliveMs: number;
  /** how long `close()` lets running requests finish on SIGTERM (`proxy.close(drainMs)`) */
  readonly drainMs: number;
  readonly tunnelRecheckMs: number;
  readonly decisionCache: { readonly maxEntries: number; readonly ttlMs: number } | false;
  readonly accessLog: AccessLogTarget;
}

export interface PkiSettings {
  /** `pki.trust_domain`, else the host of `public_url` (lower case) */
  readonly trustDomain: string;
  readonly serverCertTtlMs: number;
  readonly deviceCertTtlMs: number;
  readonly svidTtlMs: number;
}

/** Milliseconds of a duration from a loaded config. */
export function durationMs(text: string, key: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new ZtError('ZT_CONFIG_INVALID_DURATION', `\`${key}\` is not a duration`, {
      help: 'load the config with loadConfigFile, which checks every duration',
    });
  }
  return ms;
}

export function accessLogTarget(value: string): AccessLogTarget {
  if (!isAccessLogFile(value)) return { kind: value as 'stdout' | 'stderr' | 'off' };
  return { kind: 'file', path: value };
}

export function proxySettings(proxy: ProxyConfig): ProxySettings {
  const cache = proxy.decision_cache;
  return {
    trustedProxies: proxy.trusted_proxies,
    maxBodyBytes: proxy.max_request_body,
    upstreamTimeoutMs: durationMs(proxy.upstream_timeout, 'proxy.upstream_timeout'),
    upstreamMaxFreeSockets: proxy.upstream_idle_connections,
    clientKeepAliveMs: durationMs(proxy.client_keepalive, 'proxy.client_keepalive'),
    drainMs: durationMs(proxy.drain_timeout, 'proxy.drain_timeout'),
    tunnelRecheckMs: durationMs(proxy.tunnel_recheck, 'proxy.tunnel_recheck'),
    decisionCache:
      cache === false
        ? false
        : {
            maxEntries: cache.max_entries,
            ttlMs: durationMs(cache.ttl, 'proxy.decision_cache.ttl'),
          },
    accessLog: accessLogTarget(proxy.access_log),
  };
}

export function pkiSettings(config: {
  readonly pki: PkiConfig;
  readonly public_url: Config['public_url'];
}): PkiSettings {
  const { pki } = config;
  return {
    trustDomain: pki.trust_domain ?? defaultTrustDomain(config.public_url),
    serverCertTtlMs: durationMs(pki.server_cert_ttl, 'pki.server_cert_ttl'),
    deviceCertTtlMs: durationMs(pki.device_cert_ttl, 'pki.device_cert_ttl'),
    svidTtlMs: durationMs(pki.svid_ttl, 'pki.svid_ttl'),
  };
}

/** The host of `public_url`, lower case: the trust domain when `pki.trust_domain` is absent. */
export function defaultTrustDomain(publicUrl: string): string {
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    throw new ZtError('ZT_CONFIG_INVALID_URL', '`public_url` is not a URL', {
      help: 'load the config with loadConfigFile, which checks `public_url`',
    });
  }
  return url.hostname.toLowerCase();
}
