/**
 * The OpenAPI document is valid (structurally: required fields, operations with responses, path
 * parameters declared, every `$ref` resolves), and the walk: for every operation it lists, no
 * credential gets 401, a signed-in non-admin 403 and a token without the scope 403.
 */
/* eslint-disable @typescript-eslint/no-unsafe-assignment */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, startHarness, type Harness } from './helpers.js';
import { validateOpenApi, walkOpenApi, type Json } from './walk.js';

describe('admin API OpenAPI document', () => {
  let h: Harness;
  let doc: Json;
  before(async () => {
    h = await startHarness();
    const r = await call(h.url, 'GET', '/api/v1/openapi.json', { csrf: false });
    assert.equal(r.status, 200);
    doc = r.json;
  });
  after(() => h.close());

  test('is public JSON and a structurally valid OpenAPI 3.1 document', () => {
    assert.deepEqual(validateOpenApi(doc), []);
    const schemas = (doc.components as Json).schemas as Json;
    for (const name of ['Policy', 'Rule', 'User', 'Problem', 'Config', 'ApiToken']) {
      assert.ok(Object.hasOwn(schemas, name), `components.schemas.${name}`);
    }
  });

  test('lists every operation the API serves, and nothing else', () => {
    const listed = Object.entries(doc.paths as Record<string, Json>).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const served = h.api.operations.map((o) => `${o.method} ${o.path}`);
    assert.deepEqual([...listed].sort(), [...served].sort());
    assert.ok(served.length >= 35, `${served.length} operations`);
  });

  test('walk: every admin operation refuses no credential (401), a non-admin (403) and a token without the scope (403)', async () => {
    const admins = await walkOpenApi(h, doc);
    assert.ok(admins >= 35, `${admins} admin operations walked`);
  });
});
