/**
 * The admin API's authorization and CSRF checks, tokens and config versions on PostgreSQL: the
 * OpenAPI walk, a CSRF refusal, a token's life and an edit with rollback. Fails under CI when
 * PostgreSQL is unreachable, skips otherwise (as the store's own PostgreSQL suite does).
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PG_ADMIN_URL, postgresTestBackend, postgresUnreachable } from '../../src/store/testing.js';
import { call, createToken, startHarness, type Harness } from './helpers.js';
import { validateOpenApi, walkOpenApi, type Json } from './walk.js';

const unreachable = await postgresUnreachable();

if (unreachable !== undefined && process.env.CI) {
  test('PostgreSQL is reachable for the admin API tests', () => {
    assert.fail(`PostgreSQL is not reachable at ${PG_ADMIN_URL} (${unreachable}); CI must run it`);
  });
} else {
  describe(
    'admin API on postgres',
    { skip: unreachable && `PostgreSQL is not reachable at ${PG_ADMIN_URL} (${unreachable})` },
    () => {
      let h: Harness;
      before(async () => {
        h = await startHarness({ backend: postgresTestBackend });
      });
      after(() => h?.close());

      test('the OpenAPI walk: 401 without a credential, 403 for a non-admin and a token without the scope', async () => {
        const r = await call(h.url, 'GET', '/api/v1/openapi.json');
        const doc = r.json as Json;
        assert.deepEqual(validateOpenApi(doc), []);
        assert.ok((await walkOpenApi(h, doc)) >= 35);
      });

      test('CSRF: a cookie change without the header or from another origin is refused', async () => {
        const body = { name: 'pg-group' };
        const noHeader = await call(h.url, 'POST', '/api/v1/groups', {
          cookie: h.adminCookie,
          body,
          headers: { 'x-ztgate-csrf': undefined },
        });
        assert.equal(noHeader.json.code, 'ZT_ADMIN_CSRF_REFUSED');
        const foreign = await call(h.url, 'POST', '/api/v1/groups', {
          cookie: h.adminCookie,
          body,
          headers: { origin: 'https://evil.example' },
        });
        assert.equal(foreign.json.code, 'ZT_ADMIN_CSRF_REFUSED');
        assert.equal(await h.store.groups.get('pg-group'), undefined);
        const ok = await call(h.url, 'POST', '/api/v1/groups', { cookie: h.adminCookie, body });
        assert.equal(ok.status, 201);
      });

      test('tokens: used, revoked, refused', async () => {
        const { token, id } = await createToken(h, ['users:read']);
        assert.equal((await call(h.url, 'GET', '/api/v1/users', { token })).status, 200);
        const rev = await call(h.url, 'POST', `/api/v1/tokens/${id}/revoke`, {
          cookie: h.adminCookie,
        });
        assert.equal(rev.json.revoked, true);
        assert.equal((await call(h.url, 'GET', '/api/v1/users', { token })).status, 401);
      });

      test('config: an edit and a rollback are versions; a stale If-Match is refused', async () => {
        const v0 = h.config.current().version;
        const put = await call(h.url, 'PUT', '/api/v1/policies/engineering', {
          cookie: h.adminCookie,
          body: { allow: [{ groups: ['sre'] }] },
          headers: { 'if-match': `"v${v0}"` },
        });
        assert.equal(put.status, 200, put.text);
        const stale = await call(h.url, 'PUT', '/api/v1/policies/engineering', {
          cookie: h.adminCookie,
          body: { allow: [{ groups: ['x'] }] },
          headers: { 'if-match': `"v${v0}"` },
        });
        assert.equal(stale.status, 412);
        const back = await call(h.url, 'POST', `/api/v1/config/versions/${v0}/rollback`, {
          cookie: h.adminCookie,
        });
        assert.equal(back.status, 200);
        assert.deepEqual(h.config.current().document.policies.engineering, {
          allow: [{ groups: ['engineering'] }],
        });
      });
    },
  );
}
