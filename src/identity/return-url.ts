/**
 * Return URLs: where a user goes after sign-in, step-up or sign-out. Every return-URL parameter
 * (`return_to`, `rd`, `redirect_uri`, post-logout targets) goes through `validateReturnUrl`, and
 * anything but a plain same-origin path or an absolute `https://` URL to an allowed host is refused.
 *
 * Refused, whatever the allow list says:
 * - scheme-relative and backslash forms: `//evil.example`, `/\evil.example`, `\\evil.example`;
 * - scheme without slashes (`https:evil.example`, `https:/evil.example`) and other schemes
 *   (`javascript:`, `data:`, `ftp:`); `http:` unless allowed (loopback development);
 * - user info (`https://app.example@evil.example`, `https://user:pass@app.example`);
 * - any whitespace or control character, raw or percent-encoded (`%09`, `%0a`, `%00`), and
 *   encoded slashes, backslashes or `@` that decode to one of the forms above (`/%2f%2fevil`,
 *   `%2f%5cevil`), checked through up to three rounds of decoding;
 * - non-ASCII hosts (write IDNs in punycode), and anything over 2048 characters.
 * Hosts are compared exactly (lower case, with the port); an allow-list entry `*.example.com`
 * allows subdomains of example.com (not example.com itself).
 */
import { ZtError } from '../shared/errors.js';

export interface ReturnUrlPolicy {
  /** ztgate's own URL: relative paths resolve against it, and its host is always allowed */
  readonly publicUrl: string;
  /** more hosts (`app.example.com`, `app.example.com:8443`, `*.example.com`): the routes' hosts */
  readonly allowedHosts?: readonly string[];
  /** accept `http://` (only for loopback development) */
  readonly allowHttp?: boolean;
}

export type ReturnUrlResult =
  { readonly ok: true; readonly url: string } | { readonly ok: false; readonly reason: string };

const MAX_LENGTH = 2048;
const CONTROL_OR_SPACE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0020\u007f-\u00a0\u1680\u180e\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]/;

// eslint-disable-next-line no-control-regex
const ENCODED_CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const LEADING_JUNK = /^[\u0000-\u0020]+/;

function decodeOnce(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function refuse(reason: string): ReturnUrlResult {
  return { ok: false, reason };
}

function hostAllowed(host: string, policy: ReturnUrlPolicy, publicHost: string): boolean {
  if (host === publicHost) return true;
  for (const entry of policy.allowedHosts ?? []) {
    const e = entry.toLowerCase();
    if (e === host) return true;
    if (e.startsWith('*.')) {
      const suffix = e.slice(1); // `.example.com` or `.example.com:8443`
      const [hostName, port] = splitPort(host);
      const [suffixName, suffixPort] = splitPort(suffix);
      if (
        port === suffixPort &&
        hostName.endsWith(suffixName) &&
        hostName.length > suffixName.length
      ) {
        return true;
      }
    }
  }
  return false;
}

function splitPort(host: string): [string, string] {
  const m = /^(.*?)(?::(\d+))?$/.exec(host);
  return [m?.[1] ?? host, m?.[2] ?? ''];
}

/** Checks one return-URL parameter; returns the absolute URL to redirect to, or why it is refused. */
export function validateReturnUrl(
  raw: string | null | undefined,
  policy: ReturnUrlPolicy,
): ReturnUrlResult {
  if (raw === null || raw === undefined || raw === '') return refuse('empty');
  if (raw.length > MAX_LENGTH) return refuse('too long');
  if (CONTROL_OR_SPACE.test(raw)) return refuse('whitespace or control character');
  if (raw.includes('\\')) return refuse('backslash');
  if (/[^\u0021-\u007e]/.test(raw)) {
    return refuse('non-ASCII character (percent-encode it, or use punycode for hosts)');
  }
  // Every decoding of the text must still be harmless: some component along the way (a framework,
  // a proxy, an old browser) may decode once more before it follows the URL.
  const rawScheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  let form = raw;
  for (let round = 0; round < 3; round++) {
    const next = decodeOnce(form);
    if (next === undefined) return refuse('malformed percent-encoding');
    if (next === form) break;
    form = next;
    if (ENCODED_CONTROL.test(form)) return refuse('encoded control character');
    if (form.includes('\\')) return refuse('encoded backslash');
    const head = form.replace(LEADING_JUNK, '');
    if (/^[/\\]{2}/.test(head) || head !== form) return refuse('encoded scheme-relative URL');
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(head)?.[1]?.toLowerCase();
    if (scheme !== rawScheme) return refuse('encoded scheme');
    if (rawScheme && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*[@%]/i.test(head)) {
      return refuse('encoded character in the host');
    }
  }

  let publicOrigin: URL;
  try {
    publicOrigin = new URL(policy.publicUrl);
  } catch {
    return refuse('the public URL is malformed');
  }
  const publicHost = publicOrigin.host.toLowerCase();

  if (raw.startsWith('/')) {
    if (raw.startsWith('//')) return refuse('scheme-relative URL');
    let url: URL;
    try {
      url = new URL(raw, publicOrigin.origin);
    } catch {
      return refuse('malformed path');
    }
    if (url.origin !== publicOrigin.origin) return refuse('path resolves to another origin');
    return { ok: true, url: url.href };
  }

  const m = /^(https?):\/\/([^/?#]*)/i.exec(raw);
  if (!m) return refuse('not a path or an http(s) URL with `//`');
  const scheme = (m[1] ?? '').toLowerCase();
  const authority = (m[2] ?? '').toLowerCase();
  if (scheme === 'http' && !policy.allowHttp) return refuse('http is not allowed');
  if (authority.includes('@')) return refuse('user info');
  if (authority === '' || authority.includes('%')) return refuse('malformed host');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('malformed URL');
  }
  if (url.username !== '' || url.password !== '') return refuse('user info');
  // The parser's idea of the host must be the text's: no normalization tricks (`0x7f.1`, trailing dots).
  const parsedHost = url.host.toLowerCase();
  const writtenHost = authority.replace(/:(443|80)$/, (p) =>
    (scheme === 'https' && p === ':443') || (scheme === 'http' && p === ':80') ? '' : p,
  );
  if (parsedHost !== writtenHost) return refuse('ambiguous host');
  if (!hostAllowed(parsedHost, policy, publicHost))
    return refuse(`host \`${parsedHost}\` is not allowed`);
  return { ok: true, url: url.href };
}

/** `validateReturnUrl` that throws `ZT_IDENTITY_RETURN_URL_REFUSED`. */
export function assertReturnUrl(raw: string | null | undefined, policy: ReturnUrlPolicy): string {
  const r = validateReturnUrl(raw, policy);
  if (!r.ok) {
    throw new ZtError('ZT_IDENTITY_RETURN_URL_REFUSED', `the return URL was refused: ${r.reason}`, {
      help: 'return URLs must be paths on ztgate or https:// URLs of a configured route',
    });
  }
  return r.url;
}

/** The allow list for a config: the hosts of every route's `from`. */
export function routeHosts(routes: readonly { readonly from: string }[]): string[] {
  const out = new Set<string>();
  for (const r of routes) {
    try {
      out.add(new URL(r.from).host.toLowerCase());
    } catch {
      // config check reports malformed routes
    }
  }
  return [...out];
}
