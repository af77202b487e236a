/**
 * Who is calling: an API token (`Authorization: Bearer ztk_...`) or a signed-in session (cookie),
 * and whether they may administer. A session is an admin when the admin policy (./admin-policy.ts)
 * allows it, decided by the PDP on the same facts the proxy would use (user, session MFA, device,
 * request); a token holds exactly its scopes.
 */
import type { AuditActor } from '../../audit/record.js';
import type { Decision, DecisionInput } from '../../pdp/index.js';
import type { DeviceFacts } from '../../pdp/input.js';
import type { ResolvedIdentity } from '../../pep/ports.js';
import { AdminError } from '../problem.js';
import type { AdminApiDeps } from '../deps.js';
import { adminDecision } from './admin-policy.js';
import type { ApiTokenRecord, ApiTokens } from './api-tokens.js';
import { grants, SCOPES, type Scope } from './scopes.js';

export interface SessionPrincipal {
  readonly kind: 'session';
  readonly identity: ResolvedIdentity;
  readonly device: DeviceFacts | undefined;
  /** the admin policy's decision for this request */
  readonly decision: Decision;
  /** what it was decided on (kept to test a new admin policy against the same facts) */
  readonly input: DecisionInput;
}

export interface TokenPrincipal {
  readonly kind: 'token';
  readonly token: ApiTokenRecord;
}

export type Principal = SessionPrincipal | TokenPrincipal;

export interface RequestFacts {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly cookie: string | undefined;
  readonly authorization: string | undefined;
  readonly sourceIp: string;
  readonly clientCertFingerprint: string | undefined;
  readonly now: number;
}

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

/** The principal of a request, or undefined when it carries no credential at all. */
export async function authenticate(
  facts: RequestFacts,
  deps: AdminApiDeps,
  tokens: ApiTokens,
): Promise<Principal | undefined> {
  // A bearer header wins over a cookie: it is what the client chose to send.
  if (facts.authorization !== undefined) {
    const m = BEARER.exec(facts.authorization);
    if (!m || m[1] === undefined || !m[1].startsWith('ztk_')) {
      throw new AdminError(
        'ZT_ADMIN_TOKEN_INVALID',
        'the admin API accepts only admin API tokens (`Bearer ztk_...`) or a session cookie',
        { help: 'program tokens from `ztgate token issue` are for routes, not for the admin API' },
      );
    }
    return { kind: 'token', token: await tokens.verify(m[1], facts.now) };
  }
  if (facts.cookie === undefined) return undefined;
  const identity = await deps.identity.resolve({
    host: facts.host,
    cookie: facts.cookie,
    authorization: undefined,
    clientCertFingerprint: facts.clientCertFingerprint,
    sourceIp: facts.sourceIp,
  });
  if (!identity) return undefined;
  const device = deps.deviceFacts
    ? await deps.deviceFacts.lookup({
        deviceId: identity.deviceId,
        certFingerprint: facts.clientCertFingerprint,
      })
    : undefined;
  const input: DecisionInput = {
    user: identity.user,
    session: identity.session,
    ...(device ? { device } : {}),
    request: {
      method: facts.method,
      host: facts.host,
      path: facts.path,
      source_ip: facts.sourceIp,
      time: facts.now,
    },
  };
  const decision = adminDecision(deps.config.current().engine, input);
  return { kind: 'session', identity, device, decision, input };
}

/** The scopes a principal holds: every scope for an admin session, none for another session. */
export function scopesOf(p: Principal): readonly Scope[] {
  if (p.kind === 'token') return p.token.scopes;
  return p.decision.decision === 'allow' ? SCOPES : [];
}

/** Refuses a principal that may not use an endpoint needing `scope`. */
export function authorize(p: Principal, scope: Scope): void {
  if (p.kind === 'token') {
    if (!grants(p.token.scopes, scope)) {
      throw new AdminError('ZT_ADMIN_SCOPE_MISSING', `the API token lacks the scope \`${scope}\``, {
        help: 'create a token with the scopes it needs',
      });
    }
    return;
  }
  const d = p.decision;
  switch (d.decision) {
    case 'allow':
      return;
    case 'login':
      throw new AdminError('ZT_ADMIN_UNAUTHENTICATED', 'sign in to use the admin API');
    case 'step_up': {
      const stepUp = d.reasons.find((r) => r.step_up)?.step_up;
      throw new AdminError(
        'ZT_ADMIN_STEP_UP_REQUIRED',
        'the admin API needs a fresher multi-factor authentication',
        {
          help: 'sign in again with your second factor, then retry',
          ...(stepUp ? { stepUp } : {}),
        },
      );
    }
    case 'deny':
      throw new AdminError('ZT_ADMIN_FORBIDDEN', 'the admin policy does not allow this session', {
        help: 'admins are the `admins` group with recent MFA on a managed device, unless the `ztgate-admin` policy says otherwise',
      });
  }
}

/** Who acted, for the audit log. */
export function actorOf(p: Principal): AuditActor {
  if (p.kind === 'token') return { user: p.token.createdBy, service: `api-token:${p.token.id}` };
  const u = p.identity.user;
  return {
    user: u.id,
    ...(u.email !== undefined ? { email: u.email } : {}),
    ...(p.identity.deviceId !== undefined ? { device: p.identity.deviceId } : {}),
  };
}

/** The author a config version records: `api:<user id>` or `token:<token id>`. */
export function authorOf(p: Principal): string {
  return p.kind === 'token' ? `token:${p.token.id}` : `api:${p.identity.user.id}`;
}

/** The user a principal acts for (tokens: their creator). */
export function userIdOf(p: Principal): string {
  return p.kind === 'token' ? p.token.createdBy : p.identity.user.id;
}
