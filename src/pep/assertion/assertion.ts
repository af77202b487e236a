/**
 * `X-Ztgate-Jwt-Assertion`: who the request is from, signed so the upstream can verify it against
 * `{public_url}/.well-known/ztgate/jwks.json` instead of trusting the network.
 *
 * Claims (PRODUCT.md section 4): `iss` = public_url, `aud` = the route host, `sub`, `email`,
 * `groups`, `device_id`, `iat`, `exp` (at most 5 minutes after `iat`), and a `jti`.
 *
 * Signing is an ECDSA operation (~40 µs), too costly for every proxied request. An assertion is
 * therefore cached per (identity, device, audience) and reused while more than half of its
 * lifetime remains; the cache is bounded and a new signing key empties it.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { KeyRing } from './key-ring.js';

export const MAX_ASSERTION_TTL_MS = 5 * 60_000;

export interface AssertionSubject {
  readonly userId: string;
  readonly email?: string | undefined;
  readonly groups?: readonly string[] | undefined;
  readonly deviceId?: string | undefined;
}

export interface AssertionClaims extends JWTPayload {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly email?: string;
  readonly groups?: string[];
  readonly device_id?: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

interface Cached {
  readonly token: string;
  readonly kid: string;
  readonly refreshAt: number;
}

export class AssertionSigner {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly keys: KeyRing,
    private readonly issuer: string,
    private readonly ttlMs = MAX_ASSERTION_TTL_MS,
    private readonly maxCached = 100_000,
  ) {
    if (ttlMs > MAX_ASSERTION_TTL_MS) throw new RangeError('assertions live at most 5 minutes');
  }

  /** A signed assertion for `subject` at `audience` (the route host), reused while fresh. */
  async assertionFor(subject: AssertionSubject, audience: string, now: number): Promise<string> {
    const { kid, privateKey } = this.keys.signingKey();
    const key = cacheKey(subject, audience);
    const hit = this.cache.get(key);
    if (hit && hit.kid === kid && now < hit.refreshAt) return hit.token;
    const iat = Math.floor(now / 1000);
    const exp = Math.floor((now + this.ttlMs) / 1000);
    const token = await new SignJWT({
      ...(subject.email !== undefined ? { email: subject.email } : {}),
      ...(subject.groups !== undefined ? { groups: [...subject.groups] } : {}),
      ...(subject.deviceId !== undefined ? { device_id: subject.deviceId } : {}),
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setSubject(subject.userId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(privateKey);
    if (this.cache.size >= this.maxCached) {
      // Oldest first (Map keeps insertion order): a bounded cache, not an LRU, is enough here.
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(key, { token, kid, refreshAt: now + this.ttlMs / 2 });
    return token;
  }

  /** Forget cached assertions for a user (their groups changed, they were disabled). */
  forgetUser(userId: string): void {
    const prefix = `${userId.length}:${userId}|`;
    for (const k of this.cache.keys()) if (k.startsWith(prefix)) this.cache.delete(k);
  }
}

function cacheKey(s: AssertionSubject, audience: string): string {
  // Length-prefixed so that no two different subjects produce the same key.
  const groups = (s.groups ?? []).map((g) => `${g.length}:${g}`).join(',');
  const parts = [s.userId, s.email ?? '', groups, s.deviceId ?? '', audience];
  return parts.map((p) => `${p.length}:${p}`).join('|');
}

/**
 * How an upstream verifies an assertion (used by the demo app and the tests): ES256 only,
 * issuer and audience checked, 30 s of clock tolerance.
 */
export async function verifyAssertion(
  token: string,
  jwks: { keys: JWK[] },
  expected: { issuer: string; audience: string; now?: number },
): Promise<AssertionClaims> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    algorithms: ['ES256'],
    issuer: expected.issuer,
    audience: expected.audience,
    clockTolerance: 30,
    ...(expected.now !== undefined ? { currentDate: new Date(expected.now) } : {}),
  });
  return payload as AssertionClaims;
}
