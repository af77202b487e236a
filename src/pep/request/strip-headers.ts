/**
 * Headers a client must never be able to set: the identity ztgate asserts to the upstream, and the
 * forwarding headers ztgate writes itself. Node lower-cases header names but keeps `_`, and many
 * upstream frameworks (CGI, PHP, Rails, nginx with underscores_in_headers) treat `_` and `-` alike,
 * so `X_Ztgate_User` must go too.
 */
import type { IncomingHttpHeaders } from 'node:http';

// Every header some proxy or framework reads as "what the client really was or asked for".
const FORWARDING = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-prefix',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-forwarded-server',
  'x-original-uri',
  'x-original-url',
  'x-original-method',
  'x-original-host',
  'x-real-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'true-client-ip',
]);

/**
 * The admin API's CSRF proof (`X-Ztgate-Csrf: 1`, docs/admin.md): a header ztgate's own pages send
 * and never asserts to an upstream, so it must reach the public host's handlers. Only this exact
 * spelling passes; `X_Ztgate_Csrf` is stripped like any other `x-ztgate-*` look-alike.
 */
export const CSRF_MARKER_HEADER = 'x-ztgate-csrf';

/** `x-ztgate-*` in any case and with `_` or `-`, except the CSRF marker above. */
export function isIdentityHeader(name: string): boolean {
  if (name.length < 9) return false;
  if (name.toLowerCase() === CSRF_MARKER_HEADER) return false;
  const n = name.slice(0, 9).toLowerCase().replace(/_/g, '-');
  return n === 'x-ztgate-';
}

/** `Forwarded` and `X-Forwarded-*`/`X-Real-IP`, in any case and with `_` or `-`. */
export function isForwardingHeader(name: string): boolean {
  return FORWARDING.has(name.toLowerCase().replace(/_/g, '-'));
}

/**
 * Removes identity headers always, and forwarding headers unless the peer is a trusted proxy.
 * Returns the names removed (for the access log; values are never logged).
 */
export function stripClientHeaders(
  headers: IncomingHttpHeaders,
  peerIsTrustedProxy: boolean,
): string[] {
  const removed: string[] = [];
  for (const name of Object.keys(headers)) {
    if (isIdentityHeader(name) || (!peerIsTrustedProxy && isForwardingHeader(name))) {
      delete headers[name];
      removed.push(name);
    }
  }
  return removed;
}
