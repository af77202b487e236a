/**
 * The sign-in nonce cookie on route hosts: what binds a sign-in handoff ticket to the browser that
 * started the sign-in (docs/identity.md, "Signing in on app hosts").
 *
 * The handoff ticket (`/.ztgate/callback?ticket=T`) is a bearer credential for a session. Without a
 * binding, someone could sign in as themselves, stop before redeeming their ticket, and make
 * another person's browser open the callback URL within the minute: that browser would be signed
 * in to the app as them (login CSRF, session injection). So before the proxy sends a browser from a
 * route host to sign in, it puts a random nonce in a cookie on that host and gives identity the
 * nonce (the identity port puts only its SHA-256 in the URL); the ticket carries that commitment,
 * and the callback hands identity the cookie back. Another browser has another nonce, or none.
 *
 * `__Host-` makes the browser refuse the cookie unless it is Secure with Path=/ and no Domain, so
 * no sibling subdomain can plant a nonce of its choosing; HttpOnly keeps it from the app's scripts;
 * SameSite=Lax still sends it on the top-level redirect back from the public host. Ten minutes
 * covers a sign-in with a password and a second factor; the RP's own login state lasts 15.
 */
import { randomBytes } from 'node:crypto';
import type { AnyRequest } from './options.js';

export const HANDOFF_NONCE_COOKIE = '__Host-ztgate_handoff';
export const HANDOFF_NONCE_MAX_AGE_S = 600;

/** 32 random bytes, base64url. */
const NONCE = /^[A-Za-z0-9_-]{43}$/;
const MAX_COOKIE_HEADER = 16 * 1024;

function cookieHeader(req: AnyRequest): string | undefined {
  const c = req.headers.cookie;
  return Array.isArray(c) ? c.join('; ') : c;
}

/** The nonce the browser holds for this host, when it sent a well-formed one. */
export function nonceFromRequest(req: AnyRequest): string | undefined {
  const header = cookieHeader(req);
  if (header === undefined || header.length > MAX_COOKIE_HEADER) return undefined;
  if (!header.includes(HANDOFF_NONCE_COOKIE)) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== HANDOFF_NONCE_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    // the first one wins, as for the session cookie; a malformed one is no nonce
    return NONCE.test(value) ? value : undefined;
  }
  return undefined;
}

function nonceCookie(nonce: string, maxAge: number): string {
  return `${HANDOFF_NONCE_COOKIE}=${nonce}; Path=/; Max-Age=${maxAge}; Secure; HttpOnly; SameSite=Lax`;
}

/**
 * The nonce for a sign-in about to start from this request, and the `Set-Cookie` that gives it to
 * the browser. A nonce the browser already holds is kept (with ten fresh minutes): several tabs
 * signing in at once would otherwise overwrite each other's, and every ticket but the last would be
 * refused. Keeping it gives nothing away: it is only ever in this browser's cookie for this host.
 */
export function beginSignIn(req: AnyRequest): { nonce: string; setCookie: string } {
  const nonce = nonceFromRequest(req) ?? randomBytes(32).toString('base64url');
  return { nonce, setCookie: nonceCookie(nonce, HANDOFF_NONCE_MAX_AGE_S) };
}

/** Deletes the nonce cookie (after its ticket was redeemed: it has done its job). */
export function clearNonceCookie(): string {
  return nonceCookie('', 0);
}
