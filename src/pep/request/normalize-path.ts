/**
 * One canonical path for the decision and for the upstream request.
 *
 * The classic bypasses of path-based access control all come from the proxy and the application
 * disagreeing about which resource a request names (`/admin%2fusers`, `/public/..%2fadmin`,
 * `/admin\users`, overlong UTF-8 `%c0%ae`, `//admin`). So ztgate decides on exactly one reading
 * and sends the upstream that same reading, re-encoded:
 *
 * 1. the raw target must be origin-form (`/...`); only RFC 3986 path characters and `%XX`;
 * 2. percent-decode once; the bytes must be valid UTF-8 (TextDecoder fatal: no overlong forms,
 *    no surrogates); an encoded `/` (`%2f`), `\` (`%5c`), NUL or any control character is refused,
 *    since its meaning differs between servers;
 * 3. empty segments are merged (`//` -> `/`), `.` segments dropped, `..` segments resolved; a `..`
 *    above the root is refused;
 * 4. the upstream path is the canonical path percent-encoded again (so `%25` stays a literal `%`).
 *
 * The query string is kept as sent (after a character check); it is not part of the decision.
 */

export type PathRejection =
  | 'not-origin-form'
  | 'bad-character'
  | 'bad-percent-encoding'
  | 'encoded-slash'
  | 'encoded-backslash'
  | 'encoded-control'
  | 'invalid-utf8'
  | 'above-root'
  | 'too-long';

export type NormalizedTarget =
  | {
      readonly ok: true;
      readonly path: string;
      readonly upstreamPath: string;
      readonly query: string;
    }
  | { readonly ok: false; readonly reason: PathRejection };

/** Longest request target accepted (nginx's default large header buffer is 8 KiB). */
export const MAX_TARGET_LENGTH = 8192;

// RFC 3986 pchar without `%`: unreserved / sub-delims / ":" / "@", plus "/" as separator.
const PATH_CHAR = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/") {
  PATH_CHAR[c.charCodeAt(0)] = 1;
}
// Query characters: pchar plus "/" and "?".
const QUERY_CHAR = PATH_CHAR.slice();
QUERY_CHAR['?'.charCodeAt(0)] = 1;
QUERY_CHAR['%'.charCodeAt(0)] = 1;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function reject(reason: PathRejection): NormalizedTarget {
  return { ok: false, reason };
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Normalizes an origin-form request target (`req.url`). */
export function normalizeTarget(target: string): NormalizedTarget {
  if (target.length > MAX_TARGET_LENGTH) return reject('too-long');
  if (target.charCodeAt(0) !== 47) return reject('not-origin-form');
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c >= 128 || QUERY_CHAR[c] !== 1) return reject('bad-character');
  }

  // Fast path: nothing encoded and no dot or empty segment: the target is already canonical.
  let simple = true;
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === 37) {
      simple = false;
      continue;
    }
    if (c >= 128 || PATH_CHAR[c] !== 1) return reject('bad-character');
    if (c === 47 && i > 0 && rawPath.charCodeAt(i - 1) === 47) simple = false;
    if (c === 46 && rawPath.charCodeAt(i - 1) === 47) simple = false;
  }
  if (simple) return { ok: true, path: rawPath, upstreamPath: rawPath, query };

  const decoded = decodeOnce(rawPath);
  if (typeof decoded !== 'string') return reject(decoded.reason);
  const resolved = resolveSegments(decoded);
  if (resolved === undefined) return reject('above-root');
  return { ok: true, path: resolved, upstreamPath: encodePath(resolved), query };
}

function decodeOnce(raw: string): string | { reason: PathRejection } {
  if (raw.indexOf('%') < 0) return raw;
  const bytes = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 37) {
      bytes[n++] = c;
      continue;
    }
    const hi = hexValue(raw.charCodeAt(i + 1));
    const lo = hexValue(raw.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return { reason: 'bad-percent-encoding' };
    const b = hi * 16 + lo;
    if (b === 0x2f) return { reason: 'encoded-slash' };
    if (b === 0x5c) return { reason: 'encoded-backslash' };
    if (b < 0x20 || b === 0x7f) return { reason: 'encoded-control' };
    bytes[n++] = b;
    i += 2;
  }
  try {
    return utf8.decode(bytes.subarray(0, n));
  } catch {
    return { reason: 'invalid-utf8' };
  }
}

/** Merges empty segments, drops `.`, resolves `..`; undefined when `..` climbs above the root. */
function resolveSegments(path: string): string | undefined {
  const parts = path.split('/');
  const out: string[] = [];
  const last = parts.length - 1;
  let trailing = false;
  for (let i = 1; i <= last; i++) {
    const seg = parts[i] as string;
    if (seg === '' || seg === '.') {
      if (i === last) trailing = true;
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      if (i === last) trailing = true;
      continue;
    }
    out.push(seg);
    trailing = false;
  }
  if (out.length === 0) return '/';
  return `/${out.join('/')}${trailing ? '/' : ''}`;
}

/** Percent-encodes everything but unreserved, sub-delims, `:`, `@` and the `/` separators. */
export function encodePath(path: string): string {
  let plain = true;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c >= 128 || PATH_CHAR[c] !== 1) {
      plain = false;
      break;
    }
  }
  if (plain) return path;
  return path
    .split('/')
    .map((seg) =>
      encodeURIComponent(seg).replace(/%(3A|40|21|24|26|27|28|29|2A|2B|2C|3B|3D)/gi, (m) =>
        decodeURIComponent(m),
      ),
    )
    .join('/');
}
