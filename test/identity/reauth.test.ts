/**
 * A revocation (other than an id change) records when it happened, so that the built-in IdP asks
 * for a new sign-in instead of reusing its own, older sign-in session (docs/console.md, "What
 * revoking a session does and does not end"; the browser side is in test/e2e/console.test.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SecretBox } from '../../src/identity/secret-box.js';
import { SessionManager, reauthRequiredAfter } from '../../src/identity/session/session-manager.js';
import { UserAdmin } from '../../src/identity/users.js';
import { tempStore, TestClock } from './helpers/env.js';

describe('re-authentication after a revocation', async () => {
  const env = await tempStore();
  after(() => env.cleanup());
  const clock = new TestClock(Date.parse('2026-11-22T10:00:00Z'));
  const sessions = new SessionManager({
    sessions: env.store.sessions,
    users: env.store.users,
    settings: env.store.settings,
    box: SecretBox.random(),
    policy: { ttlMs: 3_600_000, idleMs: 3_600_000, revalidateMs: 3_600_000 },
    now: () => clock.now(),
  });
  const user = await new UserAdmin({ users: env.store.users }).add({ email: 'gus@example.com' });

  it('is not required while nothing was revoked, nor after an id change or a logout', async () => {
    const a = await sessions.create({ userId: user.id });
    assert.equal(await reauthRequiredAfter(env.store.settings, user.id), undefined);
    const b = await sessions.create({ userId: user.id, replaces: a.rawId });
    assert.equal(await reauthRequiredAfter(env.store.settings, user.id), undefined);
    // a logout ends the IdP's own session itself: signing in right after is not asked twice
    await sessions.revoke(b.idHash, 'logout');
    assert.equal(await reauthRequiredAfter(env.store.settings, user.id), undefined);
  });

  it('is required after a revocation of one session or of all', async () => {
    const s = await sessions.create({ userId: user.id });
    clock.advance(1_000);
    await sessions.revoke(s.idHash, 'admin');
    assert.equal(await reauthRequiredAfter(env.store.settings, user.id), clock.now());
    clock.advance(5_000);
    await sessions.revokeUser(user.id, 'cli');
    assert.equal(await reauthRequiredAfter(env.store.settings, user.id), clock.now());
  });
});
