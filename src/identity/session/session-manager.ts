/**
 * Sessions: created at sign-in, looked up on every request, ended by expiry, idleness, revocation,
 * logout (front- or back-channel) or a failed revalidation with the IdP.
 *
 * - The raw id (32 random bytes) exists only in the user's cookie; the store keeps its SHA-256.
 * - `ttl` is absolute; `idle` ends a session unused that long; every `revalidate` the session is
 *   checked again with the IdP (refresh token) so a user disabled there loses access within it.
 * - Every lookup reads the store, so a revocation (CLI, admin, another replica, back-channel
 *   logout) is refused on the very next request everywhere. Revocations are also published as
 *   change events, for holders of long-lived connections.
 * - A session created with a client (device) certificate is bound to its SHA-256 fingerprint: the
 *   same cookie without that certificate is refused.
 *
 * Per-session facts the store's SessionRecord has no field for (the certificate fingerprint, the
 * IdP's subject, `sid` and refresh token, the ID token claims) are kept encrypted in the
 * SettingsStore under `identity/session/<idHash>`, with an index
 * `identity/session-sid/<hash(issuer, sid)>/<idHash>` for back-channel logout.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { SessionConfig } from '../../config/schema.js';
import { parseDuration } from '../../shared/duration.js';
import type { ErrorCode } from '../../shared/errors.js';
import type { EventBus } from '../../store/events/events.js';
import {
  hashSessionId,
  type SessionRecord,
  type SessionStore,
  type SettingsStore,
  type UserRecord,
  type UserStore,
  type DeviceStore,
} from '../../store/store.js';
import { emitAudit, type IdentityAuditSink } from '../audit.js';
import type { SecretBox } from '../secret-box.js';
import { isWellFormedSessionId, newSessionId, sessionCookie } from './cookie.js';

export interface SessionPolicy {
  readonly ttlMs: number;
  readonly idleMs: number;
  readonly revalidateMs: number;
}

export function sessionPolicyFromConfig(config: SessionConfig): SessionPolicy {
  const ttlMs = parseDuration(config.ttl) ?? 8 * 3_600_000;
  const idleMs = Math.min(parseDuration(config.idle) ?? 3_600_000, ttlMs);
  const revalidateMs = parseDuration(config.revalidate) ?? 15 * 60_000;
  return { ttlMs, idleMs, revalidateMs };
}

/** What ztgate remembers of the IdP sign-in behind a session. */
export interface SessionIdp {
  readonly issuer: string;
  readonly subject: string;
  /** the IdP's session id (`sid` claim), for back-channel logout */
  readonly sid?: string;
  readonly refreshToken?: string;
  /** the last ID token, sent back as `id_token_hint` at logout */
  readonly idToken?: string;
}

export interface SessionExtras {
  readonly v: 1;
  /** lower-case hex SHA-256 of the device certificate the session is bound to */
  readonly certFingerprint: string | null;
  readonly idp: SessionIdp | null;
  /** identity claims for policies (`claims:` criterion); no token internals */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly amr: readonly string[];
  readonly acr: string | null;
  readonly revalidatedAt: number;
}

export interface NewSessionInput {
  readonly userId: string;
  readonly deviceId?: string | null;
  readonly certFingerprint?: string | null;
  readonly mfaMethods?: readonly string[];
  readonly mfaAt?: number | null;
  readonly idp?: SessionIdp | null;
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly amr?: readonly string[];
  readonly acr?: string | null;
  /**
   * The raw id of the session the browser had before this sign-in: it is revoked, so a session id
   * planted before sign-in (session fixation) is never the one that is signed in.
   */
  readonly replaces?: string;
  readonly sourceIp?: string;
}

export interface CreatedSession {
  /** goes into the cookie and nowhere else */
  readonly rawId: string;
  readonly idHash: string;
  readonly record: SessionRecord;
  /** the `Set-Cookie` header value */
  readonly cookie: string;
}

export interface ActiveSession {
  readonly idHash: string;
  readonly record: SessionRecord;
  readonly user: UserRecord;
  readonly extras: SessionExtras;
}

