/**
 * The session cookie and the small cookie toolkit identity needs (no dependency: the parsing rules
 * are few and must be strict).
 *
 * `__Host-ztgate_session`: the `__Host-` prefix makes browsers refuse the cookie unless it is
 * Secure, has Path=/ and no Domain, so no other host (a compromised sibling subdomain) can set or
 * overwrite it. HttpOnly keeps it from scripts; SameSite=Lax keeps it off cross-site subrequests
 * and POSTs while letting a top-level link sign the user straight in.
 */
import { randomBytes } from 'node:crypto';

export const SESSION_COOKIE = '__Host-ztgate_session';

/** 32 random bytes from the CSPRNG, base64url: 43 characters, 256 bits. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export function isWellFormedSessionId(raw: string): boolean {
  return SESSION_ID.test(raw);
}

const MAX_COOKIE_HEADER = 16 * 1024;
const MAX_COOKIES = 200;

/**
 * Parses a `Cookie` header. The first occurrence of a name wins (browsers send the most specific
 * path first). Values are not percent-decoded: ztgate's own values never need it. Oversized headers
 * give an empty map.
 */
export function parseCookies(header: string | readonly string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  const text = typeof header === 'string' ? header : header.join('; ');
  if (text.length > MAX_COOKIE_HEADER) return out;
  let count = 0;
  for (const part of text.split(';')) {
    if (++count > MAX_COOKIES) break;
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

export interface CookieOptions {
  /** seconds; 0 deletes the cookie */
  readonly maxAge?: number;
  readonly path?: string;
  readonly httpOnly?: boolean;
  readonly secure?: boolean;
  readonly sameSite?: 'Lax' | 'Strict' | 'None';
}

const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const COOKIE_VALUE = /^[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]*$/;

export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!COOKIE_NAME.test(name)) throw new TypeError(`invalid cookie name \`${name}\``);
  if (!COOKIE_VALUE.test(value)) throw new TypeError('invalid cookie value');
  const parts = [`${name}=${value}`, `Path=${options.path ?? '/'}`];
  if (options.maxAge !== undefined)
    parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAge))}`);
  if (options.secure ?? true) parts.push('Secure');
  if (options.httpOnly ?? true) parts.push('HttpOnly');
  parts.push(`SameSite=${options.sameSite ?? 'Lax'}`);
  return parts.join('; ');
}

/** `Set-Cookie` value for a session that lives `maxAgeSeconds` at most. */
export function sessionCookie(rawId: string, maxAgeSeconds: number): string {
  return serializeCookie(SESSION_COOKIE, rawId, { maxAge: maxAgeSeconds });
}

export function clearSessionCookie(): string {
  return serializeCookie(SESSION_COOKIE, '', { maxAge: 0 });
}

/** The raw session id from a request's `Cookie` header, when there is a well-formed one. */
export function sessionIdFromCookies(
  header: string | readonly string[] | undefined,
): string | undefined {
  const raw = parseCookies(header).get(SESSION_COOKIE);
  return raw !== undefined && isWellFormedSessionId(raw) ? raw : undefined;
}
