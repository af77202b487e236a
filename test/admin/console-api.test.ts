/**
 * The endpoints the console and the portal are built on: overview counts, request explanations,
 * the polling tail and the what-if simulator for admins; and the portal's `/me/...`, where a user
 * reaches their own sessions, devices and denials and nobody else's (404, as for a record that
 * does not exist).
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../src/audit/record.js';
import { call, startHarness, type Harness } from './helpers.js';

describe('console and portal API', () => {
  let h: Harness;
  const ids = { userDenied: randomUUID(), userAllowed: randomUUID(), adminAllowed: randomUUID() };

  const access = (over: Partial<AuditEvent>): AuditEvent => ({
    kind: 'access',
    time: h.clock.now - 60_000,
    route: 'https://app.test.example',
    method: 'GET',
    path: '/x',
    policy: 'engineering',
    source_ip: '203.0.113.9',
    mode: 'enforce',
    ...over,
  });

  before(async () => {
    h = await startHarness();
    h.writer.append(
      access({
        request_id: ids.userAllowed,
        actor: { user: h.user.id, email: h.user.email },
        decision: 'allow',
        rule: 'allow[0]',
        reasons: [{ code: 'rule-allowed' }],
      }),
    );
    h.writer.append(
      access({
        request_id: ids.userDenied,
        actor: { user: h.user.id, email: h.user.email },
        path: '/<script>window.__xss=1</script>',
        decision: 'deny',
        reasons: [{ code: 'group-not-allowed' }],
      }),
    );
    h.writer.append(
      access({
        request_id: ids.adminAllowed,
        actor: { user: h.admin.id, email: h.admin.email },
        decision: 'deny',
        reasons: [{ code: 'group-not-allowed' }],
      }),
    );
    await h.writer.drain();
  });
  after(() => h.close());

  test('overview counts decisions per bucket and the top deny reasons', async () => {
    const r = await call(h.url, 'GET', '/api/v1/stats/overview?window=1h&buckets=6', {
      cookie: h.adminCookie,
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.totals, { allow: 1, deny: 2, login: 0, step_up: 0 });
    assert.equal(r.json.buckets.length, 6);
    assert.equal(r.json.top_deny_reasons[0].code, 'group-not-allowed');
    assert.equal(r.json.top_deny_reasons[0].count, 2);
    assert.ok(r.json.sessions.active >= 2);
  });

  test('explains a request by its id, with a replay under the policies in force', async () => {
    const r = await call(h.url, 'GET', `/api/v1/audit/requests/${ids.userDenied}`, {
      cookie: h.adminCookie,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.decision, 'deny');
    assert.equal(r.json.path, '/<script>window.__xss=1</script>');
    assert.match(r.text, /\\u003cscript/, 'HTML-significant characters are escaped in the JSON');
    assert.equal(r.json.reasons[0].message, 'the user is in none of the required groups');
    // eve is in engineering now: replayed today the request is allowed
    assert.equal(r.json.now.decision, 'allow');
    const missing = await call(h.url, 'GET', `/api/v1/audit/requests/${randomUUID()}`, {
      cookie: h.adminCookie,
    });
    assert.equal(missing.status, 404);
  });

  test('tail: the newest records, then only what came after', async () => {
    const first = await call(h.url, 'GET', '/api/v1/audit/tail?kind=access&limit=2', {
      cookie: h.adminCookie,
    });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.records.length, 2);
    assert.equal(first.json.records[1].request_id, ids.adminAllowed, 'oldest first');
    const id = randomUUID();
    h.writer.append(access({ request_id: id, decision: 'login', reasons: [] }));
    await h.writer.drain();
    const next = await call(
      h.url,
      'GET',
      `/api/v1/audit/tail?kind=access&after=${first.json.last_seq}`,
      { cookie: h.adminCookie },
    );
    assert.deepEqual(
      next.json.records.map((r: { request_id: string }) => r.request_id),
      [id],
    );
  });

  test('simulate: a draft policy is replayed against recent requests', async () => {
    const r = await call(h.url, 'POST', '/api/v1/simulate', {
      cookie: h.adminCookie,
      body: { policies: { engineering: { allow: [{ groups: ['finance'] }] } } },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.replayed, 4);
    // eve's two requests are allowed under the config in force (she is in engineering), not with
    // the draft; the admin's and the anonymous one are refused by both
    assert.equal(r.json.newly_denied, 2);
    assert.equal(r.json.changed, 2);
    assert.equal(r.json.requests[0].after.decision, 'deny');
    assert.equal(r.json.requests[0].before.decision, 'allow');
    const bad = await call(h.url, 'POST', '/api/v1/simulate', {
      cookie: h.adminCookie,
      body: { policies: { engineering: { allow: [{ source_ip: ['10.0.0.0/33'] }] } } },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'ZT_ADMIN_CONFIG_INVALID');
    assert.match(bad.json.problems[0].path, /source_ip/);
  });

  test('portal: my denials are mine only', async () => {
    const mine = await call(h.url, 'GET', `/api/v1/me/denials/${ids.userDenied}`, {
      cookie: h.userCookie,
    });
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.json.reasons[0].code, 'group-not-allowed');
    const theirs = await call(h.url, 'GET', `/api/v1/me/denials/${ids.adminAllowed}`, {
      cookie: h.userCookie,
    });
    assert.equal(theirs.status, 404);
  });

  test('portal: apps, sessions and devices; another user’s ids are 404', async () => {
    const apps = await call(h.url, 'GET', '/api/v1/me/apps', { cookie: h.userCookie });
    assert.equal(apps.status, 200, apps.text);
    assert.deepEqual(apps.json.apps, [
      { url: 'https://app.test.example', access: 'allowed', reasons: [] },
    ]);
    const second = await h.signIn(h.user);
    const list = await call(h.url, 'GET', '/api/v1/me/sessions', { cookie: h.userCookie });
    assert.equal(list.status, 200);
    assert.ok(list.json.sessions.length >= 2);
    assert.equal(list.json.sessions.filter((s: { current: boolean }) => s.current).length, 1);
    assert.ok(list.json.sessions.every((s: { user_id: string }) => s.user_id === h.user.id));

    const adminSessions = await h.store.sessions.listByUser(h.admin.id);
    const adminSession = adminSessions[0]?.idHash ?? '';
    const steal = await call(h.url, 'POST', `/api/v1/me/sessions/${adminSession}/revoke`, {
      cookie: h.userCookie,
    });
    assert.equal(steal.status, 404);
    assert.equal((await h.store.sessions.get(adminSession))?.revokedAt, null);

    const secondId = (
      await call(h.url, 'GET', '/api/v1/me/sessions', { cookie: second })
    ).json.sessions.find((s: { current: boolean }) => s.current).id;
    const own = await call(h.url, 'POST', `/api/v1/me/sessions/${secondId}/revoke`, {
      cookie: h.userCookie,
    });
    assert.deepEqual([own.status, own.json], [200, { revoked: 1 }]);
    assert.equal((await call(h.url, 'GET', '/api/v1/me', { cookie: second })).status, 401);

    const adminDevice = (await h.store.devices.listByUser(h.admin.id))[0]?.id ?? '';
    const removeTheirs = await call(h.url, 'POST', `/api/v1/me/devices/${adminDevice}/remove`, {
      cookie: h.userCookie,
    });
    assert.equal(removeTheirs.status, 404);
    const devices = await call(h.url, 'GET', '/api/v1/me/devices', { cookie: h.userCookie });
    assert.ok(devices.json.devices.length >= 1);
    const mine = devices.json.devices.find((d: { current: boolean }) => !d.current);
    const remove = await call(h.url, 'POST', `/api/v1/me/devices/${mine.id}/remove`, {
      cookie: h.userCookie,
    });
    assert.deepEqual([remove.status, remove.json.changed], [200, true]);

    const code = await call(h.url, 'POST', '/api/v1/me/enrollment-code', { cookie: h.userCookie });
    assert.equal(code.status, 201, code.text);
    assert.match(code.json.code, /^[A-Z0-9-]{20,}$/);
  });

  test('portal: signing out everywhere ends every session of mine and nobody else’s', async () => {
    const mine = await h.signIn(h.user);
    const r = await call(h.url, 'POST', '/api/v1/me/sessions/revoke', { cookie: mine });
    assert.equal(r.status, 200);
    assert.ok(r.json.revoked >= 2);
    assert.equal((await call(h.url, 'GET', '/api/v1/me', { cookie: h.userCookie })).status, 401);
    assert.equal((await call(h.url, 'GET', '/api/v1/me', { cookie: h.adminCookie })).status, 200);
  });
});
