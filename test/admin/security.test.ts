/**
 * The admin API's defences: CSRF for cookie-authenticated changes, JSON-only bodies, API tokens
 * (shown once, stored hashed, scoped, expiring, revocable), hostile input, and output encoding.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { call, createToken, startHarness, type Harness } from './helpers.js';

describe('admin API security', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  describe('CSRF', () => {
    const group = (name: string) => ({ name, description: 'x' });

    test('a cookie-authenticated change needs the public_url Origin and the X-Ztgate-Csrf header', async () => {
      const cases: [string, Record<string, string | undefined>][] = [
        ['no Origin', { origin: undefined }],
        ['a foreign Origin', { origin: 'https://evil.example' }],
        ['a sibling Origin', { origin: 'https://app.test.example' }],
        ['the Origin with another port', { origin: 'https://auth.test.example:8443' }],
        ['the literal null Origin', { origin: 'null' }],
        ['no CSRF header', { 'x-ztgate-csrf': undefined }],
        ['a wrong CSRF header', { 'x-ztgate-csrf': 'yes' }],
      ];
      for (const [what, headers] of cases) {
        const r = await call(h.url, 'POST', '/api/v1/groups', {
          cookie: h.adminCookie,
          body: group('csrf-victim'),
          headers,
        });
        assert.equal(r.status, 403, what);
        assert.equal(r.json.code, 'ZT_ADMIN_CSRF_REFUSED', what);
      }
      assert.equal(await h.store.groups.get('csrf-victim'), undefined);
      const ok = await call(h.url, 'POST', '/api/v1/groups', {
        cookie: h.adminCookie,
        body: group('csrf-ok'),
      });
      assert.equal(ok.status, 201);
    });

    test('reads with a cookie need no CSRF header; bearer tokens are exempt for changes', async () => {
      const read = await call(h.url, 'GET', '/api/v1/groups', {
        cookie: h.adminCookie,
        csrf: false,
      });
      assert.equal(read.status, 200);
      const { token } = await createToken(h, ['groups:write']);
      const write = await call(h.url, 'POST', '/api/v1/groups', {
        token,
        csrf: false,
        body: group('by-token'),
      });
      assert.equal(write.status, 201);
    });

    test('a form post (or any body that is not JSON) is refused with 415', async () => {
      for (const type of [
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'text/plain',
        'application/json; charset=latin1',
      ]) {
        const r = await call(h.url, 'POST', '/api/v1/groups', {
          cookie: h.adminCookie,
          body: 'name=form-group',
          headers: { 'content-type': type },
        });
        assert.equal(r.status, 415, type);
        assert.equal(r.json.code, 'ZT_ADMIN_UNSUPPORTED_MEDIA_TYPE');
      }
      const noType = await call(h.url, 'POST', '/api/v1/groups', {
        cookie: h.adminCookie,
        body: '{"name":"untyped"}',
        headers: { 'content-type': undefined },
      });
      assert.equal(noType.status, 415);
      assert.equal(await h.store.groups.get('form-group'), undefined);
    });
  });

  describe('API tokens', () => {
    test('the secret is shown once, stored as SHA-256 only, and never listed or audited', async () => {
      const created = await call(h.url, 'POST', '/api/v1/tokens', {
        cookie: h.adminCookie,
        body: { name: 'ci deploy', scopes: ['users:read'], ttl: '1h' },
      });
      assert.equal(created.status, 201);
      const token: string = created.json.token;
      assert.match(token, /^ztk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      const id: string = created.json.id;
      const stored = await h.store.settings.get(`admin/api-tokens/${id}`);
      assert.ok(stored);
      assert.ok(!stored.includes(token.slice(22)), 'the secret is not stored');
      assert.equal(JSON.parse(stored).hash, createHash('sha256').update(token).digest('hex'));
      const listed = await call(h.url, 'GET', '/api/v1/tokens', { cookie: h.adminCookie });
      assert.ok(!listed.text.includes(token.slice(22)));
      const one = await call(h.url, 'GET', `/api/v1/tokens/${id}`, { cookie: h.adminCookie });
      assert.equal(one.json.token, undefined);
      assert.equal(one.json.hash, undefined);
      const records = await h.records({ kind: 'admin' });
      assert.ok(records.some((r) => r.action === 'api_token.created'));
      assert.ok(!JSON.stringify(records).includes(token.slice(22)), 'not in the audit log');
      const use = await call(h.url, 'GET', '/api/v1/users', { token, csrf: false });
      assert.equal(use.status, 200);
    });

    test('scopes: read is granted by write, nothing else; a token cannot mint wider scopes', async () => {
      const { token } = await createToken(h, ['users:write']);
      assert.equal((await call(h.url, 'GET', '/api/v1/users', { token })).status, 200);
      const groups = await call(h.url, 'GET', '/api/v1/groups', { token });
      assert.equal(groups.status, 403);
      assert.equal(groups.json.code, 'ZT_ADMIN_SCOPE_MISSING');
      const minter = await createToken(h, ['tokens:write', 'users:read']);
      const wider = await call(h.url, 'POST', '/api/v1/tokens', {
        token: minter.token,
        body: { name: 'wider', scopes: ['users:write'], ttl: '1h' },
      });
      assert.equal(wider.status, 403);
      assert.equal(wider.json.code, 'ZT_ADMIN_SCOPE_MISSING');
      const narrower = await call(h.url, 'POST', '/api/v1/tokens', {
        token: minter.token,
        body: { name: 'narrower', scopes: ['users:read'], ttl: '1h' },
      });
      assert.equal(narrower.status, 201);
    });

    test('expired, revoked, forged and foreign tokens are refused with 401', async () => {
      const { token, id } = await createToken(h, ['users:read'], '10m');
      assert.equal((await call(h.url, 'GET', '/api/v1/users', { token })).status, 200);
      const forged = `${token.slice(0, -4)}AAAA`;
      const unknown = `ztk_ffffffffffffffff_${token.slice(-43)}`;
      for (const [what, t] of [
        ['forged', forged],
        ['unknown id', unknown],
        ['not a ztk token', 'eyJhbGciOiJFUzI1NiJ9.e30.sig'],
        ['garbage', 'ztk_'],
      ] as const) {
        const r = await call(h.url, 'GET', '/api/v1/users', { token: t });
        assert.equal(r.status, 401, what);
        assert.equal(r.json.code, 'ZT_ADMIN_TOKEN_INVALID', what);
        assert.ok(!r.text.includes(t.slice(22)) || t.length < 30, 'the token is never echoed');
      }
      // a bearer header wins over a valid admin cookie: no silent fallback
      const both = await call(h.url, 'GET', '/api/v1/users', {
        token: forged,
        cookie: h.adminCookie,
      });
      assert.equal(both.status, 401);

      const t0 = h.clock.now;
      h.clock.now += 11 * 60_000;
      const expired = await call(h.url, 'GET', '/api/v1/users', { token });
      h.clock.now = t0;
      assert.equal(expired.status, 401);
      assert.match(expired.json.detail, /expired/);

      const live = await createToken(h, ['users:read']);
      const revoke = await call(h.url, 'POST', `/api/v1/tokens/${live.id}/revoke`, {
        cookie: h.adminCookie,
      });
      assert.equal(revoke.status, 200);
      assert.equal(revoke.json.revoked, true);
      const revoked = await call(h.url, 'GET', '/api/v1/users', { token: live.token });
      assert.equal(revoked.status, 401);
      assert.match(revoked.json.detail, /revoked/);
      h.clock.now += 11 * 60_000;
      const listed = await call(h.url, 'GET', `/api/v1/tokens/${id}`, {
        token: (await createToken(h, ['tokens:read'])).token,
      });
      h.clock.now = t0;
      assert.equal(listed.json.status, 'expired');
    });

    test('a token stops working when its creator is disabled', async () => {
      const boss = await h.addUser('boss@example.com', ['admins']);
      const cookie = await h.signIn(boss);
      const r = await call(h.url, 'POST', '/api/v1/tokens', {
        cookie,
        body: { name: 'boss', scopes: ['users:read'], ttl: '1h' },
      });
      assert.equal(r.status, 201);
      assert.equal(
        (await call(h.url, 'GET', '/api/v1/users', { token: r.json.token })).status,
        200,
      );
      await h.store.users.update(boss.id, { disabled: true, at: h.clock.now });
      const after = await call(h.url, 'GET', '/api/v1/users', { token: r.json.token });
      assert.equal(after.status, 401);
    });

    test('token input is checked: unknown scopes, bad lifetimes', async () => {
      for (const body of [
        { name: 'x', scopes: ['root'], ttl: '1h' },
        { name: 'x', scopes: ['audit:write'], ttl: '1h' },
        { name: 'x', scopes: [], ttl: '1h' },
        { name: 'x', scopes: ['users:read'], ttl: '400d' },
        { name: 'x', scopes: ['users:read'], ttl: '10s' },
        { name: '<script>', scopes: ['users:read'], ttl: '1h' },
      ]) {
        const r = await call(h.url, 'POST', '/api/v1/tokens', { cookie: h.adminCookie, body });
        assert.equal(r.status, 400, JSON.stringify(body));
      }
    });
  });

  describe('admin sessions', () => {
    test('an admin without fresh MFA is asked to step up; without a managed device refused', async () => {
      const noMfa = await h.signIn(h.admin, { mfa: false });
      const r = await call(h.url, 'GET', '/api/v1/users', { cookie: noMfa });
      assert.equal(r.status, 403);
      assert.equal(r.json.code, 'ZT_ADMIN_STEP_UP_REQUIRED');
      const noDevice = await h.signIn(h.admin, { device: false });
      const d = await call(h.url, 'GET', '/api/v1/users', { cookie: noDevice });
      assert.equal(d.status, 403);
      assert.equal(d.json.code, 'ZT_ADMIN_FORBIDDEN');
      const fresh = await h.signIn(h.admin);
      const t0 = h.clock.now;
      h.clock.now += 31 * 60_000;
      const stale = await call(h.url, 'GET', '/api/v1/users', { cookie: fresh });
      const me = await call(h.url, 'GET', '/api/v1/me', { cookie: fresh });
      h.clock.now = t0;
      assert.equal(stale.json.code, 'ZT_ADMIN_STEP_UP_REQUIRED');
      assert.equal(stale.json.step_up.max_age, 1800);
      assert.equal(me.status, 200);
      assert.equal(me.json.admin, false);
      assert.equal(me.json.decision, 'step_up');
    });

    test('a revoked session, a malformed cookie and a program token get 401', async () => {
      const other = await h.addUser('other-admin@example.com', ['admins']);
      const cookie = await h.signIn(other);
      assert.equal((await call(h.url, 'GET', '/api/v1/me', { cookie })).status, 200);
      await h.sessions.revokeUser(other.id, 'test');
      assert.equal((await call(h.url, 'GET', '/api/v1/me', { cookie })).status, 401);
      assert.equal(
        (await call(h.url, 'GET', '/api/v1/me', { cookie: '__Host-ztgate_session=../../etc' }))
          .status,
        401,
      );
    });
  });

  describe('hostile input', () => {
    let token: string;
    before(async () => {
      token = (
        await createToken(h, ['groups:write', 'users:write', 'policies:write', 'config:write'])
      ).token;
    });

    test('an oversized body is refused with 413 before it is read whole', async () => {
      const big = JSON.stringify({ name: 'big', description: 'x'.repeat(2 * 1024 * 1024) });
      const r = await call(h.url, 'POST', '/api/v1/groups', { token, body: big });
      assert.equal(r.status, 413);
      assert.equal(r.json.code, 'ZT_ADMIN_BODY_TOO_LARGE');
      const lying = await call(h.url, 'POST', '/api/v1/groups', {
        token,
        body: big,
        headers: { 'content-length': undefined, 'transfer-encoding': 'chunked' },
      });
      assert.equal(lying.status, 413);
    });

    test('malformed JSON, bad UTF-8, deep nesting, huge numbers and __proto__ keys are 400s', async () => {
      const bodies: [string, string | Buffer][] = [
        ['truncated', '{"name": "x"'],
        ['trailing garbage', '{"name": "x"} x'],
        ['bad utf-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
        ['deep', `${'['.repeat(5000)}${']'.repeat(5000)}`],
        ['huge number', '{"name": "x", "description": 1e999}'],
        ['__proto__', '{"name": "proto", "__proto__": {"admin": true}}'],
        ['nested __proto__', '{"routes": [], "policies": {"a": {"allow": [{"__proto__": {}}]}}}'],
        ['constructor', '{"name": "c", "constructor": {"prototype": {}}}'],
        ['a list', '[1, 2]'],
      ];
      for (const [what, body] of bodies) {
        const r = await call(h.url, 'POST', '/api/v1/groups', { token, body });
        assert.equal(r.status, 400, what);
        assert.equal(r.json.code, 'ZT_ADMIN_REQUEST_INVALID', what);
      }
      assert.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype was touched');
      const config = await call(h.url, 'PUT', '/api/v1/config', {
        token,
        body: '{"routes": [], "policies": {"__proto__": {"allow": [{"public": true}]}}}',
      });
      assert.equal(config.status, 400);
      const proto = await call(h.url, 'PUT', '/api/v1/policies/__proto__', {
        token,
        body: { allow: [{ public: true }] },
      });
      assert.equal(proto.status, 400);
    });

    test('huge or malformed numbers in parameters, duplicated and unknown parameters are 400s', async () => {
      for (const target of [
        '/api/v1/users?limit=99999999999999999999',
        '/api/v1/users?limit=-1',
        '/api/v1/users?limit=1e3',
        '/api/v1/users?limit=1&limit=2',
        '/api/v1/users?admin=true',
        '/api/v1/config/versions/99999999999999999999',
        '/api/v1/audit/records?since=yesterday',
      ]) {
        const r = await call(h.url, 'GET', target, {
          token: (await createToken(h, ['users:read', 'config:read', 'audit:read'])).token,
        });
        assert.equal(r.status, 400, target);
      }
    });

    test('path traversal and ambiguous encodings in ids are refused, never normalized', async () => {
      const read = (await createToken(h, ['users:read', 'devices:read', 'policies:read'])).token;
      for (const target of [
        '/api/v1/users/..',
        '/api/v1/users/%2e%2e',
        '/api/v1/users/..%2f..%2fsettings',
        '/api/v1/users/a%2fb',
        '/api/v1/users/a%5cb',
        '/api/v1/users/a%00b',
        '/api/v1/users/%0d%0aSet-Cookie:x',
        '/api/v1/users/%zz',
        '/api/v1//users',
        '/api/v1/users/',
        '/api/v1/devices/.hidden',
        '/api/v1/policies/a%20b',
      ]) {
        const r = await call(h.url, 'GET', target, { token: read });
        assert.ok(r.status === 400 || r.status === 404, `${target}: ${r.status}`);
        assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      }
      const unknown = await call(h.url, 'GET', '/api/v1/users/u_nobody', { token: read });
      assert.equal(unknown.status, 404);
      assert.equal((await call(h.url, 'GET', '/api/v1/nothing', { token: read })).status, 404);
      const wrongMethod = await call(h.url, 'PATCH', '/api/v1/groups', { token: read, body: {} });
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.headers.allow, 'GET, POST');
    });
  });

  describe('output', () => {
    test('every answer is JSON with nosniff, no-store and no framing; HTML-significant characters escaped', async () => {
      const evil = await h.store.users.create({
        id: 'u_evil',
        email: 'x<script>alert(1)</script>@example.com',
        displayName: '\u2028</script><img src=x onerror=alert(1)>',
        groups: ['a&b'],
        at: h.clock.now,
      });
      const { token } = await createToken(h, ['users:read']);
      const r = await call(h.url, 'GET', `/api/v1/users/${evil.id}`, { token });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
      assert.ok(!r.text.includes('<script>'), r.text);
      assert.ok(r.text.includes('\\u003cscript\\u003e'));
      assert.equal(r.json.email, evil.email, 'the same JSON value');
      for (const res of [
        r,
        await call(h.url, 'GET', '/api/v1/users'),
        await call(h.url, 'GET', '/api/v1/openapi.json'),
        await call(h.url, 'GET', '/api/v1/users/%00', { token }),
      ]) {
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.equal(res.headers['x-frame-options'], 'DENY');
        assert.match(
          String(res.headers['content-type']),
          /^application\/(problem\+)?json; charset=utf-8$/,
        );
        assert.ok(res.headers['x-request-id']);
      }
      const problem = await call(h.url, 'GET', '/api/v1/users/%00', { token });
      assert.equal(problem.json.type, 'urn:ztgate:error:ZT_ADMIN_REQUEST_INVALID');
      assert.equal(problem.json.status, 400);
      assert.equal(problem.json.request_id, problem.headers['x-request-id']);
    });

    test('other paths are left to the next handler', async () => {
      const r = await call(h.url, 'GET', '/api/v10/users');
      assert.equal(r.text, 'not the admin api');
      assert.equal((await call(h.url, 'GET', '/oauth2/sign_in')).text, 'not the admin api');
    });
  });
});

describe('admin API fails closed', () => {
  test('identity that cannot be consulted is a 503, never access', async () => {
    const h = await startHarness({
      deps: {
        identity: {
          resolve: () => Promise.reject(new Error('store down')),
        },
      },
    });
    try {
      const r = await call(h.url, 'GET', '/api/v1/users', { cookie: h.adminCookie });
      assert.equal(r.status, 503);
      assert.equal(r.json.code, 'ZT_ADMIN_UNAVAILABLE');
      assert.ok(!r.text.includes('store down'), '5xx bodies say nothing of the cause');
    } finally {
      await h.close();
    }
  });

  test('a change is refused before it is made while the audit log refuses records', async () => {
    const h = await startHarness({ deps: { audit: { append: () => 'x', overloaded: true } } });
    try {
      const r = await call(h.url, 'POST', '/api/v1/groups', {
        cookie: h.adminCookie,
        body: { name: 'unrecorded' },
      });
      assert.equal(r.status, 503);
      assert.equal(await h.store.groups.get('unrecorded'), undefined);
      assert.equal(
        (await call(h.url, 'GET', '/api/v1/groups', { cookie: h.adminCookie })).status,
        200,
      );
    } finally {
      await h.close();
    }
  });

  test('an unexpected error is a 500 with the request id only, reported to onError', async () => {
    const seen: string[] = [];
    const h = await startHarness({ deps: { onError: (_e, id) => seen.push(id) } });
    try {
      await h.store.users.create({ id: 'u_x', email: 'x@example.com', at: h.clock.now });
      // a corrupted token record: the parse fails inside the API
      await h.store.settings.set('admin/api-tokens/0123456789abcdef', '{not json', h.clock.now);
      const r = await call(h.url, 'GET', '/api/v1/tokens', { cookie: h.adminCookie });
      assert.equal(r.status, 500);
      assert.deepEqual(Object.keys(r.json).sort(), [
        'code',
        'request_id',
        'status',
        'title',
        'type',
      ]);
      assert.deepEqual(seen, [r.json.request_id]);
    } finally {
      await h.close();
    }
  });
});
