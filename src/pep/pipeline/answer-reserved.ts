/**
 * Step: ztgate's own paths on route hosts, `/.ztgate/*`. They are answered here and never
 * forwarded upstream, whatever the route and its policy:
 *
 * - `GET /.ztgate/callback?ticket=T`: redeems a sign-in handoff through the identity port (the
 *   session cookie for this host, then 302 to the app);
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
      const request = {
        host: ctx.routeHost,
        query: ctx.query,
        sourceIp: ctx.sourceIp,
        clientCertFingerprint: ctx.certFingerprint,
      };
      return callPort(ctx, 'handoff', () => identity.handoff?.(request));
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

async function callPort(
  ctx: RequestContext,
  what: 'handoff' | 'sign-out',
  call: () => PortRedirect | Promise<PortRedirect> | undefined,
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
  const reply = portRedirect(r.location, r.setCookies, what);
  return ctx.method === 'POST' ? { ...reply, close: true } : reply;
}

function refusal(ctx: RequestContext, what: 'handoff' | 'sign-out', e: unknown): Reply {
  if (what === 'sign-out' || isUnavailable(e) || !(e instanceof ZtError)) {
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
