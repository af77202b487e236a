/**
 * Step: act on the decision. Allow goes on. Otherwise, under `mode: enforce`: `login` sends a
 * browser to sign in (an API client gets 401 JSON), `step_up` sends it through MFA (401 JSON with
 * the requirement), `deny` is a 403 page or JSON with the reasons a user may read. Under
 * `mode: audit` the request goes on whatever the decision; the audit record says what would have
 * happened.
 *
 * A browser sent to sign in or step up also gets the route host's sign-in nonce cookie, and the
 * URL a commitment to it (../handoff-nonce.ts): the session handed back to this host is then
 * redeemed only by this browser. An API client's URL carries none: whichever browser opens it gets
 * its nonce at the route host's `/.ztgate/sign_in` first.
 */
import type { Decision } from '../../pdp/index.js';
import type { RequestContext } from '../context.js';
import { beginSignIn } from '../handoff-nonce.js';
import type { ProxyRoute } from '../options.js';
import { denied, loginRequired, stepUpRequired, stepUpRequirement } from '../respond/replies.js';
import type { StepResult } from './step.js';

/** The original `https://` URL of the request, in canonical form: where sign-in returns to. */
export function returnUrl(ctx: RequestContext): string {
  return `https://${ctx.host}${ctx.upstreamPath}${ctx.query !== '' ? `?${ctx.query}` : ''}`;
}

export function enforce(ctx: RequestContext): StepResult {
  const d = ctx.decision as Decision;
  if (d.decision === 'allow') return undefined;
  const route = ctx.route as ProxyRoute;
  ctx.reason = d.reasons[0]?.code;
  if (route.mode === 'audit') return undefined;
  switch (d.decision) {
    case 'login': {
      if (!ctx.browser) return loginRequired(ctx, ctx.rt.identity.loginUrl(returnUrl(ctx)));
      const { nonce, setCookie } = beginSignIn(ctx.req);
      return loginRequired(ctx, ctx.rt.identity.loginUrl(returnUrl(ctx), { nonce }), [setCookie]);
    }
    case 'step_up': {
      const requirement = stepUpRequirement(d.reasons);
      if (!ctx.browser) {
        const url = ctx.rt.identity.stepUpUrl(returnUrl(ctx), requirement);
        return stepUpRequired(ctx, url, requirement, d.reasons);
      }
      const { nonce, setCookie } = beginSignIn(ctx.req);
      const url = ctx.rt.identity.stepUpUrl(returnUrl(ctx), requirement, { nonce });
      return stepUpRequired(ctx, url, requirement, d.reasons, [setCookie]);
    }
    case 'deny':
      return denied(ctx, d);
  }
}
