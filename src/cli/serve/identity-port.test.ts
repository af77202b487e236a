import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identity } from '../../identity/identity.js';
import type { SessionLookup } from '../../identity/session/session-manager.js';
import { PortUnavailableError } from '../../pep/ports.js';
import { ZtError } from '../../shared/errors.js';
import { serverIdentityPort } from './identity-port.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const RAW = 'a'.repeat(43);
const HASH = 'c'.repeat(64);

function okLookup(groups: string[]): SessionLookup {
  return {
    ok: true,
    session: {
      idHash: HASH,
      record: {
        userId: 'u1',
        deviceId: null,
        mfaMethods: ['totp'],
        mfaAt: T0 - 60_000,
        expiresAt: T0 + 3_600_000,
        idleExpiresAt: T0 + 3_600_000,
      },
      user: { id: 'u1', email: 'alice@example.com', groups },
      extras: { certFingerprint: null, claims: {} },
    },
  } as unknown as SessionLookup;
}

function fakeIdentity() {
  const f = {
    lookups: 0,
    next: okLookup(['engineering']) as SessionLookup | Error,
    token: undefined as Error | undefined,
  };
  const identity = {
    sessions: {
      lookup: () => {
        f.lookups++;
        return f.next instanceof Error ? Promise.reject(f.next) : Promise.resolve(f.next);
      },
    },
    tokens: {
      verify: () =>
        f.token
          ? Promise.reject(f.token)
          : Promise.resolve({
              kind: 'user',
              subject: 'u2',
              email: 'ci@example.com',
              groups: ['ci'],
              jti: 'j1',
              audience: 'x',
              expiresAt: T0 + 60_000,
            }),
    },
    auth: { signInUrl: (r: string) => `https://auth.example.com/oauth2/sign_in?return_to=${r}` },
    handoff: {},
  } as unknown as Identity;
  return { f, identity };
}

const request = (
  over: Partial<Parameters<ReturnType<typeof serverIdentityPort>['resolve']>[0]> = {},
) => ({
  host: 'app.example.com',
  cookie: `__Host-ztgate_session=${RAW}`,
  authorization: undefined,
  clientCertFingerprint: undefined,
  sourceIp: '203.0.113.9',
  ...over,
});

describe('the server identity port', () => {
  it('turns a session into decision facts and reuses it for a short time only', async () => {
    let now = T0;
    const { f, identity } = fakeIdentity();
    const port = serverIdentityPort(identity, {
      publicUrl: 'https://auth.example.com',
      now: () => now,
    });
    const a = await port.resolve(request());
    assert.equal(a?.user.email, 'alice@example.com');
    assert.equal(a?.session.id, HASH.slice(0, 16), 'the short reference, never the cookie');
    assert.deepEqual(a?.session.mfa, { methods: ['totp'], at: T0 - 60_000 });
    await port.resolve(request());
    assert.equal(f.lookups, 1, 'cached');
    now += 2_001;
    await port.resolve(request());
    assert.equal(f.lookups, 2, 'the cache time passed');
    port.forgetSession(HASH);
    f.next = { ok: false, reason: 'revoked', userId: 'u1' };
    assert.equal(await port.resolve(request()), undefined, 'a revoked session is no session');
  });

  it('drops cached sessions of a user and everything on clear', async () => {
    const { f, identity } = fakeIdentity();
    const port = serverIdentityPort(identity, {
      publicUrl: 'https://auth.example.com',
      now: () => T0,
    });
    await port.resolve(request());
    port.forgetUser('u1');
    await port.resolve(request());
    port.clear();
    await port.resolve(request());
    assert.equal(f.lookups, 3);
  });

  it('fails closed: store errors and an unreachable IdP are 503, not "signed out"', async () => {
    const { f, identity } = fakeIdentity();
    const port = serverIdentityPort(identity, {
      publicUrl: 'https://auth.example.com',
      now: () => T0,
    });
    f.next = new ZtError('ZT_STORE_UNAVAILABLE', 'down');
    await assert.rejects(Promise.resolve(port.resolve(request())), PortUnavailableError);
    f.next = { ok: false, reason: 'idp-unavailable', userId: 'u1' };
    await assert.rejects(Promise.resolve(port.resolve(request())), PortUnavailableError);
  });

  it('bearer tokens: valid ones resolve, invalid ones are no credential, failures are 503', async () => {
    const { f, identity } = fakeIdentity();
    const port = serverIdentityPort(identity, {
      publicUrl: 'https://auth.example.com',
      now: () => T0,
    });
    const auth = request({ cookie: undefined, authorization: 'Bearer a.b.c' });
    const t = await port.resolve(auth);
    assert.equal(t?.user.id, 'u2');
    assert.equal(t?.session.id, 'token:j1');
    f.token = new ZtError('ZT_IDENTITY_TOKEN_REVOKED', 'revoked');
    assert.equal(await port.resolve(auth), undefined);
    f.token = new ZtError('ZT_STORE_UNAVAILABLE', 'down');
    await assert.rejects(Promise.resolve(port.resolve(auth)), PortUnavailableError);
  });

  it('sends step-ups to the public host with the requirement', () => {
    const { identity } = fakeIdentity();
    const port = serverIdentityPort(identity, { publicUrl: 'https://auth.example.com/' });
    const url = new URL(
      port.stepUpUrl('https://app.example.com/x', { max_age: 300, methods: ['webauthn'] }),
    );
    assert.equal(url.origin, 'https://auth.example.com');
    assert.equal(url.pathname, '/oauth2/step_up');
    assert.equal(url.searchParams.get('return_to'), 'https://app.example.com/x');
    assert.equal(url.searchParams.get('max_age'), '300');
    assert.equal(url.searchParams.get('methods'), 'webauthn');
  });
});