export type SessionFailure =
  | 'missing'
  | 'malformed'
  | 'unknown'
  | 'expired'
  | 'idle'
  | 'revoked'
  | 'device-mismatch'
  | 'user-missing'
  | 'user-disabled'
  | 'revalidation-failed'
  | 'reauthentication-required'
  | 'idp-unavailable';

export type SessionLookup =
  | { readonly ok: true; readonly session: ActiveSession }
  | { readonly ok: false; readonly reason: SessionFailure; readonly userId?: string };

export type RevalidationResult =
  | {
      readonly ok: true;
      readonly groups?: readonly string[];
      readonly claims?: Readonly<Record<string, unknown>>;
      readonly email?: string;
      readonly refreshToken?: string;
      readonly idToken?: string;
    }
  /** `rejected`: the IdP refused (user disabled or removed, grant revoked): the session ends */
  | { readonly ok: false; readonly reason: 'rejected' | 'unavailable' | 'no-refresh-token' };

/** Checks a session with its IdP again; `RelyingParty.revalidator` is the usual one. */
export type SessionRevalidator = (session: ActiveSession) => Promise<RevalidationResult>;

export interface SessionManagerOptions {
  readonly sessions: SessionStore;
  readonly users: UserStore;
  readonly settings: SettingsStore;
  readonly devices?: DeviceStore;
  readonly box: SecretBox;
  readonly policy: SessionPolicy;
  readonly now?: () => number;
  readonly audit?: IdentityAuditSink;
  readonly events?: EventBus;
  readonly revalidator?: SessionRevalidator;
}

const EXTRAS_PREFIX = 'identity/session/';
/** `identity/reauth-after/<user id>`: ms since the epoch (see `reauthRequiredAfter`) */
export const REAUTH_PREFIX = 'identity/reauth-after/';
/**
 * Revocations after which the IdP's own sign-in session may be reused: an id change (fixation
 * defence, step-up), and a logout, which ends the IdP's session itself (RP-initiated or
 * back-channel logout). Every other revocation requires a new sign-in at the IdP.
 */
const NO_REAUTH = new Set(['replaced', 'rotated', 'logout', 'backchannel-logout']);

/**
 * When a user's sessions were last revoked for a reason other than an id change: identity
 * providers that keep their own sign-in session (the built-in IdP) ask for a new sign-in when
 * theirs is older, so a revoked browser cannot get a new ztgate session silently.
 */
export async function reauthRequiredAfter(
  settings: Pick<SettingsStore, 'get'>,
  userId: string,
): Promise<number | undefined> {
  const v = await settings.get(REAUTH_PREFIX + userId);
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}
const SID_PREFIX = 'identity/session-sid/';

