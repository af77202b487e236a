/**
 * Step: the PDP's input. Built from one object literal per level with a fixed key order and absent
 * facts set to `undefined` (docs/performance.md: the same inputs evaluate 2.6x faster when every
 * object has one shape, as property reads in the criteria stay monomorphic).
 */
import type { DecisionInput } from '../../pdp/index.js';
import type { DeviceFacts } from '../../pdp/input.js';
import type { RequestContext } from '../context.js';
import type { ResolvedIdentity } from '../ports.js';
import type { StepResult } from './step.js';

export interface RequestFactsSource {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly sourceIp: string;
  readonly time: number;
  readonly certFingerprint: string | undefined;
  readonly certSpiffeId: string | undefined;
  readonly certSubject: string | undefined;
}

export function decisionInput(
  identity: ResolvedIdentity | undefined,
  device: DeviceFacts | undefined,
  r: RequestFactsSource,
): DecisionInput {
  const user = identity?.user;
  const session = identity?.session;
  return {
    user:
      user === undefined
        ? undefined
        : { id: user.id, email: user.email, groups: user.groups, claims: user.claims },
    session:
      session === undefined
        ? undefined
        : { id: session.id, mfa: { methods: session.mfa.methods, at: session.mfa.at } },
    device:
      device === undefined
        ? undefined
        : { id: device.id, managed: device.managed, tier: device.tier, posture: device.posture },
    request: {
      method: r.method,
      host: r.host,
      path: r.path,
      source_ip: r.sourceIp,
      country: undefined,
      time: r.time,
    },
    risk: undefined,
    client_cert:
      r.certFingerprint === undefined
        ? undefined
        : { fingerprint: r.certFingerprint, spiffe_id: r.certSpiffeId, subject: r.certSubject },
  };
}

export function buildDecisionInput(ctx: RequestContext): StepResult {
  const forwarded = ctx.certFingerprint === undefined;
  ctx.input = decisionInput(ctx.identity, ctx.device, {
    method: ctx.method,
    host: ctx.routeHost,
    path: ctx.path,
    sourceIp: ctx.sourceIp,
    time: ctx.time,
    certFingerprint: ctx.certFingerprint,
    certSpiffeId: forwarded ? undefined : ctx.conn.spiffeId,
    certSubject: forwarded ? undefined : ctx.conn.subject,
  });
  return undefined;
}
