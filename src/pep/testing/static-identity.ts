/**
 * TEST DOUBLE (tests and benchmarks only): an identity port that knows a fixed set of bearer
 * tokens (and the same values as a test session cookie), resolved from memory. Not for production:
 * real sessions and tokens come from src/identity.
 */
import { createHash } from 'node:crypto';
import type { StepUpRequirement } from '../../pdp/decision.js';
import {
  PortUnavailableError,
  type IdentityPort,
  type IdentityRequest,
  type ResolvedIdentity,
  type SignInOptions,
} from '../ports.js';

/** As the real port does: the nonce's SHA-256, never the nonce, in the URL. */
function withCommitment(q: URLSearchParams, options: SignInOptions | undefined): URLSearchParams {
  if (options?.nonce !== undefined) {
    q.set('handoff', createHash('sha256').update(options.nonce).digest('base64url'));
  }
  return q;
}

/** The cookie the double reads: `ztgate_test_session=<token>`. */
export const TEST_SESSION_COOKIE = 'ztgate_test_session';

export class StaticIdentityDouble implements IdentityPort {
  private readonly tokens = new Map<string, ResolvedIdentity>();
  /** when true, `resolve` throws PortUnavailableError (simulates the store or IdP being down) */
  unavailable = false;
  /** every request `resolve` was given (credentials included: tests only) */
  readonly seen: IdentityRequest[] = [];
  recordRequests = false;

  constructor(
    protected readonly publicUrl: string,
    tokens: Readonly<Record<string, ResolvedIdentity>> = {},
  ) {
    for (const [t, id] of Object.entries(tokens)) this.tokens.set(t, id);
  }

  set(token: string, identity: ResolvedIdentity): void {
    this.tokens.set(token, identity);
  }

  /** Forget a token (as a revoked session). */
  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** Forget every token of a session id. */
  revokeSession(sessionId: string): void {
    for (const [t, id] of this.tokens) if (id.session.id === sessionId) this.tokens.delete(t);
  }

  get size(): number {
    return this.tokens.size;
  }

  resolve(request: IdentityRequest): ResolvedIdentity | undefined {
    if (this.recordRequests) this.seen.push(request);
    if (this.unavailable) throw new PortUnavailableError('identity', 'identity double is down');
    const auth = request.authorization;
    if (auth !== undefined) {
      const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(auth);
      return m?.[1] !== undefined ? this.tokens.get(m[1]) : undefined;
    }
    const cookie = request.cookie;
    if (cookie !== undefined) {
      for (const part of cookie.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === TEST_SESSION_COOKIE) {
          return this.tokens.get(part.slice(eq + 1).trim());
        }
      }
    }
    return undefined;
  }

  loginUrl(returnUrl: string, options?: SignInOptions): string {
    const q = withCommitment(new URLSearchParams({ return_to: returnUrl }), options);
    return `${this.publicUrl}/login?${q.toString()}`;
  }

  stepUpUrl(returnUrl: string, requirement: StepUpRequirement, options?: SignInOptions): string {
    const q = new URLSearchParams({ return_to: returnUrl });
    if (requirement.max_age !== undefined) q.set('max_age', String(requirement.max_age));
    if (requirement.methods !== undefined) q.set('methods', requirement.methods.join(' '));
    return `${this.publicUrl}/step-up?${withCommitment(q, options).toString()}`;
  }
}

/** A test identity: `user(id, groups, mfaAt)` with everything else filled in. */
export function testIdentity(
  id: string,
  options: {
    email?: string;
    groups?: readonly string[];
    sessionId?: string;
    mfaMethods?: readonly string[];
    mfaAt?: number;
    deviceId?: string;
    boundCertFingerprint?: string;
    claims?: Record<string, unknown>;
  } = {},
): ResolvedIdentity {
  return {
    user: {
      id,
      email: options.email ?? `${id}@example.com`,
      groups: options.groups ?? [],
      claims: options.claims ?? {},
    },
    session: {
      id: options.sessionId ?? `s-${id}`,
      mfa: { methods: options.mfaMethods ?? [], at: options.mfaAt },
    },
    deviceId: options.deviceId,
    boundCertFingerprint: options.boundCertFingerprint,
  };
}
