/**
 * Brute-force protection for sign-in: failures are counted per account and per source address.
 * After a few free failures each further attempt must wait twice as long as the one before
 * (exponential backoff, capped), and after many the account or address is locked for a while.
 * Every failure, refused attempt and lockout is audited.
 *
 * Accounts are keyed by the hash of the email as typed (normalized), whether or not a user has it,
 * so that throttling does not reveal which accounts exist. Account counters live in the store
 * (`identity/throttle/<hash>`), shared by replicas and kept across restarts; address counters live
 * in memory (bounded), since they are hot and an address's attempts usually reach one replica.
 *
 * A lockout is temporary by design: a permanent one would let anyone lock any user out.
 */
import { createHash } from 'node:crypto';
import type { SettingsStore } from '../store/store.js';
import { emailKey } from '../store/store.js';
import { emitAudit, type IdentityAuditSink } from './audit.js';

export interface ThrottleLimits {
  /** failures allowed before backoff starts */
  readonly freeFailures: number;
  /** the first wait once backoff starts; doubles with each failure */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** failures (within `resetAfterMs` of each other) that lock */
  readonly lockoutFailures: number;
  readonly lockoutMs: number;
  /** a quiet period after which the count starts again */
  readonly resetAfterMs: number;
}

export interface ThrottlePolicy {
  readonly account: ThrottleLimits;
  readonly ip: ThrottleLimits;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  account: {
    freeFailures: 3,
    baseDelayMs: 1000,
    maxDelayMs: 60_000,
    lockoutFailures: 10,
    lockoutMs: 15 * 60_000,
    resetAfterMs: 60 * 60_000,
  },
  ip: {
    freeFailures: 10,
    baseDelayMs: 1000,
    maxDelayMs: 60_000,
    lockoutFailures: 50,
    lockoutMs: 15 * 60_000,
    resetAfterMs: 60 * 60_000,
  },
};

interface Counter {
  readonly failures: number;
  readonly lastFailureAt: number;
  readonly lockedUntil: number;
}

const FRESH: Counter = { failures: 0, lastFailureAt: 0, lockedUntil: 0 };

export type ThrottleVerdict =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly reason: 'throttled' | 'locked';
      readonly scope: 'account' | 'ip';
      readonly retryAfterMs: number;
    };

function verdict(
  c: Counter,
  limits: ThrottleLimits,
  now: number,
  scope: 'account' | 'ip',
): ThrottleVerdict {
  if (c.lockedUntil > now) {
    return { allowed: false, reason: 'locked', scope, retryAfterMs: c.lockedUntil - now };
  }
  if (now - c.lastFailureAt > limits.resetAfterMs || c.failures < limits.freeFailures) {
    return { allowed: true };
  }
  const wait = Math.min(
    limits.baseDelayMs * 2 ** Math.min(30, c.failures - limits.freeFailures),
    limits.maxDelayMs,
  );
  const until = c.lastFailureAt + wait;
  return until > now
    ? { allowed: false, reason: 'throttled', scope, retryAfterMs: until - now }
    : { allowed: true };
}

function bump(c: Counter, limits: ThrottleLimits, now: number): { next: Counter; locked: boolean } {
  const base = now - c.lastFailureAt > limits.resetAfterMs ? FRESH : c;
  const failures = base.failures + 1;
  if (failures >= limits.lockoutFailures) {
    return {
      next: { failures: 0, lastFailureAt: now, lockedUntil: now + limits.lockoutMs },
      locked: true,
    };
  }
  return { next: { failures, lastFailureAt: now, lockedUntil: base.lockedUntil }, locked: false };
}

const MAX_IPS = 10_000;

export interface AttemptContext {
  /** the email as typed */
  readonly email: string;
  readonly ip: string;
  /** set when the email belongs to a user */
  readonly userId?: string;
}

export class LoginThrottle {
  readonly #ips = new Map<string, Counter>();

  constructor(
    private readonly settings: SettingsStore,
    private readonly audit: IdentityAuditSink,
    private readonly now: () => number = Date.now,
    private readonly policy: ThrottlePolicy = DEFAULT_THROTTLE,
  ) {}

  private accountKey(email: string): string {
    return `identity/throttle/${createHash('sha256').update(emailKey(email)).digest('hex')}`;
  }

  private async readAccount(email: string): Promise<Counter> {
    const raw = await this.settings.get(this.accountKey(email));
    if (raw === undefined) return FRESH;
    try {
      const v = JSON.parse(raw) as Counter;
      return typeof v.failures === 'number' ? v : FRESH;
    } catch {
      return FRESH;
    }
  }

  /** Whether an attempt may be made now; a refusal is audited as `login.throttled`. */
  async check(attempt: AttemptContext): Promise<ThrottleVerdict> {
    const now = this.now();
    const ipVerdict = verdict(this.#ips.get(attempt.ip) ?? FRESH, this.policy.ip, now, 'ip');
    const accountVerdict = verdict(
      await this.readAccount(attempt.email),
      this.policy.account,
      now,
      'account',
    );
    // the stricter of the two: a lockout over a backoff, the longer wait over the shorter
    const result =
      ipVerdict.allowed ||
      (!accountVerdict.allowed && accountVerdict.retryAfterMs >= ipVerdict.retryAfterMs)
        ? accountVerdict
        : ipVerdict;
    if (!result.allowed) {
      emitAudit(this.audit, {
        kind: 'login',
        time: now,
        action: 'login.throttled',
        outcome: 'failure',
        actor: { email: attempt.email, ...(attempt.userId ? { user: attempt.userId } : {}) },
        source_ip: attempt.ip,
        details: {
          scope: result.scope,
          reason: result.reason,
          retry_after_ms: result.retryAfterMs,
        },
      });
    }
    return result;
  }

  /** Counts a failure (audited as `login.failed`) and locks when the limit is reached (`login.locked`). */
  async recordFailure(attempt: AttemptContext, reason: string): Promise<void> {
    const now = this.now();
    const actor = { email: attempt.email, ...(attempt.userId ? { user: attempt.userId } : {}) };
    emitAudit(this.audit, {
      kind: 'login',
      time: now,
      action: 'login.failed',
      outcome: 'failure',
      actor,
      source_ip: attempt.ip,
      details: { reason },
    });
    const account = bump(await this.readAccount(attempt.email), this.policy.account, now);
    await this.settings.set(this.accountKey(attempt.email), JSON.stringify(account.next), now);
    const ip = bump(this.#ips.get(attempt.ip) ?? FRESH, this.policy.ip, now);
    this.#ips.delete(attempt.ip);
    this.#ips.set(attempt.ip, ip.next);
    if (this.#ips.size > MAX_IPS) {
      const oldest = this.#ips.keys().next().value;
      if (oldest !== undefined) this.#ips.delete(oldest);
    }
    for (const [scope, r, limits] of [
      ['account', account, this.policy.account],
      ['ip', ip, this.policy.ip],
    ] as const) {
      if (r.locked) {
        emitAudit(this.audit, {
          kind: 'login',
          time: now,
          action: 'login.locked',
          outcome: 'failure',
          actor,
          source_ip: attempt.ip,
          details: { scope, locked_until: new Date(now + limits.lockoutMs).toISOString() },
        });
      }
    }
  }

  /** A successful sign-in clears the account's count (the address's count stays). */
  async recordSuccess(attempt: AttemptContext): Promise<void> {
    await this.settings.delete(this.accountKey(attempt.email));
  }

  /** Clears an account's lockout (an administrator's action). */
  async unlock(email: string): Promise<boolean> {
    return this.settings.delete(this.accountKey(email));
  }
}
