/**
 * The decision cache: per (route, identity state, device state, request class), the PDP's last
 * answer, reused for a bounded time. The key holds every fact the route's policy reads (see
 * ./policy-profile.ts), so a hit returns what evaluating again would return; changes that the key
 * cannot see (a revoked session, a revoked device, a new policy) drop entries explicitly through
 * `forgetSession`, `forgetDevice`, `forgetUser` and `clear`, so a revocation applies to the very
 * next request.
 *
 * Bounded: at most `maxEntries` (the oldest inserted goes first) and `ttlMs` each.
 */
import type { Decision } from '../../pdp/index.js';

interface Entry {
  readonly decision: Decision;
  readonly expiresAt: number;
  readonly sessionId: string;
  readonly userId: string;
  readonly deviceId: string;
}

export interface DecisionCacheStats {
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
}

export class DecisionCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {
    if (!(maxEntries >= 1) || !(ttlMs > 0)) {
      throw new RangeError('decision cache: maxEntries >= 1 and ttlMs > 0');
    }
  }

  get(key: string, now: number): Decision | undefined {
    const e = this.entries.get(key);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    if (now >= e.expiresAt) {
      this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return e.decision;
  }

  /** `validUntil`: a fact-driven bound (MFA age) below the TTL, or Infinity. */
  set(
    key: string,
    decision: Decision,
    now: number,
    validUntil: number,
    owner: { sessionId: string; userId: string; deviceId: string },
  ): void {
    const expiresAt = Math.min(now + this.ttlMs, validUntil);
    if (expiresAt <= now) return;
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, {
      decision,
      expiresAt,
      sessionId: owner.sessionId,
      userId: owner.userId,
      deviceId: owner.deviceId,
    });
  }

  forgetSession(id: string): number {
    return this.forget((e) => e.sessionId === id);
  }

  forgetUser(id: string): number {
    return this.forget((e) => e.userId === id);
  }

  forgetDevice(id: string): number {
    return this.forget((e) => e.deviceId === id);
  }

  clear(): void {
    this.entries.clear();
  }

  stats(): DecisionCacheStats {
    return { size: this.entries.size, hits: this.hits, misses: this.misses };
  }

  private forget(match: (e: Entry) => boolean): number {
    let n = 0;
    for (const [k, e] of this.entries) {
      if (match(e)) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }
}
