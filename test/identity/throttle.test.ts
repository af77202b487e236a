/** Brute-force protection: per-account and per-address backoff, lockout, audit. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LoginThrottle } from '../../src/identity/throttle.js';
import { auditCollector, TestClock, tempStore, type TempStore } from './helpers/env.js';

describe('login throttle', () => {
  let env: TempStore;
  before(async () => {
    env = await tempStore();
  });
  after(() => env.cleanup());

  it('lets three failures through, then doubles the wait, then locks the account and audits it', async () => {
    const clock = new TestClock();
    const audit = auditCollector();
    const t = new LoginThrottle(env.store.settings, audit.sink, clock.now);
    const attempt = { email: 'Alice@Example.com', ip: '203.0.113.1', userId: 'u1' };
    for (let i = 0; i < 3; i++) {
      assert.equal((await t.check(attempt)).allowed, true);
      await t.recordFailure(attempt, 'bad-password');
    }
    let v = await t.check(attempt);
    assert.equal(v.allowed, false);
    assert.ok(
      !v.allowed && v.reason === 'throttled' && v.scope === 'account' && v.retryAfterMs === 1000,
    );
    // the same account typed differently is the same account
    assert.equal(
      (await t.check({ ...attempt, email: ' alice@example.COM ', ip: '198.51.100.7' })).allowed,
      false,
    );
    clock.advance(1000);
    assert.equal((await t.check(attempt)).allowed, true);
    await t.recordFailure(attempt, 'bad-password');
    v = await t.check(attempt);
    assert.ok(!v.allowed && v.retryAfterMs === 2000, 'the wait doubles');
    for (let i = 0; i < 6; i++) {
      clock.advance(60_000);
      await t.recordFailure(attempt, 'bad-password');
    }
    v = await t.check(attempt);
    assert.ok(!v.allowed && v.reason === 'locked' && v.retryAfterMs === 15 * 60_000);
    const actions = audit.events.map((e) => e.action);
    assert.equal(actions.filter((a) => a === 'login.failed').length, 10);
    assert.equal(actions.filter((a) => a === 'login.locked').length, 1);
    assert.ok(actions.includes('login.throttled'));
    const locked = audit.events.find((e) => e.action === 'login.locked');
    assert.equal(locked?.details?.scope, 'account');
    assert.equal(locked?.actor?.user, 'u1');
    assert.equal(locked?.source_ip, '203.0.113.1');
    // the lockout ends by itself
    clock.advance(15 * 60_000);
    assert.equal((await t.check(attempt)).allowed, true);
  });

  it('a success clears the account count', async () => {
    const clock = new TestClock();
    const t = new LoginThrottle(env.store.settings, () => undefined, clock.now);
    const attempt = { email: 'bob@example.com', ip: '203.0.113.2' };
    for (let i = 0; i < 3; i++) await t.recordFailure(attempt, 'bad-password');
    await t.recordSuccess(attempt);
    await t.recordFailure(attempt, 'bad-password');
    assert.equal((await t.check(attempt)).allowed, true);
  });

  it('throttles an address spraying many accounts', async () => {
    const clock = new TestClock();
    const t = new LoginThrottle(env.store.settings, () => undefined, clock.now);
    for (let i = 0; i < 10; i++)
      await t.recordFailure({ email: `user${i}@example.com`, ip: '192.0.2.9' }, 'unknown-user');
    const v = await t.check({ email: 'fresh@example.com', ip: '192.0.2.9' });
    assert.ok(!v.allowed && v.scope === 'ip');
    assert.equal((await t.check({ email: 'fresh@example.com', ip: '192.0.2.10' })).allowed, true);
  });

  it('counts unknown accounts like known ones (no account enumeration)', async () => {
    const clock = new TestClock();
    const t = new LoginThrottle(env.store.settings, () => undefined, clock.now);
    for (let i = 0; i < 3; i++)
      await t.recordFailure({ email: 'ghost@example.com', ip: `10.0.0.${i}` }, 'unknown-user');
    assert.equal((await t.check({ email: 'ghost@example.com', ip: '10.0.0.9' })).allowed, false);
    const keys = [...(await env.store.settings.list('identity/throttle/')).keys()];
    assert.ok(
      keys.every((k) => !k.includes('@')),
      'emails are not stored in the clear',
    );
  });
});
