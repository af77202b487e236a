import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { AssertionSigner } from '../../pep/assertion/assertion.js';
import { KeyRing, MemoryKeyRingStorage } from '../../pep/assertion/key-ring.js';
import { createDemoApp } from './demo-app.js';

const ISSUER = 'https://auth.localhost:8443';

describe('quickstart demo app', async () => {
  const ring = new KeyRing(new MemoryKeyRingStorage(), {
    rotateAfterMs: 86_400_000,
    maxTokenTtlMs: 300_000,
  });
  await ring.refresh(Date.now());
  const signer = new AssertionSigner(ring, ISSUER);
  let fetches = 0;
  const app = createDemoApp({
    issuer: ISSUER,
    fetchJwks: () => {
      fetches++;
      return Promise.resolve(ring.jwks());
    },
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  after(() => app.close());
  const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/hello?x=1`;
  const get = (headers: Record<string, string>) =>
    fetch(url, { headers: { 'x-forwarded-host': 'app.localhost:8443', ...headers } });

  it('shows the verified identity, escaped', async () => {
    const token = await signer.assertionFor(
      {
        userId: 'u1',
        email: 'alice@example.com',
        groups: ['engineering', '<script>x</script>'],
        deviceId: 'd1',
      },
      'app.localhost:8443',
      Date.now(),
    );
    const res = await get({ 'x-ztgate-jwt-assertion': token });
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /alice@example\.com/);
    assert.match(body, /&#60;script&#62;/);
    assert.doesNotMatch(body, /<script>/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(fetches, 1);
  });

  it('refuses requests without an assertion or with one for another app', async () => {
    assert.equal((await get({})).status, 401);
    const other = await signer.assertionFor({ userId: 'u1' }, 'other.localhost', Date.now());
    assert.equal((await get({ 'x-ztgate-jwt-assertion': other })).status, 401);
    assert.equal((await get({ 'x-ztgate-jwt-assertion': 'a.b.c' })).status, 401);
    const portless = await signer.assertionFor({ userId: 'u1' }, 'app.localhost', Date.now());
    assert.equal(
      (await get({ 'x-ztgate-jwt-assertion': portless })).status,
      401,
      'the port is part of the audience',
    );
  });
});
