/**
 * Step: who sent the request (session cookie, bearer token, client certificate), through the
 * identity port. No credential, or an invalid one, is no identity: the PDP then answers `login`
 * where the policy needs a user. A session bound to a client certificate counts only with that
 * certificate. Identity that cannot be consulted is a 503 (fail closed).
 */
import type { RequestContext } from '../context.js';
import type { IdentityRequest, ResolvedIdentity } from '../ports.js';
import { serverError } from '../respond/replies.js';
import { codeOf } from '../errors.js';
import type { StepResult } from './step.js';

export function identityRequestOf(ctx: RequestContext): IdentityRequest {
  const h = ctx.req.headers;
  const cookie = h.cookie;
  const authorization = h.authorization;
  return {
    host: ctx.routeHost,
    cookie: Array.isArray(cookie) ? cookie.join('; ') : cookie,
    authorization: typeof authorization === 'string' ? authorization : undefined,
    clientCertFingerprint: ctx.certFingerprint,
    sourceIp: ctx.sourceIp,
  };
}

/** The identity, unless bound to a certificate other than the one presented. */
export function acceptIdentity(
  identity: ResolvedIdentity | undefined,
  fingerprint: string | undefined,
): ResolvedIdentity | undefined {
  if (identity === undefined) return undefined;
  const bound = identity.boundCertFingerprint;
  if (bound === undefined) return identity;
  return bound.replace(/:/g, '').toLowerCase() === fingerprint ? identity : undefined;
}

export function loadIdentity(ctx: RequestContext): StepResult | Promise<StepResult> {
  const request = identityRequestOf(ctx);
  let r;
  try {
    r = ctx.rt.identity.resolve(request);
  } catch (e) {
    return unavailable(ctx, e);
  }
  if (r !== undefined && typeof (r as Promise<unknown>).then === 'function') {
    return (r as Promise<ResolvedIdentity | undefined>).then(
      (identity) => {
        ctx.identity = acceptIdentity(identity, ctx.certFingerprint);
        return undefined;
      },
      (e: unknown) => unavailable(ctx, e),
    );
  }
  ctx.identity = acceptIdentity(r as ResolvedIdentity | undefined, ctx.certFingerprint);
  return undefined;
}

function unavailable(ctx: RequestContext, e: unknown): StepResult {
  ctx.rt.log('error', 'ZT_PEP_DEPENDENCY_UNAVAILABLE', 'identity is unavailable; request refused', {
    request_id: ctx.id,
    cause: codeOf(e),
  });
  return serverError(ctx, 503, 'ZT_PEP_DEPENDENCY_UNAVAILABLE');
}
