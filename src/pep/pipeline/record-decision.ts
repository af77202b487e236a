/**
 * Step: record the decision in the audit log before anything is enforced or forwarded. The port
 * is synchronous; if it refuses (backlog full), the request is refused with 503: nothing policy
 * would not grant happens unrecorded, and nothing happens unrecorded at all.
 */
import type { Decision } from '../../pdp/index.js';
import type { RequestContext } from '../context.js';
import { codeOf } from '../errors.js';
import type { ProxyRoute } from '../options.js';
import { serverError } from '../respond/replies.js';
import type { StepResult } from './step.js';

export function recordDecision(ctx: RequestContext): StepResult {
  const d = ctx.decision as Decision;
  const route = ctx.route as ProxyRoute;
  const identity = ctx.identity;
  const reasons = d.reasons.map((r) => r.code);
  try {
    ctx.rt.audit.record({
      time: ctx.time,
      requestId: ctx.id,
      actor: {
        user: identity?.user.id,
        email: identity?.user.email,
        device: ctx.device?.id ?? identity?.deviceId,
      },
      sourceIp: ctx.sourceIp,
      route: route.from,
      method: ctx.method,
      path: ctx.path,
      decision: d.decision,
      policy: d.policy,
      rule: d.rule,
      reasons,
      mode: route.mode,
      forwarded: d.decision === 'allow' || route.mode === 'audit',
      via: ctx.via,
      latencyUs: Math.round((ctx.decidedAt - ctx.startedAt) * 1000),
    });
  } catch (e) {
    ctx.rt.log('error', codeOf(e), 'the audit log refused a record; request refused', {
      request_id: ctx.id,
    });
    return serverError(ctx, 503, 'ZT_PEP_DEPENDENCY_UNAVAILABLE');
  }
  return undefined;
}
