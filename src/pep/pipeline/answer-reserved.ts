/**
 * Step: ztgate's own paths on route hosts, `/.ztgate/*`. They are answered here and never
 * forwarded upstream, whatever the route and its policy:
 *
 * - `GET /.ztgate/callback?ticket=T`: redeems a sign-in handoff through the identity port (the
 *   session cookie for this host, then 302 to the app), with this host's sign-in nonce cookie: the
 *   ticket only works in the browser that started the sign-in (../handoff-nonce.ts);
 * - `GET /.ztgate/sign_in?return_to=URL`: sets the sign-in nonce cookie, then 302 to the identity
 *   port's sign-in URL for `URL` (on this host). Identity sends a sign-in that came without a
 *   commitment to the nonce (a link made by hand, forward auth, an API client's `login_url`) here
 *   first, instead of issuing a ticket no browser is bound to;
 * - `GET|POST /.ztgate/sign_out`: clears this host's session cookie, then 302 to the public host's
 *   sign-out;
 * - anything else below `/.ztgate/`: 404.
 *
 * The handoff ticket is a one-time credential for a whole session: an upstream must never see it
 * (it could redeem it itself), hence the reservation of the whole prefix. The prefix is matched
 * without regard to case, because an upstream on a case-insensitive file system would serve
 * `/.ZTGATE/callback` as the same path. Identity refuses a bad ticket with a ZtError: a 400 page
 * (JSON for API clients), never a 500; an identity that cannot be consulted is a 503.
 */
import type { RequestContext } from '../context.js';
import { codeOf, isUnavailable } from '../errors.js';
import { beginSignIn, clearNonceCookie, nonceFromRequest } from '../handoff-nonce.js';
import type { PortRedirect } from '../ports.js';
import {
  handoffRefused,
  methodNotAllowed,
  notFound,
  portRedirect,
  serverError,
  type Reply,
} from '../respond/replies.js';
import { ZtError } from '../../shared/errors.js';
import type { StepResult } from './step.js';

export const RESERVED_PATHS = {
  prefix: '/.ztgate/',
  callback: '/.ztgate/callback',
  signIn: '/.ztgate/sign_in',
  signOut: '/.ztgate/sign_out',
} as const;

/** True for `/.ztgate` and everything below it, in any case (a canonical path). */
export function isReservedPath(path: string): boolean {
  if (path.length < 8 || path.charCodeAt(1) !== 46 /* `.` */) return false;
  const head = path.slice(0, 8).toLowerCase();
  return head === '/.ztgate' && (path.length === 8 || path.charCodeAt(8) === 47); /* `/` */
}

export function answerReserved(ctx: RequestContext): StepResult | Promise<StepResult> {
  const identity = ctx.rt.identity;
  switch (ctx.path) {
    case RESERVED_PATHS.callback: {
      if (identity.handoff === undefined) return notFound(ctx);
      // GET only: a HEAD from a link checker must not spend the ticket
      if (ctx.method !== 'GET') return methodNotAllowed(ctx, 'GET', true);
      const nonce = nonceFromRequest(ctx.req);
      const request = {
        host: ctx.routeHost,
        query: ctx.query,
        sourceIp: ctx.sourceIp,
        clientCertFingerprint: ctx.certFingerprint,
        ...(nonce !== undefined ? { nonce } : {}),
      };
      // the nonce has done its job once its ticket is redeemed; a refusal leaves it in place (the
      // browser's own sign-in may still be under way in another tab)
      return callPort(ctx, 'handoff', () => identity.handoff?.(request), nonce !== undefined);
    }
    case RESERVED_PATHS.signIn: {
      // without a handoff there is nothing to bind a nonce to
      if (identity.handoff === undefined) return notFound(ctx);
      if (ctx.method !== 'GET') return methodNotAllowed(ctx, 'GET', true);
      const { nonce, setCookie } = beginSignIn(ctx.req);
      let location: string;
      try {
        location = identity.loginUrl(signInReturnUrl(ctx), { nonce });
      } catch (e) {
        return refusal(ctx, 'sign-in', e);
      }
      if (!safeHeader(location)) return serverError(ctx, 500, 'ZT_PEP_INTERNAL');
      return portRedirect(location, [setCookie], 'sign-in');
    }
    case RESERVED_PATHS.signOut: {
      if (identity.signOut === undefined) return notFound(ctx);
      if (ctx.method !== 'GET' && ctx.method !== 'POST') {
        return methodNotAllowed(ctx, 'GET, POST', true);
      }
      const cookie = ctx.req.headers.cookie;
      const request = {
        host: ctx.routeHost,
        cookie: Array.isArray(cookie) ? cookie.join('; ') : cookie,
        sourceIp: ctx.sourceIp,
        clientCertFingerprint: ctx.certFingerprint,
      };
      return callPort(ctx, 'sign-out', () => identity.signOut?.(request));
    }
    default:
      return notFound(ctx);
  }
}

/**
 * Where `/.ztgate/sign_in` returns to: the `return_to` URL when it is on this very host (any other
 * host would let this endpoint start sign-ins for it), else this host's root. Identity checks the
 * URL again, as every return URL.
 */
function signInReturnUrl(ctx: RequestContext): string {
  const here = `https://${ctx.host}`;
  const values = new URLSearchParams(ctx.query).getAll('return_to');
  const raw = values.length === 1 ? values[0] : undefined;
  if (raw !== undefined && raw.length <= 4096) {
    try {
      const u = new URL(raw);
      if (u.protocol === 'https:' && u.host === new URL(here).host && u.username === '') {
        return `${here}${u.pathname}${u.search}`;
      }
    } catch {
      // not a URL: the root
    }
  }
  return `${here}/`;
}

async function callPort(
  ctx: RequestContext,
  what: 'handoff' | 'sign-out',
  call: () => PortRedirect | Promise<PortRedirect> | undefined,
  clearNonce = false,
): Promise<Reply> {
  let r: PortRedirect | undefined;
  try {
    r = await call();
  } catch (e) {
    return refusal(ctx, what, e);
  }
  if (r === undefined || !safeHeader(r.location) || !r.setCookies.every(safeHeader)) {
    ctx.rt.log('error', 'ZT_PEP_INTERNAL', `the identity port's ${what} answer is malformed`, {
      request_id: ctx.id,
    });
    return serverError(ctx, 500, 'ZT_PEP_INTERNAL');
  }
  // A POST body was not read: the connection cannot be reused (HTTP/1.1).
  const setCookies = clearNonce ? [...r.setCookies, clearNonceCookie()] : r.setCookies;
  const reply = portRedirect(r.location, setCookies, what);
  return ctx.method === 'POST' ? { ...reply, close: true } : reply;
}

function refusal(ctx: RequestContext, what: 'handoff' | 'sign-out' | 'sign-in', e: unknown): Reply {
  if (what !== 'handoff' || isUnavailable(e) || !(e instanceof ZtError)) {
    // fail closed like every other identity call: the store or the IdP is down, or a bug
    ctx.rt.log(
      'error',
      'ZT_PEP_DEPENDENCY_UNAVAILABLE',
      `identity is unavailable; ${what} refused`,
      {
        request_id: ctx.id,
        cause: codeOf(e),
      },
    );
    return serverError(ctx, 503, 'ZT_PEP_DEPENDENCY_UNAVAILABLE');
  }
  return handoffRefused(ctx, e.code);
}

function safeHeader(value: unknown): boolean {
  // eslint-disable-next-line no-control-regex
  return typeof value === 'string' && value !== '' && !/[\u0000-\u001f\u007f]/.test(value);
}
