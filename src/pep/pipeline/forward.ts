/**
 * Step: forward to the upstream. The upstream request uses the canonical path (with the query as
 * sent), end-to-end headers only, `X-Forwarded-For/Proto/Host` written by ztgate (a trusted proxy's
 * values extended, anyone else's replaced), `X-Request-Id`, and the identity: the signed
 * `X-Ztgate-Jwt-Assertion` (aud = the route host) and, when the route asks for them, the plain
 * `X-Ztgate-User`, `X-Ztgate-Email` and `X-Ztgate-Groups`. ztgate's own session cookie is not
 * passed on: an upstream has no use for it, and could replay it to other apps. Nor is the sign-in
 * nonce cookie (../handoff-nonce.ts): it is the browser's proof in a handoff, not the app's.
 */
import type { RequestContext } from '../context.js';
import type { ProxyRoute } from '../options.js';
import { serverError } from '../respond/replies.js';
import { codeOf } from '../errors.js';
import { HANDOFF_NONCE_COOKIE } from '../handoff-nonce.js';
import { endToEndRequestHeaders, headerSafe, withoutCookie } from '../upstream/headers.js';
import { proxyHttp } from '../upstream/forward.js';
import type { Upstream } from '../upstream/pool.js';
import type { StepResult } from './step.js';

export async function upstreamHeaders(
  ctx: RequestContext,
  up: Upstream,
  websocket: boolean,
): Promise<Record<string, string | string[]>> {
  const rt = ctx.rt;
  const route = ctx.route as ProxyRoute;
  const h = endToEndRequestHeaders(ctx.req.headers);
  h.host = (route.preserve_host ?? rt.limits.preserveHost) ? ctx.host : up.hostHeader;
  const prior = ctx.trustedPeer ? h['x-forwarded-for'] : undefined;
  h['x-forwarded-for'] =
    prior === undefined
      ? ctx.conn.peerIp
      : `${Array.isArray(prior) ? prior.join(', ') : prior}, ${ctx.conn.peerIp}`;
  if (!ctx.trustedPeer || h['x-forwarded-proto'] === undefined) h['x-forwarded-proto'] = 'https';
  if (!ctx.trustedPeer || h['x-forwarded-host'] === undefined) h['x-forwarded-host'] = ctx.host;
  h['x-request-id'] = ctx.id;
  const cookieName = rt.limits.sessionCookieName;
  const cookie = h.cookie;
  if (typeof cookie === 'string') {
    let kept: string | undefined = withoutCookie(cookie, HANDOFF_NONCE_COOKIE);
    if (cookieName !== null && kept !== undefined) kept = withoutCookie(kept, cookieName);
    if (kept === undefined) delete h.cookie;
    else h.cookie = kept;
  }
  const identity = ctx.identity;
  if (identity !== undefined) {
    const user = identity.user;
    h['x-ztgate-jwt-assertion'] = await rt.assertions.assertionFor(
      {
        userId: user.id,
        email: user.email,
        groups: user.groups,
        deviceId: ctx.device?.id ?? identity.deviceId,
      },
      ctx.routeHost,
      ctx.time,
    );
    if (route.identity_headers) {
      h['x-ztgate-user'] = headerSafe(user.id);
      if (user.email !== undefined) h['x-ztgate-email'] = headerSafe(user.email);
      h['x-ztgate-groups'] = headerSafe(user.groups.join(','));
    }
  }
  if (websocket) {
    h.connection = 'Upgrade';
    h.upgrade = 'websocket';
  }
  return h;
}

/** The upstream request target: the upstream's base path, the canonical path, the query. */
export function upstreamTarget(ctx: RequestContext, up: Upstream): string {
  return `${up.basePath}${ctx.upstreamPath}${ctx.query !== '' ? `?${ctx.query}` : ''}`;
}

export function forward(ctx: RequestContext): StepResult | Promise<StepResult> {
  const up = ctx.routeRt?.upstream;
  if (up === undefined) return serverError(ctx, 502, 'ZT_PEP_UPSTREAM_UNREACHABLE');
  const cl = ctx.req.headers['content-length'];
  if (cl !== undefined && Number(cl) > ctx.rt.limits.maxBodyBytes) {
    return serverError(ctx, 413, 'ZT_PEP_BODY_TOO_LARGE');
  }
  return upstreamHeaders(ctx, up, false).then(
    (headers) => proxyHttp(ctx, up, upstreamTarget(ctx, up), headers),
    (e: unknown) => {
      ctx.rt.log('error', codeOf(e), 'could not sign the identity assertion', {
        request_id: ctx.id,
      });
      return serverError(ctx, 500, 'ZT_PEP_INTERNAL');
    },
  );
}
