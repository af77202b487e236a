/**
 * Step: ask the PDP, through the decision cache when the route's policy allows it (see
 * ../decide/policy-profile.ts for what goes in the key).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Decision, DecisionInput } from '../../pdp/index.js';
import type { DeviceFacts } from '../../pdp/input.js';
import type { RequestContext } from '../context.js';
import type { ResolvedIdentity } from '../ports.js';
import type { RouteRuntime, Runtime } from '../runtime.js';
import type { StepResult } from './step.js';

const identityKeys = new WeakMap<ResolvedIdentity, string>();
const deviceKeys = new WeakMap<DeviceFacts, string>();

/** SHA-256 of a fact snapshot: a short, fixed-size cache key part, whatever the facts hold. */
function digest(json: string): string {
  return createHash('sha256').update(json).digest('base64url');
}

/**
 * Every identity fact a policy may read, as one digest, memoized per identity object (an identity
 * port that returns the same object for an unchanged session computes it once). Undefined when a
 * fact cannot be serialized: that decision is not cached.
 */
function identityKey(identity: ResolvedIdentity | undefined): string | undefined {
  if (identity === undefined) return '';
  let k = identityKeys.get(identity);
  if (k !== undefined) return k;
  try {
    const { user, session } = identity;
    k = digest(
      JSON.stringify([
        user.id,
        user.email,
        user.groups,
        user.claims,
        session.id,
        session.mfa.methods,
        session.mfa.at,
        identity.deviceId,
      ]),
    );
  } catch {
    return undefined;
  }
  identityKeys.set(identity, k);
  return k;
}

function deviceKey(device: DeviceFacts | undefined): string | undefined {
  if (device === undefined) return '';
  let k = deviceKeys.get(device);
  if (k !== undefined) return k;
  try {
    k = digest(JSON.stringify([device.id, device.managed, device.tier, device.posture]));
  } catch {
    return undefined;
  }
  deviceKeys.set(device, k);
  return k;
}

/** The route's decision for `input`, without the cache. */
export function evaluateRoute(rt: Runtime, rr: RouteRuntime, input: DecisionInput): Decision {
  if (rr.policy) return rr.policy.evaluate(input);
  const p = rr.route.policy;
  return rt.engine.evaluate(typeof p === 'string' ? p : '', input);
}

/** When a decision stops being what the policy would answer: the MFA's age limit, or never. */
function validUntil(rr: RouteRuntime, identity: ResolvedIdentity | undefined): number {
  const maxAge = rr.profile?.minMfaMaxAgeMs;
  if (maxAge === undefined || identity === undefined) return Infinity;
  const at = identity.session.mfa.at;
  if (at === undefined) return Infinity;
  const ms = typeof at === 'number' ? at : Date.parse(at);
  return Number.isFinite(ms) ? ms + maxAge : -Infinity;
}

export function decide(ctx: RequestContext): StepResult {
  const rr = ctx.routeRt as RouteRuntime;
  const input = ctx.input as DecisionInput;
  const cache = ctx.rt.cache;
  const profile = rr.profile;
  let key: string | undefined;
  if (cache !== undefined && profile !== undefined && !profile.usesTime) {
    const ik = identityKey(ctx.identity);
    const dk = deviceKey(ctx.device);
    if (ik !== undefined && dk !== undefined) {
      key =
        `${rr.key}\u0000${ik}\u0000${dk}\u0000${ctx.method}\u0000` +
        `${profile.usesPath ? ctx.path : ''}\u0000${profile.usesSourceIp ? ctx.sourceIp : ''}\u0000` +
        `${profile.usesClientCert ? (ctx.certFingerprint ?? '') : ''}`;
      const hit = cache.get(key, ctx.time);
      if (hit !== undefined) {
        ctx.decision = hit;
        ctx.cached = true;
        ctx.decidedAt = performance.now();
        return undefined;
      }
    }
  }
  const decision = evaluateRoute(ctx.rt, rr, input);
  ctx.decision = decision;
  ctx.decidedAt = performance.now();
  if (key !== undefined) {
    const identity = ctx.identity;
    (cache as NonNullable<typeof cache>).set(key, decision, ctx.time, validUntil(rr, identity), {
      sessionId: identity?.session.id ?? '',
      userId: identity?.user.id ?? '',
      deviceId: ctx.device?.id ?? identity?.deviceId ?? '',
    });
  }
  return undefined;
}
