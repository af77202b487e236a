/**
 * Step (forward-auth endpoints): the decision in the form each proxy understands.
 *
 * - allow (or any decision under `mode: audit`): exactly 200, with the identity in response
 *   headers for the proxy to copy upstream: `X-Ztgate-Jwt-Assertion`, `X-Ztgate-User`,
 *   `X-Ztgate-Email`, `X-Ztgate-Groups`;
 * - not signed in / step-up: `auth-request` (nginx) answers 401 with the sign-in (or step-up) URL
 *   in `X-Ztgate-Login-Url` (nginx turns it into a redirect with `error_page 401`);
 *   `forward-auth` and `ext-authz`, whose answer the proxy relays to the client, send browsers a
 *   302 to it and API clients a 401 JSON;
 * - deny: 403 (a page for browsers, JSON for API clients; nginx shows its own page).
 *
 * Refusals before a decision keep their meaning, with one adjustment for nginx, which turns any
 * status but 2xx, 401 and 403 into a 500: `auth-request` answers 403 for a malformed original
 * request or an unknown route.
 */
import type { Decision } from '../../pdp/index.js';
import type { RequestContext } from '../context.js';
import { codeOf } from '../errors.js';
import type { ProxyRoute } from '../options.js';
import { returnUrl as proxiedReturnUrl } from '../pipeline/enforce.js';
import type { StepResult } from '../pipeline/step.js';
import {
  denied,
  emptyReply,
  jsonReply,
  loginRequired,
  serverError,
  stepUpRequired,
  stepUpRequirement,
  type Reply,
} from '../respond/replies.js';
import { headerSafe } from '../upstream/headers.js';
import type { ForwardAuthKind } from './original-request.js';

/** The original URL: the proxy in front may serve plain `http` (a trusted proxy says so). */
function originalUrl(ctx: RequestContext): string {
  const proto = ctx.trustedPeer ? ctx.req.headers['x-forwarded-proto'] : undefined;
  const url = proxiedReturnUrl(ctx);
  return proto === 'http' ? `http${url.slice(5)}` : url;
}

async function identityHeaders(ctx: RequestContext): Promise<Record<string, string>> {
  const identity = ctx.identity;
  if (identity === undefined) return {};
  const user = identity.user;
  const deviceId = ctx.device?.id ?? identity.deviceId;
  const assertion = await ctx.rt.assertions.assertionFor(
    { userId: user.id, email: user.email, groups: user.groups, deviceId },
    ctx.routeHost,
    ctx.time,
  );
  return {
    'x-ztgate-jwt-assertion': assertion,
    'x-ztgate-user': headerSafe(user.id),
    ...(user.email !== undefined ? { 'x-ztgate-email': headerSafe(user.email) } : {}),
    'x-ztgate-groups': headerSafe(user.groups.join(',')),
  };
}

export function answerForwardAuth(kind: ForwardAuthKind) {
  return async function answer(ctx: RequestContext): Promise<StepResult> {
    const d = ctx.decision as Decision;
    const route = ctx.route as ProxyRoute;
    ctx.reason = d.reasons[0]?.code;
    if (d.decision === 'allow' || route.mode === 'audit') {
      try {
        const headers = await identityHeaders(ctx);
        ctx.forwarded = true;
        return emptyReply(200, headers, d.decision === 'allow' ? undefined : ctx.reason);
      } catch (e) {
        ctx.rt.log('error', codeOf(e), 'could not sign the identity assertion', {
          request_id: ctx.id,
        });
        return serverError(ctx, 500, 'ZT_PEP_INTERNAL');
      }
    }
    const back = originalUrl(ctx);
    switch (d.decision) {
      case 'login': {
        const url = ctx.rt.identity.loginUrl(back);
        if (kind === 'auth-request') return loginHeaders(ctx, url, 'user-unauthenticated');
        return withLoginHeader(loginRequired(ctx, url), url);
      }
      case 'step_up': {
        const requirement = stepUpRequirement(d.reasons);
        const url = ctx.rt.identity.stepUpUrl(back, requirement);
        if (kind === 'auth-request') return loginHeaders(ctx, url, ctx.reason ?? 'mfa-required');
        return withLoginHeader(stepUpRequired(ctx, url, requirement, d.reasons), url);
      }
      case 'deny':
        return denied(ctx, d);
    }
  };
}

function loginHeaders(ctx: RequestContext, url: string, reason: string): Reply {
  return jsonReply(
    401,
    { error: 'login_required', login_url: url, request_id: ctx.id },
    { 'x-ztgate-login-url': url },
    undefined,
    reason,
  );
}

function withLoginHeader(reply: Reply, url: string): Reply {
  return { ...reply, headers: { ...reply.headers, 'x-ztgate-login-url': url } };
}

/**
 * A refusal made before the decision, as a forward-auth answer: an unknown route is a 403 (deny by
 * default: the proxy in front must not serve it); for nginx, which understands 2xx, 401 and 403
 * only, every other 4xx becomes 403 too. The connection to the proxy in front stays open.
 */
export function adaptRefusal(kind: ForwardAuthKind, reply: Reply): Reply {
  const s = reply.status;
  if (s === 404 || (kind === 'auth-request' && s >= 400 && s < 500 && s !== 401 && s !== 403)) {
    return { ...reply, status: 403, close: false };
  }
  return reply.close ? { ...reply, close: false } : reply;
}
