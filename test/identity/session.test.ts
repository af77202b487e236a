/** Sessions: opaque ids, hashed storage, ttl, idle, revocation, device binding, revalidation, decision input. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  SESSION_COOKIE,
  parseCookies,
  sessionIdFromCookies,
} from '../../src/identity/session/cookie.js';
import {
  SessionManager,
  sessionFailureCode,
  sessionPolicyFromConfig,
  toDecisionFacts,
  type RevalidationResult,
  type SessionRevalidator,
} from '../../src/identity/session/session-manager.js';
import { SecretBox } from '../../src/identity/secret-box.js';
import { decide } from '../../src/pdp/test-helpers/decide.js';
import type { DecisionInput } from '../../src/pdp/input.js';
import { AUDIT_KINDS, type AuditEvent } from '../../src/audit/record.js';
import type { IdentityAuditEvent } from '../../src/identity/audit.js';
import { hashSessionId } from '../../src/store/store.js';
import { auditCollector, TestClock, tempStore, type TempStore } from './helpers/env.js';

const FP = 'ab'.repeat(32);

describe('sessions', () => {
  let env: TempStore;
  const clock = new TestClock();
  const audit = auditCollector();
  let sessions: SessionManager;
  let revalidations = 0;
  let nextRevalidation: RevalidationResult = { ok: true };
  const revalidator: SessionRevalidator = () => {
    revalidations++;
    return Promise.resolve(nextRevalidation);
  };

  before(async () => {
    env = await tempStore();
    for (const id of ['u1', 'u2', 'u3']) {
      await env.store.users.create({
        id,
        email: `${id}@example.com`,
        groups: ['engineering'],
        at: clock.t,
      });
    }
    await env.store.devices.create({
      id: 'd1',
      userId: 'u2',
      hostname: 'laptop',
      os: 'linux',
      enrolledAt: clock.t,
    });
    sessions = new SessionManager({
      sessions: env.store.sessions,
      users: env.store.users,
      settings: env.store.settings,
      devices: env.store.devices,
      box: SecretBox.random(),
      policy: sessionPolicyFromConfig({ ttl: '8h', idle: '1h', revalidate: '15m' }),
      now: clock.now,
      audit: audit.sink,
      revalidator,
    });
  });
  after(() => env.cleanup());

  it('issues a 256-bit opaque id in a __Host- cookie and stores only its SHA-256', async () => {
    const s = await sessions.create({
      userId: 'u1',
      mfaMethods: ['totp'],
      claims: { email_verified: true },
    });
    assert.match(s.rawId, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(s.rawId, 'base64url').length, 32);
    assert.equal(s.idHash, hashSessionId(s.rawId));
    assert.equal(
      s.cookie,
      `${SESSION_COOKIE}=${s.rawId}; Path=/; Max-Age=28800; Secure; HttpOnly; SameSite=Lax`,
    );
    assert.ok(await env.store.sessions.get(s.idHash));
    assert.equal(await env.store.sessions.get(s.rawId), undefined, 'the raw id is not a key');
    for (const v of (await env.store.settings.list('')).values()) assert.ok(!v.includes(s.rawId));
    assert.equal(sessionIdFromCookies(`a=b; ${SESSION_COOKIE}=${s.rawId}; c=d`), s.rawId);
    assert.equal(sessionIdFromCookies(`${SESSION_COOKIE}=not-a-session-id`), undefined);
    assert.equal(parseCookies('x="quoted"').get('x'), 'quoted');
    const found = await sessions.lookup(s.rawId);
    assert.ok(found.ok);
    assert.equal(found.session.user.email, 'u1@example.com');
  });

  it('refuses missing, malformed and unknown ids', async () => {
    assert.deepEqual(await sessions.lookup(undefined), { ok: false, reason: 'missing' });
    assert.deepEqual(await sessions.lookup('abc'), { ok: false, reason: 'malformed' });
    assert.deepEqual(await sessions.lookup('A'.repeat(43)), { ok: false, reason: 'unknown' });
  });

  it('ends a session left idle, and an active one at its absolute ttl', async () => {
    const idle = await sessions.create({ userId: 'u1' });
    clock.advance(60 * 60_000);
    assert.deepEqual(await sessions.lookup(idle.rawId), {
      ok: false,
      reason: 'idle',
      userId: 'u1',
    });

    nextRevalidation = { ok: true };
    const busy = await sessions.create({ userId: 'u1' });
    for (let i = 0; i < 15; i++) {
      clock.advance(30 * 60_000);
      const r = await sessions.lookup(busy.rawId);
      assert.ok(r.ok, `still alive after ${(i + 1) * 30} minutes of activity`);
    }
    clock.advance(30 * 60_000);
    assert.deepEqual(await sessions.lookup(busy.rawId), {
      ok: false,
      reason: 'expired',
      userId: 'u1',
    });
  });

  it('a revoked session is refused on its next request', async () => {
    const s = await sessions.create({ userId: 'u1' });
    assert.ok((await sessions.lookup(s.rawId)).ok);
    assert.equal(await sessions.revoke(s.idHash, 'logout'), true);
    assert.deepEqual(await sessions.lookup(s.rawId), {
      ok: false,
      reason: 'revoked',
      userId: 'u1',
    });
    assert.equal(await sessions.revoke(s.idHash), false);
    assert.ok(
      audit.events.some((e) => e.action === 'session.revoked' && e.details?.reason === 'logout'),
    );
  });

  it('revokes by user and by device', async () => {
    const a = await sessions.create({ userId: 'u2', deviceId: 'd1' });
    const b = await sessions.create({ userId: 'u2' });
    const c = await sessions.create({ userId: 'u3' });
    assert.equal(await sessions.revokeDevice('d1'), 1);
    assert.equal((await sessions.lookup(a.rawId)).ok, false);
    assert.equal((await sessions.lookup(b.rawId)).ok, true);
    assert.equal(await sessions.revokeUser('u2'), 1);
    assert.equal((await sessions.lookup(b.rawId)).ok, false);
    assert.equal((await sessions.lookup(c.rawId)).ok, true);
  });

  it('a session bound to a device certificate is refused without it', async () => {
    const s = await sessions.create({
      userId: 'u3',
      certFingerprint: FP.toUpperCase().match(/../g)?.join(':') ?? '',
    });
    assert.deepEqual(await sessions.lookup(s.rawId), {
      ok: false,
      reason: 'device-mismatch',
      userId: 'u3',
    });
    assert.deepEqual(await sessions.lookup(s.rawId, { certFingerprint: 'cd'.repeat(32) }), {
      ok: false,
      reason: 'device-mismatch',
      userId: 'u3',
    });
    assert.ok((await sessions.lookup(s.rawId, { certFingerprint: FP })).ok);
    const unbound = await sessions.create({ userId: 'u3' });
    assert.ok(
      (await sessions.lookup(unbound.rawId, { certFingerprint: FP })).ok,
      'an unbound session accepts any',
    );
    assert.ok(audit.events.some((e) => e.action === 'session.device_mismatch'));
  });

  it('a new sign-in gets a new id and ends the one the browser had (session fixation)', async () => {
    const planted = await sessions.create({ userId: 'u3' });
    const fresh = await sessions.create({ userId: 'u3', replaces: planted.rawId });
    assert.notEqual(fresh.rawId, planted.rawId);
    assert.equal((await sessions.lookup(planted.rawId)).ok, false);
    assert.ok((await sessions.lookup(fresh.rawId)).ok);
  });

  it('a disabled user loses every session at once', async () => {
    const s = await sessions.create({ userId: 'u3' });
    await env.store.users.update('u3', { disabled: true, at: clock.t });
    assert.deepEqual(await sessions.lookup(s.rawId), {
      ok: false,
      reason: 'user-disabled',
      userId: 'u3',
    });
    await env.store.users.update('u3', { disabled: false, at: clock.t });
  });

  it('revalidates with the IdP every `revalidate` and ends the session when the IdP refuses', async () => {
    nextRevalidation = { ok: true, groups: ['engineering', 'oncall'], claims: { team: 'sre' } };
    const s = await sessions.create({ userId: 'u1' });
    revalidations = 0;
    clock.advance(10 * 60_000);
    assert.ok((await sessions.lookup(s.rawId)).ok);
    assert.equal(revalidations, 0, 'not before the interval');
    clock.advance(5 * 60_000);
    const r = await sessions.lookup(s.rawId);
    assert.ok(r.ok);
    assert.equal(revalidations, 1);
    assert.deepEqual(r.session.user.groups, ['engineering', 'oncall'], 'groups follow the IdP');
    assert.deepEqual(r.session.extras.claims, { team: 'sre' });

    nextRevalidation = { ok: false, reason: 'unavailable' };
    clock.advance(15 * 60_000);
    assert.deepEqual(await sessions.lookup(s.rawId), {
      ok: false,
      reason: 'idp-unavailable',
      userId: 'u1',
    });
    nextRevalidation = { ok: true };
    assert.ok((await sessions.lookup(s.rawId)).ok, 'the session survives an IdP outage');

    nextRevalidation = { ok: false, reason: 'rejected' };
    clock.advance(15 * 60_000);
    assert.deepEqual(await sessions.lookup(s.rawId), {
      ok: false,
      reason: 'revalidation-failed',
      userId: 'u1',
    });
    nextRevalidation = { ok: true };
    assert.deepEqual(await sessions.lookup(s.rawId), {
      ok: false,
      reason: 'revoked',
      userId: 'u1',
    });
  });

  it('turns a session into decision input the PDP understands', async () => {
    const s = await sessions.create({
      userId: 'u1',
      mfaMethods: ['totp', 'otp'],
      mfaAt: clock.t,
      claims: { team: 'sre' },
    });
    const r = await sessions.lookup(s.rawId);
    assert.ok(r.ok);
    const facts = toDecisionFacts(r.session);
    assert.equal(facts.session.id, s.idHash.slice(0, 16));
    assert.deepEqual(facts.session.mfa, { methods: ['otp', 'totp'], at: clock.t });
    const policy = {
      allow: [{ groups: ['engineering'], mfa: { max_age: '30m', methods: ['totp'] } }],
    };
    const input: DecisionInput = {
      ...facts,
      request: { method: 'GET', path: '/', time: clock.t + 10 * 60_000 },
    };
    assert.equal(decide(policy, input).decision, 'allow');
    assert.equal(
      decide(policy, { ...input, request: { ...input.request, time: clock.t + 31 * 60_000 } })
        .decision,
      'step_up',
    );
    const webauthnOnly = { allow: [{ mfa: { methods: ['webauthn'] } }] };
    assert.equal(decide(webauthnOnly, input).decision, 'step_up');
  });

  it('sweeps ended sessions and their encrypted records', async () => {
    clock.advance(9 * 3_600_000);
    assert.ok((await sessions.sweep()) > 0);
    assert.equal((await env.store.settings.list('identity/session/')).size, 0);
  });

  it('names each refusal with an error code for the proxy', () => {
    assert.equal(sessionFailureCode('device-mismatch'), 'ZT_IDENTITY_SESSION_DEVICE_MISMATCH');
    assert.equal(sessionFailureCode('revalidation-failed'), 'ZT_IDENTITY_REVALIDATION_FAILED');
    assert.equal(sessionFailureCode('idp-unavailable'), 'ZT_IDENTITY_IDP_UNAVAILABLE');
    assert.equal(sessionFailureCode('idle'), 'ZT_IDENTITY_SESSION_INVALID');
  });

  it('emits audit events the audit component accepts as they are', () => {
    // compile-time: an identity event is an AuditEvent; run-time: its kind is one the log knows
    const asAudit = (e: IdentityAuditEvent): AuditEvent => e;
    assert.ok(audit.events.length > 5);
    for (const e of audit.events)
      assert.ok((AUDIT_KINDS as readonly string[]).includes(asAudit(e).kind), e.kind);
  });
});
