import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { AssertionSigner, verifyAssertion } from './assertion.js';
import { KeyRing, MemoryKeyRingStorage } from './key-ring.js';

const ISSUER = 'https://auth.localhost:8443';
const T0 = Date.parse('2026-11-22T10:00:00Z');
const MIN = 60_000;
const alice = { userId: 'u1', email: 'alice@example.com', groups: ['engineering'], deviceId: 'd1' };

async function ring(storage = new MemoryKeyRingStorage(), now = T0) {
  const r = new KeyRing(storage, { rotateAfterMs: 24 * 60 * MIN, maxTokenTtlMs: 5 * MIN });
  await r.refresh(now);
  return r;
}

describe('identity assertions', () => {
  it('carries the claims of PRODUCT.md and verifies against the JWKS', async () => {
    const keys = await ring();
    const signer = new AssertionSigner(keys, ISSUER);
    const token = await signer.assertionFor(alice, 'app.localhost', T0);
    const claims = await verifyAssertion(token, keys.jwks(), {
      issuer: ISSUER,
      audience: 'app.localhost',
      now: T0,
    });
    assert.equal(claims.sub, 'u1');
    assert.equal(claims.email, 'alice@example.com');
    assert.deepEqual(claims.groups, ['engineering']);
    assert.equal(claims.device_id, 'd1');
    assert.ok(claims.exp - claims.iat <= 300);
    assert.equal(decodeProtectedHeader(token).alg, 'ES256');
    assert.ok(typeof claims.jti === 'string' && claims.jti.length > 0);
    assert.equal(
      keys.jwks().keys.every((k) => k.d === undefined),
      true,
      'the JWKS never holds a private key',
    );
  });

  it('reuses a fresh assertion and signs a new one past half its life', async () => {
    const signer = new AssertionSigner(await ring(), ISSUER);
    const a = await signer.assertionFor(alice, 'app.localhost', T0);
    assert.equal(await signer.assertionFor(alice, 'app.localhost', T0 + 2 * MIN), a);
    assert.notEqual(await signer.assertionFor(alice, 'app.localhost', T0 + 3 * MIN), a);
    assert.notEqual(
      await signer.assertionFor(alice, 'other.localhost', T0),
      a,
      'audience is part of the key',
    );
    assert.notEqual(
      await signer.assertionFor({ ...alice, groups: ['hr'] }, 'app.localhost', T0),
      a,
    );
    const joined = await signer.assertionFor({ ...alice, groups: ['a\nb'] }, 'app.localhost', T0);
    const split = await signer.assertionFor({ ...alice, groups: ['a', 'b'] }, 'app.localhost', T0);
    assert.notEqual(split, joined, 'group lists never collide in the cache');
  });

  it('rotates keys and keeps retired ones published until their assertions expired', async () => {
    const storage = new MemoryKeyRingStorage();
    const keys = await ring(storage);
    const signer = new AssertionSigner(keys, ISSUER);
    const old = await signer.assertionFor(alice, 'app.localhost', T0);
    const oldKid = decodeProtectedHeader(old).kid;
    const day = 24 * 60 * MIN;
    await keys.refresh(T0 + day);
    const fresh = await signer.assertionFor(alice, 'app.localhost', T0 + day);
    assert.notEqual(decodeProtectedHeader(fresh).kid, oldKid, 'a new key signs after rotation');
    assert.equal(keys.jwks().keys.length, 2);
    await verifyAssertion(old, keys.jwks(), {
      issuer: ISSUER,
      audience: 'app.localhost',
      now: T0 + 1000,
    });
    await keys.refresh(T0 + day + 7 * MIN);
    assert.deepEqual(
      keys.jwks().keys.map((k) => k.kid),
      [decodeProtectedHeader(fresh).kid],
    );
  });

  it('replicas sharing the storage sign with the same key', async () => {
    const storage = new MemoryKeyRingStorage();
    const a = await ring(storage);
    const b = await ring(storage);
    assert.equal(a.signingKey().kid, b.signingKey().kid);
  });

  it('replicas rotating at the same moment agree on one key and publish the same set', async () => {
    const storage = new MemoryKeyRingStorage();
    const options = { rotateAfterMs: 24 * 60 * MIN, maxTokenTtlMs: 5 * MIN };
    const replicas = [1, 2, 3, 4].map(() => new KeyRing(storage, options));
    await Promise.all(replicas.map((r) => r.refresh(T0)));
    const kids = new Set(replicas.map((r) => r.signingKey().kid));
    assert.equal(kids.size, 1, 'one key for the period, whoever wrote it');
    await Promise.all(replicas.map((r) => r.refresh(T0 + 24 * 60 * MIN)));
    assert.equal(new Set(replicas.map((r) => r.signingKey().kid)).size, 1);
    for (const r of replicas)
      assert.equal(r.jwks().keys.length, 2, 'the retired key is still published');
  });

  it('upstream verification refuses forged, foreign and expired assertions', async () => {
    const keys = await ring();
    const jwks = keys.jwks();
    const signer = new AssertionSigner(keys, ISSUER);
    const good = await signer.assertionFor(alice, 'app.localhost', T0);
    const check = (t: string, audience = 'app.localhost', now = T0) =>
      verifyAssertion(t, jwks, { issuer: ISSUER, audience, now });
    await assert.rejects(check(good, 'other.localhost'));
    await assert.rejects(check(good, 'app.localhost', T0 + 10 * MIN));
    const none = new UnsecuredJWT({ ...decodeJwt(good) }).encode();
    await assert.rejects(check(none));
    // HMAC signed with the public key as the secret: the classic algorithm confusion.
    const pub = JSON.stringify(jwks.keys[0]);
    const hmac = await new SignJWT({ ...decodeJwt(good) })
      .setProtectedHeader({ alg: 'HS256', kid: jwks.keys[0]?.kid as string })
      .sign(new TextEncoder().encode(pub));
    await assert.rejects(check(hmac));
    const [h, p] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(good), sub: 'admin' })).toString('base64url')}.${good.split('.')[2]}`;
    assert.ok(p);
    await assert.rejects(check(tampered));
  });

  it('refuses lifetimes over 5 minutes', () => {
    assert.throws(() => new AssertionSigner({} as KeyRing, ISSUER, 6 * MIN), RangeError);
  });
});
