/**
 * The proxy's identity port over the identity component: session cookies and bearer tokens become
 * the `user` and `session` facts of the decision input.
 *
 * A resolved session is reused for a short time (`cacheTtlMs`, 2 s by default) so that a busy
 * browser does not cost a store read per request. Revocations arrive as change events and drop the
 * entry at once (`forgetSession`, `forgetUser`), so "refused on the next request" holds on every
 * replica that receives the event; a change made without an event (a group edited by the CLI on
 * another machine) shows within `cacheTtlMs`.
 */
import { createHash } from 'node:crypto';
import type { Identity } from '../../identity/identity.js';
import { sessionIdFromCookies } from '../../identity/session/cookie.js';
import { handoffCommitment } from '../../identity/session/handoff.js';
import { sessionRef, toDecisionFacts } from '../../identity/session/session-manager.js';
import { bearerTokenFromHeader } from '../../identity/token/tokens.js';
import type { StepUpRequirement } from '../../pdp/decision.js';
import {
  PortUnavailableError,
  type IdentityPort,
  type IdentityRequest,
  type ResolvedIdentity,
} from '../../pep/ports.js';
import { ZtError } from '../../shared/errors.js';

export interface IdentityPortOptions {
  /** `https://auth.example.com` */
  readonly publicUrl: string;
  readonly now?: () => number;
  /** how long a resolved session is reused; 0 turns the cache off */
  readonly cacheTtlMs?: number;
  readonly maxEntries?: number;
}

export interface ServerIdentityPort extends IdentityPort {
  /** drops the cached session (its id hash, as in `session.revoked` events) */
  forgetSession(idHash: string): void;
  forgetUser(userId: string): void;
  /** drops everything (the event bus reconnected: events may have been missed) */
  clear(): void;
}

interface Cached {
  readonly identity: ResolvedIdentity;
  readonly until: number;
  readonly idHash: string;
}

/** Where a browser goes for a step-up on the public host (see the auth handler's `step_up`). */
export const STEP_UP_PATH = '/oauth2/step_up';

/** Token failures that mean "no valid credential" (login), not "cannot tell" (503). */
const INVALID_TOKEN = new Set(['ZT_IDENTITY_TOKEN_INVALID', 'ZT_IDENTITY_TOKEN_REVOKED']);

export function serverIdentityPort(identity: Identity, o: IdentityPortOptions): ServerIdentityPort {
  const now = o.now ?? Date.now;
  const ttl = o.cacheTtlMs ?? 2_000;
  const max = o.maxEntries ?? 100_000;
  const origin = new URL(o.publicUrl).origin;
  const cache = new Map<string, Cached>();

  const resolveToken = async (
    token: string,
    host: string,
  ): Promise<ResolvedIdentity | undefined> => {
    try {
      const p = await identity.tokens.verify(token, { route: host });
      return {
        user: { id: p.subject, email: p.email, groups: p.groups, claims: {} },
        // a token is its own session: revoking the token (its jti) ends it
        session: { id: `token:${p.jti}`, mfa: { methods: [], at: undefined } },
      };
    } catch (err) {
      if (err instanceof ZtError && INVALID_TOKEN.has(err.code)) return undefined;
      throw new PortUnavailableError('identity', 'bearer tokens cannot be checked now', {
        cause: err,
      });
    }
  };

  const resolveSession = async (
    raw: string,
    request: IdentityRequest,
  ): Promise<ResolvedIdentity | undefined> => {
    const fingerprint = request.clientCertFingerprint;
    const key = createHash('sha256')
      .update(raw)
      .update('\0')
      .update(fingerprint ?? '')
      .digest('base64url');
    const at = now();
    const hit = cache.get(key);
    if (hit !== undefined && hit.until > at) return hit.identity;
    let lookup;
    try {
      lookup = await identity.sessions.lookup(raw, { certFingerprint: fingerprint });
    } catch (err) {
      throw new PortUnavailableError('store', 'sessions cannot be read now', { cause: err });
    }
    if (!lookup.ok) {
      cache.delete(key);
      if (lookup.reason === 'idp-unavailable') {
        throw new PortUnavailableError('identity', 'the identity provider cannot be reached');
      }
      return undefined;
    }
    const facts = toDecisionFacts(lookup.session);
    const s = lookup.session;
    const resolved: ResolvedIdentity = {
      user: facts.user,
      session: {
        id: sessionRef(s.idHash),
        mfa: { methods: facts.session.mfa.methods, at: facts.session.mfa.at },
      },
      ...(s.record.deviceId !== null ? { deviceId: s.record.deviceId } : {}),
      ...(s.extras.certFingerprint !== null
        ? { boundCertFingerprint: s.extras.certFingerprint }
        : {}),
    };
    if (ttl > 0) {
      if (cache.size >= max) {
        // oldest first: a Map iterates in insertion order
        for (const k of cache.keys()) {
          cache.delete(k);
          if (cache.size < max * 0.9) break;
        }
      }
      // never past the session's own end
      const until = Math.min(at + ttl, s.record.expiresAt, s.record.idleExpiresAt);
      cache.set(key, { identity: resolved, until, idHash: s.idHash });
    }
    return resolved;
  };

  return {
    async resolve(request) {
      const token = bearerTokenFromHeader(request.authorization);
      if (token !== undefined) return resolveToken(token, request.host);
      const raw = sessionIdFromCookies(request.cookie);
      if (raw === undefined) return undefined;
      return resolveSession(raw, request);
    },
    // the nonce stays in the route host's cookie; only its commitment travels (session/handoff.ts)
    loginUrl: (returnUrl, options) =>
      identity.auth.signInUrl(
        returnUrl,
        options?.nonce !== undefined ? { handoff: handoffCommitment(options.nonce) } : {},
      ),
    // `/.ztgate/callback` and `/.ztgate/sign_out` on route hosts (docs/identity.md, "handoff")
    handoff: (request) => identity.handoff.callback(request),
    signOut: (request) => identity.handoff.signOut(request),
    stepUpUrl: (returnUrl: string, requirement: StepUpRequirement, options) => {
      const q = new URLSearchParams({ return_to: returnUrl });
      if (requirement.max_age !== undefined) q.set('max_age', String(requirement.max_age));
      if (requirement.methods !== undefined && requirement.methods.length > 0) {
        q.set('methods', requirement.methods.join(','));
      }
      if (options?.nonce !== undefined) q.set('handoff', handoffCommitment(options.nonce));
      return `${origin}${STEP_UP_PATH}?${q.toString()}`;
    },
    forgetSession(idHash) {
      for (const [k, v] of cache) if (v.idHash === idHash) cache.delete(k);
    },
    forgetUser(userId) {
      for (const [k, v] of cache) if (v.identity.user.id === userId) cache.delete(k);
    },
    clear() {
      cache.clear();
    },
  };
}
