/**
 * Request framing checks that Node's HTTP parser does not make for us (or makes only in some
 * modes), each a known request smuggling or host confusion vector. A failed check is a 400: the
 * request is never decided, never forwarded.
 */

export type FramingRejection =
  | 'missing-host'
  | 'duplicate-host'
  | 'bad-host'
  | 'host-userinfo'
  | 'duplicate-content-length'
  | 'bad-content-length'
  | 'content-length-with-transfer-encoding'
  | 'bad-transfer-encoding'
  | 'absolute-form-host-mismatch'
  | 'bad-target';

export interface FramingInput {
  readonly httpVersion: string;
  /** `req.rawHeaders`: names and values alternating, as received */
  readonly rawHeaders: readonly string[];
  /** `req.url` */
  readonly url: string;
}

export type FramingResult =
  | { readonly ok: true; readonly host: string; readonly target: string }
  | { readonly ok: false; readonly reason: FramingRejection };

// A host name or IPv4 address, or a bracketed IPv6 literal, with an optional port.
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

function fail(reason: FramingRejection): FramingResult {
  return { ok: false, reason };
}

/**
 * Checks Host, Content-Length, Transfer-Encoding and the request target. Returns the host to route
 * on (lower-case) and the origin-form target.
 */
export function checkFraming(req: FramingInput): FramingResult {
  let host: string | undefined;
  let hosts = 0;
  let contentLengths = 0;
  let transferEncoding: string | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name === 'host') {
      hosts++;
      host = value.trim();
    } else if (name === 'content-length') {
      contentLengths++;
      if (!/^[0-9]{1,15}$/.test(value.trim())) return fail('bad-content-length');
    } else if (name === 'transfer-encoding') {
      if (transferEncoding !== undefined) return fail('bad-transfer-encoding');
      transferEncoding = value.trim().toLowerCase();
    }
  }
  if (hosts > 1) return fail('duplicate-host');
  if (contentLengths > 1) return fail('duplicate-content-length');
  if (transferEncoding !== undefined) {
    if (contentLengths > 0) return fail('content-length-with-transfer-encoding');
    if (transferEncoding !== 'chunked') return fail('bad-transfer-encoding');
  }
  // Routing is by host, so even HTTP/1.0 (where Host is optional) must send one.
  if (host === undefined || host === '') return fail('missing-host');
  if (host.includes('@')) return fail('host-userinfo');
  if (!HOST.test(host)) return fail('bad-host');
  const port = /:(\d+)$/.exec(host)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return fail('bad-host');

  let target = req.url;
  if (!target.startsWith('/')) {
    // absolute-form (`GET https://app.example.com/x`): allowed only when it names the same host.
    // Split it by hand: WHATWG URL would rewrite the path (`\` to `/`, dot segments resolved,
    // tabs dropped) before normalizeTarget could refuse it.
    const m = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(target);
    if (!m) return fail('bad-target');
    const authority = m[2] ?? '';
    if (authority.includes('@')) return fail('bad-target');
    if (!HOST.test(authority) || !sameHost(authority, host)) {
      return fail(HOST.test(authority) ? 'absolute-form-host-mismatch' : 'bad-target');
    }
    const rest = m[3] ?? '';
    target = rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
  }
  return { ok: true, host: host.toLowerCase(), target };
}

function sameHost(a: string, b: string): boolean {
  const strip = (h: string) =>
    h
      .toLowerCase()
      .replace(/\.$/, '')
      .replace(/:(80|443)$/, '');
  return strip(a) === strip(b);
}
