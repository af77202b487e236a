/**
 * Each resource's happy path through the real API and store, config edits (validated, versioned,
 * rolled back, hot-swapped), the precedence between the file and the API, and the audit records
 * every change leaves, with what was before and after.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigManager, type ConfigState } from '../../src/admin/config/config-manager.js';
import { loadConfigText } from '../../src/config/load.js';
import { hashSessionId } from '../../src/store/store.js';
import { BASE_CONFIG, call, createToken, startHarness, type Harness } from './helpers.js';

describe('admin API resources', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await startHarness();
    admin = h.adminCookie;
  });
  after(() => h.close());

  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call(h.url, method, `/api/v1${path}`, {
      cookie: admin,
      ...(body !== undefined ? { body } : {}),
      ...(headers ? { headers } : {}),
    });

  test('me: who is calling and what they may do', async () => {
    const me = await api('GET', '/me');
    assert.equal(me.status, 200);
    assert.equal(me.json.kind, 'session');
    assert.equal(me.json.user.id, h.admin.id);
    assert.equal(me.json.admin, true);
    assert.ok(me.json.scopes.includes('users:write'));
    const user = await call(h.url, 'GET', '/api/v1/me', { cookie: h.userCookie });
    assert.equal(user.json.admin, false);
    assert.deepEqual(user.json.scopes, []);
    assert.equal(user.json.reasons[0].code, 'group-not-allowed');
  });

  test('users: create, read, list, change, disable (ending sessions), delete; audited with before and after', async () => {
    const created = await api('POST', '/users', {
      email: 'Alice@Example.com',
      display_name: 'Alice',
      groups: ['engineering', 'oncall'],
      password: 'correct horse battery staple',
    });
    assert.equal(created.status, 201, created.text);
    const id: string = created.json.id;
    assert.equal(created.json.has_password, true);
    assert.equal(created.json.password, undefined);
    assert.equal(created.json.password_hash, undefined);
    const dup = await api('POST', '/users', { email: 'alice@example.com' });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.code, 'ZT_IDENTITY_USER_EXISTS');
    assert.equal((await api('GET', `/users/${id}`)).json.email, 'Alice@Example.com');
    const page1 = await api('GET', '/users?limit=1');
    assert.equal(page1.json.users.length, 1);
    assert.ok(page1.json.next_cursor);
    const page2 = await api('GET', `/users?limit=1&cursor=${page1.json.next_cursor}`);
    assert.notEqual(page2.json.users[0].id, page1.json.users[0].id);
    const oncall = await api('GET', '/users?group=oncall');
    assert.deepEqual(
      oncall.json.users.map((u: { id: string }) => u.id),
      [id],
    );

    const alice = await h.store.users.get(id);
    assert.ok(alice);
    const aliceCookie = await h.signIn(alice);
    assert.equal((await call(h.url, 'GET', '/api/v1/me', { cookie: aliceCookie })).status, 200);
    const patched = await api('PATCH', `/users/${id}`, { groups: ['engineering'], disabled: true });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json.groups, ['engineering']);
    assert.equal(patched.json.disabled, true);
    assert.equal(
      (await call(h.url, 'GET', '/api/v1/me', { cookie: aliceCookie })).status,
      401,
      'disabling ended her sessions',
    );
    const bad = await api('PATCH', `/users/${id}`, { password: 'short' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'ZT_IDENTITY_PASSWORD_POLICY');

    const records = await h.records({ kind: 'admin' });
    const update = records.find((r) => r.action === 'user.updated' && r.resource === `user:${id}`);
    assert.ok(update, 'the change is audited');
    assert.deepEqual((update.before as { groups: string[] }).groups, ['engineering', 'oncall']);
    assert.deepEqual((update.after as { groups: string[] }).groups, ['engineering']);
    assert.equal((update.after as { disabled: boolean }).disabled, true);
    assert.equal(update.actor?.user, h.admin.id);
    assert.equal(update.outcome, 'success');
    assert.ok(update.request_id);
    assert.ok(!JSON.stringify(records).includes('$scrypt$'), 'no password hash in the log');
    const createdRecord = records.find((r) => r.action === 'user.created');
    assert.equal(createdRecord?.before, null);

    assert.equal((await api('DELETE', `/users/${id}`)).status, 204);
    assert.equal((await api('GET', `/users/${id}`)).status, 404);
    const deleted = (await h.records({ kind: 'admin' })).find((r) => r.action === 'user.deleted');
    assert.equal(deleted?.after, null);
    assert.equal((deleted?.before as { email: string }).email, 'Alice@Example.com');
  });

  test('groups: create, list, show with members, delete', async () => {
    const g = await api('POST', '/groups', { name: 'oncall', description: 'pager' });
    assert.equal(g.status, 201);
    assert.equal((await api('POST', '/groups', { name: 'oncall' })).status, 409);
    const bob = await h.addUser('bob@example.com', ['oncall']);
    const show = await api('GET', '/groups/oncall');
    assert.deepEqual(
      show.json.members.map((m: { id: string }) => m.id),
      [bob.id],
    );
    assert.ok(
      (await api('GET', '/groups')).json.groups.some((x: { name: string }) => x.name === 'oncall'),
    );
    assert.equal((await api('DELETE', '/groups/oncall')).status, 204);
    assert.equal((await api('GET', '/groups/oncall')).status, 404);
  });

  test('sessions: list live ones, revoke one, revoke all of a user', async () => {
    const carol = await h.addUser('carol@example.com', []);
    const c1 = await h.signIn(carol);
    const c2 = await h.signIn(carol);
    const list = await api('GET', `/sessions?user_id=${carol.id}`);
    assert.equal(list.json.sessions.length, 2);
    const all = await api('GET', '/sessions?limit=1');
    assert.ok(all.json.sessions.length >= 1);
    const target = hashSessionId(c1.split('=')[1] ?? '');
    assert.ok(list.json.sessions.some((s: { id: string }) => s.id === target));
    const revoked = await api('POST', `/sessions/${target}/revoke`);
    assert.deepEqual(revoked.json, { revoked: true });
    assert.equal((await call(h.url, 'GET', '/api/v1/me', { cookie: c1 })).status, 401);
    assert.equal((await call(h.url, 'GET', '/api/v1/me', { cookie: c2 })).status, 200);
    assert.deepEqual((await api('POST', `/sessions/${target}/revoke`)).json, { revoked: false });
    assert.equal((await api('POST', `/sessions/${'0'.repeat(64)}/revoke`)).status, 404);
    const everything = await api('POST', `/users/${carol.id}/sessions/revoke`);
    assert.equal(everything.json.revoked, 1);
    assert.equal((await call(h.url, 'GET', '/api/v1/me', { cookie: c2 })).status, 401);
    const record = (await h.records({ kind: 'admin' })).find((r) => r.action === 'session.revoked');
    assert.equal((record?.before as { status: string }).status, 'active');
    assert.equal((record?.after as { status: string }).status, 'revoked');
  });

  test('devices: list, show, revoke (its facts go, and the admin policy then refuses it)', async () => {
    const dave = await h.addUser('dave@example.com', ['admins']);
    const cookie = await h.signIn(dave);
    assert.equal((await call(h.url, 'GET', '/api/v1/users', { cookie })).status, 200);
    const mine = await api('GET', `/devices?user_id=${dave.id}`);
    assert.equal(mine.json.devices.length, 1);
    const device = mine.json.devices[0];
    assert.equal(device.managed, true);
    const shown = await api('GET', `/devices/${device.id}`);
    assert.equal(shown.status, 200);
    assert.ok(Array.isArray(shown.json.history));
    const revoked = await api('POST', `/devices/${device.id}/revoke`, { reason: 'keyCompromise' });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.changed, true);
    assert.equal(revoked.json.device.state, 'revoked');
    const refused = await call(h.url, 'GET', '/api/v1/users', { cookie });
    assert.equal(refused.status, 403, 'a revoked device is not managed');
    const record = (await h.records({ kind: 'admin' })).find((r) => r.action === 'device.revoked');
    assert.equal((record?.before as { state: string }).state, 'active');
    assert.equal((record?.after as { state: string }).state, 'revoked');
    assert.equal((await api('GET', '/devices/dev-nope')).status, 404);
    const page = await api('GET', '/devices?state=active&limit=2');
    assert.equal(page.status, 200);
  });

  test('certificates: list, show, revoke through the CA port (503 without one)', async () => {
    const now = h.clock.now;
    await h.store.certificates.create({
      serial: 'abcd01',
      subject: 'web.example.com',
      kind: 'server',
      notBefore: now - 1000,
      notAfter: now + 86_400_000,
      der: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]),
      names: ['web.example.com'],
    });
    const list = await api('GET', '/certificates?kind=server');
    assert.deepEqual(
      list.json.certificates.map((c: { serial: string }) => c.serial),
      ['abcd01'],
    );
    const one = await api('GET', '/certificates/ABCD01');
    assert.match(
      one.json.pem,
      /^-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n$/,
    );
    const noCa = await api('POST', '/certificates/abcd01/revoke', { reason: 'keyCompromise' });
    assert.equal(noCa.status, 503);
    assert.equal(noCa.json.code, 'ZT_ADMIN_UNAVAILABLE');
    assert.equal(noCa.json.detail, undefined, '5xx bodies carry the code and request id only');
    assert.equal((await api('GET', '/certificates/ffff')).status, 404);
  });

  test('audit records: filters, order and cursor paging', async () => {
    await h.writer.drain();
    const first = await api('GET', '/audit/records?kind=admin&limit=2');
    assert.equal(first.status, 200);
    assert.equal(first.json.records.length, 2);
    assert.ok(first.json.records[0].seq > first.json.records[1].seq, 'newest first');
    const next = await api(
      'GET',
      `/audit/records?kind=admin&limit=2&cursor=${first.json.next_cursor}`,
    );
    assert.ok(next.json.records[0].seq < first.json.records[1].seq);
    const asc = await api('GET', '/audit/records?order=asc&limit=1');
    assert.equal(asc.json.records[0].seq, 1);
    const since = await api(
      'GET',
      `/audit/records?since=${encodeURIComponent(new Date(h.clock.now + 1000).toISOString())}`,
    );
    assert.deepEqual(since.json.records, []);
    const bad = await api('GET', '/audit/records?cursor=zzz');
    assert.equal(bad.status, 400);
  });

  describe('config: routes and policies', () => {
    test('read the config, routes and policies with an ETag', async () => {
      const c = await api('GET', '/config');
      assert.equal(c.status, 200);
      assert.equal(c.json.source, 'file');
      assert.equal(c.headers.etag, `"v${c.json.version}"`);
      assert.ok(c.json.policies.engineering);
      const routes = await api('GET', '/routes');
      assert.equal(routes.json.routes[0].from, 'https://app.test.example');
      const builtin = await api('GET', '/policies/ztgate-admin');
      assert.equal(builtin.json.builtin, true);
      assert.deepEqual(builtin.json.policy.allow[0].groups, ['admins']);
    });

    test('a bad policy is refused with 400 and every problem with its path; nothing is stored', async () => {
      const before = h.config.current();
      const r = await api('PUT', '/policies/broken', {
        allow: [{ groups: [], source_ip: ['10.0.0.0/33'], mfa: { max_age: 'soon' } }],
        deny: [{ tim: {} }],
      });
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 'ZT_ADMIN_CONFIG_INVALID');
      const paths = r.json.problems.map((p: { path: string }) => p.path);
      assert.ok(paths.includes('policies.broken.allow[0].mfa.max_age'), JSON.stringify(paths));
      assert.ok(
        paths.some((p: string) => p.startsWith('policies.broken.deny[0]')),
        JSON.stringify(paths),
      );
      assert.ok(
        r.json.problems.every((p: { pointer?: string }) =>
          p.pointer?.startsWith('/policies/broken'),
        ),
      );
      const unknownKey = r.json.problems.find(
        (p: { code: string }) => p.code === 'ZT_CONFIG_UNKNOWN_KEY',
      );
      assert.match(`${unknownKey.message} ${unknownKey.help}`, /`time`/, 'did you mean');
      assert.equal(h.config.current().version, before.version);
      const semantic = await api('PUT', '/policies/cidr', {
        allow: [{ source_ip: '10.0.0.0/33', groups: 'x' }],
      });
      assert.equal(semantic.status, 400);
      assert.equal(semantic.json.problems[0].code, 'ZT_POLICY_INVALID_CIDR');
      assert.equal(semantic.json.problems[0].path, 'policies.cidr.allow[0].source_ip');
      const dangling = await api('PUT', '/routes', {
        routes: [{ from: 'https://x.test.example', to: 'http://127.0.0.1:1', policy: 'nope' }],
      });
      assert.equal(dangling.status, 400);
      assert.equal(dangling.json.problems[0].code, 'ZT_POLICY_UNKNOWN');
      const validate = await api('POST', '/policies/validate', {
        name: 'x',
        policy: { allow: [{ groups: 'a' }], nope: 1 },
      });
      assert.equal(validate.status, 200);
      assert.equal(validate.json.valid, false);
      const extra = await api('PUT', '/config', { routes: [], policies: {}, listen: '0.0.0.0:1' });
      assert.equal(extra.status, 400);
      assert.match(extra.json.detail, /listen/);
    });

    test('edits are versioned, hot-swapped, guarded by If-Match, audited with before/after, and rolled back', async () => {
      const swaps: ConfigState[] = [];
      const off = h.config.onChange((s) => swaps.push(s));
      const v0 = h.config.current();
      const decide = (groups: string[]) =>
        h.config.current().engine.evaluate('engineering', { user: { id: 'u', groups } }).decision;
      assert.equal(decide(['sre']), 'deny');

      const put = await api(
        'PUT',
        '/policies/engineering',
        { allow: [{ groups: ['engineering', 'sre'] }] },
        { 'if-match': `"v${v0.version}"` },
      );
      assert.equal(put.status, 200, put.text);
      const v1 = put.json.version as number;
      assert.equal(v1, v0.version + 1);
      assert.equal(put.headers.etag, `"v${v1}"`);
      assert.equal(decide(['sre']), 'allow', 'the engine was swapped');
      assert.equal(swaps.length, 1);
      assert.equal(swaps[0]?.source, 'api');

      const stale = await api(
        'PUT',
        '/policies/engineering',
        { allow: [{ groups: ['nobody'] }] },
        { 'if-match': `"v${v0.version}"` },
      );
      assert.equal(stale.status, 412);
      assert.equal(stale.json.code, 'ZT_ADMIN_PRECONDITION_FAILED');

      const created = await api('PUT', '/policies/public-docs', { allow: [{ public: true }] });
      assert.equal(created.status, 201);
      const routes = await api('PUT', '/routes', {
        routes: [
          { from: 'https://app.test.example', to: 'http://127.0.0.1:9', policy: 'engineering' },
          { from: 'https://docs.test.example', to: 'http://127.0.0.1:10', policy: 'public-docs' },
        ],
      });
      assert.equal(routes.status, 200);
      assert.equal(
        h.config.current().engine.routes.match('docs.test.example', '/')?.from,
        'https://docs.test.example',
      );
      const inUse = await api('DELETE', '/policies/public-docs');
      assert.equal(inUse.status, 400, 'a route still uses it');

      const versions = await api('GET', '/config/versions');
      assert.deepEqual(
        versions.json.versions.slice(0, 4).map((v: { version: number }) => v.version),
        [v1 + 2, v1 + 1, v1, v0.version],
      );
      assert.equal(versions.json.versions[0].in_force, true);
      assert.match(versions.json.versions[0].author, /^api:/);
      const text = await api('GET', `/config/versions/${v1}`);
      assert.match(text.json.content, /^routes:\n/);
      assert.match(text.json.content, /- sre/);

      const audit = (await h.records({ kind: 'admin' })).find((r) => r.action === 'policy.updated');
      assert.ok(audit);
      assert.equal(audit.resource, 'config');
      assert.deepEqual(audit.before, {
        version: v0.version,
        policies: { engineering: { allow: [{ groups: ['engineering'] }] } },
        routes: {},
      });
      assert.deepEqual(audit.after, {
        version: v1,
        policies: { engineering: { allow: [{ groups: ['engineering', 'sre'] }] } },
        routes: {},
      });

      const rollback = await api('POST', `/config/versions/${v0.version}/rollback`);
      assert.equal(rollback.status, 200, rollback.text);
      assert.equal(rollback.json.version, v1 + 3);
      assert.equal(decide(['sre']), 'deny', 'back to the old policy');
      assert.equal(h.config.current().engine.routes.match('docs.test.example', '/'), undefined);
      const rolled = (await h.records({ kind: 'admin' })).find(
        (r) => r.action === 'config.rolled_back',
      );
      assert.equal(rolled?.details?.to_version, v0.version);
      assert.equal((await api('POST', '/config/versions/999/rollback')).status, 404);
      off();
    });

    test('the ztgate-admin policy: tokens may not change it, and a change may not lock out its author', async () => {
      const { token } = await createToken(h, ['policies:write', 'config:write']);
      const byToken = await call(h.url, 'PUT', '/api/v1/policies/ztgate-admin', {
        token,
        body: { allow: [{ public: true }] },
      });
      assert.equal(byToken.status, 403);
      assert.equal(byToken.json.code, 'ZT_ADMIN_FORBIDDEN');
      const lockout = await api('PUT', '/policies/ztgate-admin', {
        allow: [{ groups: 'superadmins' }],
      });
      assert.equal(lockout.status, 409);
      assert.equal(lockout.json.code, 'ZT_ADMIN_LOCKOUT');
      // a policy that still allows the author is accepted, and then decides for everyone
      const ok = await api('PUT', '/policies/ztgate-admin', {
        allow: [{ users: [h.admin.email], mfa: { max_age: '30m' } }],
      });
      assert.equal(ok.status, 201, ok.text);
      const other = await h.addUser('frank@example.com', ['admins']);
      const frank = await h.signIn(other);
      assert.equal((await call(h.url, 'GET', '/api/v1/users', { cookie: frank })).status, 403);
      assert.equal((await api('DELETE', '/policies/ztgate-admin')).status, 200);
      assert.equal((await call(h.url, 'GET', '/api/v1/users', { cookie: frank })).status, 200);
    });
  });
});

describe('config precedence: the newest change wins; a file change counts when ztgate reads it', () => {
  test('API edits survive a restart with the same file; a changed file wins; versions keep both', async () => {
    const h = await startHarness();
    try {
      const file = join(h.dir, 'ztgate.yaml');
      const v1 = h.config.current();
      assert.equal(v1.source, 'file');
      const put = await call(h.url, 'PUT', '/api/v1/policies/engineering', {
        cookie: h.adminCookie,
        body: { allow: [{ groups: ['sre'] }] },
      });
      assert.equal(put.status, 200);
      const open = (text: string) =>
        ConfigManager.open({
          versions: h.store.configVersions,
          settings: h.store.settings,
          file: loadConfigText(text, file, { env: {} }),
          now: () => h.clock.now,
        });
      // a restart with the same file: the API edit stays in force
      const again = await open(BASE_CONFIG);
      assert.equal(again.current().version, put.json.version);
      assert.equal(again.current().source, 'api');
      assert.deepEqual(again.current().document.policies.engineering, {
        allow: [{ groups: ['sre'] }],
      });
      // the file changes: it wins and becomes the newest version
      const changed = BASE_CONFIG.replace('groups: [engineering]', 'groups: [platform]');
      const third = await open(changed);
      assert.equal(third.current().source, 'file');
      assert.equal(third.current().version, put.json.version + 1);
      assert.deepEqual(third.current().document.policies.engineering, {
        allow: [{ groups: ['platform'] }],
      });
      // reloading the same file again changes nothing
      const reloaded = await third.reloadFile(loadConfigText(changed, file, { env: {} }));
      assert.equal(reloaded.version, put.json.version + 1);
      // another replica catches up with refresh()
      await h.config.refresh();
      assert.equal(h.config.current().version, put.json.version + 1);
      const authors = (await h.store.configVersions.list()).map((v) => v.author.split(':')[0]);
      assert.deepEqual(authors, ['file', 'api', 'file']);
    } finally {
      await h.close();
    }
  });
});