/** `AA:BB:...` or `aabb...` -> `aabb...`; undefined when it is not a SHA-256 fingerprint. */
export function normalizeFingerprint(fp: string | null | undefined): string | undefined {
  if (fp === null || fp === undefined) return undefined;
  const hex = fp.replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

function sidKey(issuer: string, sid: string): string {
  return createHash('sha256').update(`${issuer}\0${sid}`).digest('hex');
}

/** A short, safe reference to a session for logs and the CLI: the first 16 hex digits of its hash. */
export function sessionRef(idHash: string): string {
  return idHash.slice(0, 16);
}

export class SessionManager {
  readonly policy: SessionPolicy;
  private readonly now: () => number;
  private readonly audit: IdentityAuditSink;
  private readonly inflight = new Map<string, Promise<SessionLookup>>();
  private revalidator: SessionRevalidator | undefined;

  constructor(private readonly o: SessionManagerOptions) {
    this.policy = o.policy;
    this.now = o.now ?? Date.now;
    this.audit = o.audit ?? (() => undefined);
    this.revalidator = o.revalidator;
  }

  /** Sets the revalidator once the relying party exists (they refer to each other). */
  setRevalidator(revalidator: SessionRevalidator | undefined): void {
    this.revalidator = revalidator;
  }

  private extrasKey(idHash: string): string {
    return EXTRAS_PREFIX + idHash;
  }

  private async readExtras(idHash: string): Promise<SessionExtras | undefined> {
    const key = this.extrasKey(idHash);
    const sealed = await this.o.settings.get(key);
    if (sealed === undefined) return undefined;
    return JSON.parse(this.o.box.open(sealed, key)) as SessionExtras;
  }

  private async writeExtras(idHash: string, extras: SessionExtras): Promise<void> {
    const key = this.extrasKey(idHash);
    await this.o.settings.set(key, this.o.box.seal(JSON.stringify(extras), key), this.now());
  }

  /** Creates a session with a new random id; revokes the one it replaces. */
  async create(input: NewSessionInput): Promise<CreatedSession> {
    const now = this.now();
    if (input.replaces !== undefined && isWellFormedSessionId(input.replaces)) {
      await this.revoke(hashSessionId(input.replaces), 'replaced');
    }
    const fingerprint = normalizeFingerprint(input.certFingerprint);
    if (input.certFingerprint && !fingerprint) {
      throw new TypeError('certFingerprint must be a hex SHA-256 fingerprint');
    }
    const rawId = newSessionId();
    const idHash = hashSessionId(rawId);
    const mfaMethods = [...(input.mfaMethods ?? [])];
    const extras: SessionExtras = {
      v: 1,
      certFingerprint: fingerprint ?? null,
      idp: input.idp ?? null,
      claims: input.claims ?? {},
      amr: [...(input.amr ?? [])],
      acr: input.acr ?? null,
      revalidatedAt: now,
    };
    // Extras first: a session record without them is refused by lookup, never half-trusted.
    await this.writeExtras(idHash, extras);
    if (input.idp?.sid) {
      await this.o.settings.set(
        `${SID_PREFIX}${sidKey(input.idp.issuer, input.idp.sid)}/${idHash}`,
        String(now),
        now,
      );
    }
    const record = await this.o.sessions.create({
      idHash,
      userId: input.userId,
      deviceId: input.deviceId ?? null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.policy.ttlMs,
      idleExpiresAt: now + this.policy.idleMs,
      mfaMethods,
      mfaAt: mfaMethods.length > 0 ? (input.mfaAt ?? now) : null,
    });
    emitAudit(this.audit, {
      kind: 'session',
      time: now,
      action: 'session.created',
      outcome: 'success',
      actor: { user: input.userId, ...(input.deviceId ? { device: input.deviceId } : {}) },
      ...(input.sourceIp ? { source_ip: input.sourceIp } : {}),
      resource: `session:${sessionRef(idHash)}`,
      details: { mfa_methods: mfaMethods, bound_to_certificate: fingerprint !== undefined },
    });
    return { rawId, idHash, record, cookie: sessionCookie(rawId, this.policy.ttlMs / 1000) };
  }

  /**
   * Looks up the session a request presents. Refuses (with the reason) a missing, malformed,
   * unknown, expired, idle, revoked or foreign-device session, and a disabled user. Records
   * activity and, when due, revalidates with the IdP (at most one revalidation per session at a
   * time in this process).
   */
  async lookup(
    rawId: string | undefined,
    context: { readonly certFingerprint?: string | null | undefined } = {},
  ): Promise<SessionLookup> {
    if (rawId === undefined || rawId === '') return { ok: false, reason: 'missing' };
    if (!isWellFormedSessionId(rawId)) return { ok: false, reason: 'malformed' };
    const idHash = hashSessionId(rawId);
    const record = await this.o.sessions.get(idHash);
    if (!record) return { ok: false, reason: 'unknown' };
    const now = this.now();
    const userId = record.userId;
    if (record.revokedAt !== null) return { ok: false, reason: 'revoked', userId };
    if (now >= record.expiresAt) return { ok: false, reason: 'expired', userId };
    if (now >= record.idleExpiresAt) return { ok: false, reason: 'idle', userId };
    const extras = await this.readExtras(idHash);
    if (!extras) return { ok: false, reason: 'unknown', userId };
    if (extras.certFingerprint !== null) {
      const presented = normalizeFingerprint(context.certFingerprint);
      if (
        !presented ||
        !timingSafeEqual(Buffer.from(presented, 'hex'), Buffer.from(extras.certFingerprint, 'hex'))
      ) {
        emitAudit(this.audit, {
          kind: 'session',
          time: now,
          action: 'session.device_mismatch',
          outcome: 'failure',
          actor: { user: userId },
          resource: `session:${sessionRef(idHash)}`,
          details: { certificate_presented: presented !== undefined },
        });
        return { ok: false, reason: 'device-mismatch', userId };
      }
    }
    const user = await this.o.users.get(userId);
    if (!user) return { ok: false, reason: 'user-missing', userId };
    if (user.disabled) return { ok: false, reason: 'user-disabled', userId };

    let active: ActiveSession = { idHash, record, user, extras };
    if (this.revalidator && now - extras.revalidatedAt >= this.policy.revalidateMs) {
      const result = await this.revalidateOnce(active);
      if (!result.ok) return result;
      active = result.session;
    }
    // Record activity, but not on every request: only when it moves the idle expiry by a minute or 1%.
    const idleExpiresAt = Math.min(now + this.policy.idleMs, record.expiresAt);
    const slack = Math.max(60_000, this.policy.idleMs / 100);
    if (idleExpiresAt - record.idleExpiresAt >= slack) {
      if (!(await this.o.sessions.touch(idHash, now, idleExpiresAt))) {
        return { ok: false, reason: 'revoked', userId };
      }
      active = { ...active, record: { ...active.record, lastSeenAt: now, idleExpiresAt } };
    }
    return { ok: true, session: active };
  }

  private revalidateOnce(session: ActiveSession): Promise<SessionLookup> {
    const running = this.inflight.get(session.idHash);
    if (running) return running;
    const p = this.revalidate(session).finally(() => this.inflight.delete(session.idHash));
    this.inflight.set(session.idHash, p);
    return p;
  }

  private async revalidate(session: ActiveSession): Promise<SessionLookup> {
    const revalidator = this.revalidator;
    if (!revalidator) return { ok: true, session };
    let result: RevalidationResult;
    try {
      result = await revalidator(session);
    } catch {
      result = { ok: false, reason: 'unavailable' };
    }
    const now = this.now();
    const userId = session.user.id;
    if (!result.ok) {
      if (result.reason === 'unavailable') {
        // Fail closed, but do not end the session: the IdP may be back on the next request.
        return { ok: false, reason: 'idp-unavailable', userId };
      }
      await this.revoke(
        session.idHash,
        result.reason === 'rejected' ? 'revalidation-failed' : 'reauthentication-required',
      );
      emitAudit(this.audit, {
        kind: 'session',
        time: now,
        action: 'session.revalidation_failed',
        outcome: 'failure',
        actor: { user: userId },
        resource: `session:${sessionRef(session.idHash)}`,
        details: { reason: result.reason },
      });
      return {
        ok: false,
        reason: result.reason === 'rejected' ? 'revalidation-failed' : 'reauthentication-required',
        userId,
      };
    }
    let user = session.user;
    if (
      result.groups !== undefined ||
      (result.email !== undefined && result.email !== user.email)
    ) {
      user = await this.o.users.update(user.id, {
        ...(result.groups !== undefined ? { groups: result.groups } : {}),
        ...(result.email !== undefined ? { email: result.email } : {}),
        at: now,
      });
    }
    const idp = session.extras.idp;
    const extras: SessionExtras = {
      ...session.extras,
      ...(result.claims !== undefined ? { claims: result.claims } : {}),
      idp: idp
        ? {
            ...idp,
            ...(result.refreshToken !== undefined ? { refreshToken: result.refreshToken } : {}),
            ...(result.idToken !== undefined ? { idToken: result.idToken } : {}),
          }
        : null,
      revalidatedAt: now,
    };
    await this.writeExtras(session.idHash, extras);
    return { ok: true, session: { ...session, user, extras } };
  }

  /** Records a completed MFA (login or step-up) on the session. */
  async recordMfa(
    idHash: string,
    methods: readonly string[],
    at: number,
    amr?: readonly string[],
    acr?: string | null,
  ): Promise<SessionRecord> {
    const record = await this.o.sessions.recordMfa(idHash, methods, at);
    if (amr !== undefined || acr !== undefined) {
      const extras = await this.readExtras(idHash);
      if (extras) {
        await this.writeExtras(idHash, {
          ...extras,
          ...(amr !== undefined ? { amr: [...amr] } : {}),
          ...(acr !== undefined ? { acr } : {}),
        });
      }
    }
    return record;
  }

  /**
   * Moves a session to a new id (privilege change: after a step-up), keeping its user, device,
   * expiry and IdP facts; the old id is revoked.
   */
  async rotate(
    session: ActiveSession,
    changes: { idp?: SessionIdp | null; claims?: Readonly<Record<string, unknown>> } = {},
  ): Promise<CreatedSession> {
    const now = this.now();
    const rawId = newSessionId();
    const idHash = hashSessionId(rawId);
    const extras: SessionExtras = {
      ...session.extras,
      ...(changes.idp !== undefined ? { idp: changes.idp } : {}),
      ...(changes.claims !== undefined ? { claims: changes.claims } : {}),
      revalidatedAt: now,
    };
    await this.writeExtras(idHash, extras);
    if (extras.idp?.sid) {
      await this.o.settings.set(
        `${SID_PREFIX}${sidKey(extras.idp.issuer, extras.idp.sid)}/${idHash}`,
        String(now),
        now,
      );
    }
    const record = await this.o.sessions.create({
      idHash,
      userId: session.record.userId,
      deviceId: session.record.deviceId,
      createdAt: session.record.createdAt,
      lastSeenAt: now,
      expiresAt: session.record.expiresAt,
      idleExpiresAt: Math.min(now + this.policy.idleMs, session.record.expiresAt),
      mfaMethods: session.record.mfaMethods,
      mfaAt: session.record.mfaAt,
    });
    await this.revoke(session.idHash, 'rotated');
    return {
      rawId,
      idHash,
      record,
      cookie: sessionCookie(rawId, Math.max(1, (session.record.expiresAt - now) / 1000)),
    };
  }

  /** Revokes one session by its hash; true when this call revoked it. */
  async revoke(idHash: string, reason = 'revoked', by?: string): Promise<boolean> {
    const now = this.now();
    const record = await this.o.sessions.get(idHash);
    const revoked = await this.o.sessions.revoke(idHash, now);
    if (revoked && record && !NO_REAUTH.has(reason)) await this.requireReauth(record.userId, now);
    if (revoked) {
      emitAudit(this.audit, {
        kind: 'session',
        time: now,
        action: 'session.revoked',
        outcome: 'success',
        actor: by ? { user: by } : record ? { user: record.userId } : {},
        resource: `session:${sessionRef(idHash)}`,
        details: { reason },
      });
      await this.publish({
        type: 'session.revoked',
        sessionIdHash: idHash,
        ...(record ? { userId: record.userId } : {}),
      });
    }
    return revoked;
  }

  private async requireReauth(userId: string, now: number): Promise<void> {
    await this.o.settings.set(REAUTH_PREFIX + userId, String(now), now);
  }

  /** Revokes every live session of a user; returns how many. */
  async revokeUser(userId: string, reason = 'revoked'): Promise<number> {
    const now = this.now();
    const n = await this.o.sessions.revokeAllForUser(userId, now);
    if (!NO_REAUTH.has(reason)) await this.requireReauth(userId, now);
    emitAudit(this.audit, {
      kind: 'session',
      time: now,
      action: 'session.revoked_all',
      outcome: 'success',
      actor: { user: userId },
      resource: `user:${userId}`,
      details: { reason, count: n },
    });
    await this.publish({ type: 'user.sessions_revoked', userId });
    return n;
  }

  /** Revokes every live session created on a device; returns how many. */
  async revokeDevice(deviceId: string, reason = 'revoked'): Promise<number> {
    if (!this.o.devices) throw new Error('revokeDevice needs the device store');
    const device = await this.o.devices.get(deviceId);
    if (!device) return 0;
    let n = 0;
    for (const s of await this.o.sessions.listByUser(device.userId)) {
      if (s.deviceId === deviceId && s.revokedAt === null && (await this.revoke(s.idHash, reason)))
        n++;
    }
    return n;
  }

  /** The live sessions an IdP `sid` (back-channel logout) refers to. */
  async sessionsForIdpSid(issuer: string, sid: string): Promise<string[]> {
    const prefix = `${SID_PREFIX}${sidKey(issuer, sid)}/`;
    return [...(await this.o.settings.list(prefix)).keys()].map((k) => k.slice(prefix.length));
  }

  /** The stored record of a session, without any check (logout, tools). */
  async record(idHash: string): Promise<SessionRecord | undefined> {
    return this.o.sessions.get(idHash);
  }

  /** The IdP facts of a session (for logout: the `id_token_hint`). */
  async idpOf(idHash: string): Promise<SessionIdp | null> {
    return (await this.readExtras(idHash))?.idp ?? null;
  }

  /**
   * Housekeeping: deletes expired sessions and the per-session records whose session is gone or
   * ended. Returns the number of sessions deleted.
   */
  async sweep(): Promise<number> {
    const now = this.now();
    const n = await this.o.sessions.deleteExpired(now);
    for (const key of (await this.o.settings.list(EXTRAS_PREFIX)).keys()) {
      const idHash = key.slice(EXTRAS_PREFIX.length);
      const s = await this.o.sessions.get(idHash);
      if (!s || s.revokedAt !== null || s.expiresAt <= now || s.idleExpiresAt <= now) {
        await this.o.settings.delete(key);
      }
    }
    for (const key of (await this.o.settings.list(SID_PREFIX)).keys()) {
      const idHash = key.slice(key.lastIndexOf('/') + 1);
      const s = await this.o.sessions.get(idHash);
      if (!s || s.revokedAt !== null || s.expiresAt <= now) await this.o.settings.delete(key);
    }
    return n;
  }

  private async publish(event: Parameters<EventBus['publish']>[0]): Promise<void> {
    if (!this.o.events) return;
    try {
      await this.o.events.publish(event);
    } catch {
      // The store already holds the revocation and every lookup reads it; events are a fast path.
    }
  }
}

/**
 * The error code for a refused session, for the proxy's 401 JSON and its logs: the device and
 * revalidation cases are told apart, every other reason is "sign in again".
 */
export function sessionFailureCode(reason: SessionFailure): ErrorCode {
  switch (reason) {
    case 'device-mismatch':
      return 'ZT_IDENTITY_SESSION_DEVICE_MISMATCH';
    case 'revalidation-failed':
      return 'ZT_IDENTITY_REVALIDATION_FAILED';
    case 'idp-unavailable':
      return 'ZT_IDENTITY_IDP_UNAVAILABLE';
    case 'user-disabled':
      return 'ZT_IDENTITY_USER_DISABLED';
    case 'missing':
    case 'malformed':
    case 'unknown':
    case 'expired':
    case 'idle':
    case 'revoked':
    case 'user-missing':
    case 'reauthentication-required':
      return 'ZT_IDENTITY_SESSION_INVALID';
  }
}

/** The user and session facts of a decision input (the shape of the PDP's `DecisionInput`). */
export interface SessionDecisionFacts {
  readonly user: {
    readonly id: string;
    readonly email: string;
    readonly groups: readonly string[];
    readonly claims: Readonly<Record<string, unknown>>;
  };
  readonly session: {
    readonly id: string;
    readonly mfa: { readonly methods: readonly string[]; readonly at?: number };
  };
}

/**
 * Turns a valid session into the `user` and `session` fields of the PDP's decision input. The
 * session id given to policies is the short hash reference (never the raw cookie value); the MFA
 * time is epoch milliseconds.
 */
export function toDecisionFacts(session: ActiveSession): SessionDecisionFacts {
  const { record, user, extras } = session;
  return {
    user: { id: user.id, email: user.email, groups: user.groups, claims: extras.claims },
    session: {
      id: sessionRef(session.idHash),
      mfa:
        record.mfaAt === null
          ? { methods: record.mfaMethods }
          : { methods: record.mfaMethods, at: record.mfaAt },
    },
  };
}
