/**
 * Headers between client and upstream. Hop-by-hop headers (RFC 9110 section 7.6.1) describe one
 * connection and are never forwarded: `Connection` and every header it names, `Keep-Alive`, `TE`,
 * `Trailer`, `Transfer-Encoding`, `Upgrade` (kept only to open a WebSocket), `Proxy-*` and
 * HTTP/2's pseudo-headers and `HTTP2-Settings`. Node frames each side's body itself.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'host',
]);

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  let tokens: Set<string> | undefined;
  for (const t of text.split(',')) {
    const name = t.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive' || name === 'upgrade') continue;
    (tokens ??= new Set()).add(name);
  }
  return tokens;
}

function skip(name: string, named: Set<string> | undefined): boolean {
  return (
    name.charCodeAt(0) === 58 /* `:` pseudo-header */ ||
    HOP_BY_HOP.has(name) ||
    name.startsWith('proxy-') ||
    (named !== undefined && named.has(name))
  );
}

/**
 * The end-to-end request headers of `headers` (already stripped of client identity and untrusted
 * forwarding headers), as a new object the caller completes (Host, X-Forwarded-*, identity).
 */
export function endToEndRequestHeaders(
  headers: IncomingHttpHeaders,
): Record<string, string | string[]> {
  const named = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (skip(name, named)) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** The end-to-end response headers of an upstream response, for the client. */
export function endToEndResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (skip(name, named)) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** True when the request asks to become a WebSocket (`Upgrade: websocket`). */
export function isWebSocketUpgrade(headers: IncomingHttpHeaders): boolean {
  const u = headers.upgrade;
  return typeof u === 'string' && u.trim().toLowerCase() === 'websocket';
}

/**
 * A header value ztgate writes from identity data: visible ASCII is kept, anything else
 * (non-ASCII names, control characters) is percent-encoded so that it can neither break the
 * header nor be refused by Node.
 */
export function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/** Removes one cookie by name from a `Cookie` header; undefined when nothing is left. */
export function withoutCookie(header: string, name: string): string | undefined {
  if (!header.includes(name)) return header;
  const kept = header
    .split(';')
    .filter((part) => {
      const eq = part.indexOf('=');
      return (eq < 0 ? part : part.slice(0, eq)).trim() !== name;
    })
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return kept.length > 0 ? kept.join('; ') : undefined;
}
