/**
 * The OpenAPI document is valid (structurally: required fields, operations with responses, path
 * parameters declared, every `$ref` resolves), and the walk: for every operation it lists, no
 * credential gets 401, a signed-in non-admin 403 and a token without the scope 403.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, createToken, startHarness, type Harness } from './helpers.js';

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let cur: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Json)[key];
  }
  return cur;
}

/** Every structural mistake found, as text (empty: valid). */
export function validateOpenApi(doc: Json): string[] {
  const errors: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi))
    errors.push('openapi is not 3.1.x');
  const info = doc.info as Json | undefined;
  if (!info || typeof info.title !== 'string' || typeof info.version !== 'string') {
    errors.push('info.title and info.version are required');
  }
  const paths = doc.paths as Record<string, Json> | undefined;
  if (!paths || Object.keys(paths).length === 0) errors.push('no paths');
  const ids = new Set<string>();
  const schemes = ((doc.components as Json | undefined)?.securitySchemes ?? {}) as Json;
  const checkSecurity = (sec: unknown, where: string): void => {
    if (sec === undefined) return;
    if (!Array.isArray(sec)) return void errors.push(`${where}: security is not a list`);
    for (const req of sec as Json[]) {
      for (const name of Object.keys(req)) {
        if (!Object.hasOwn(schemes, name)) errors.push(`${where}: unknown security scheme ${name}`);
      }
    }
  };
  checkSecurity(doc.security, 'root');
  for (const [path, item] of Object.entries(paths ?? {})) {
    if (!path.startsWith('/')) errors.push(`${path}: does not start with /`);
    const ops = Object.entries(item).filter(([m]) => METHODS.includes(m));
    if (ops.length === 0) errors.push(`${path}: no operations`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, raw] of ops) {
      const op = raw as Json;
      const where = `${method.toUpperCase()} ${path}`;
      if (typeof op.operationId !== 'string') errors.push(`${where}: no operationId`);
      else if (ids.has(op.operationId)) errors.push(`${where}: duplicate operationId`);
      else ids.add(op.operationId);
      const responses = op.responses as Record<string, Json> | undefined;
      if (!responses || Object.keys(responses).length === 0) errors.push(`${where}: no responses`);
      for (const [status, r] of Object.entries(responses ?? {})) {
        if (!/^([1-5][0-9]{2}|default)$/.test(status))
          errors.push(`${where}: bad status ${status}`);
        if (typeof r.description !== 'string') errors.push(`${where} ${status}: no description`);
      }
      const params = (op.parameters ?? []) as Json[];
      for (const p of params) {
        if (
          typeof p.name !== 'string' ||
          !['path', 'query', 'header', 'cookie'].includes(String(p.in))
        ) {
          errors.push(`${where}: malformed parameter`);
        }
        if (p.in === 'path' && (p.required !== true || !templated.includes(String(p.name)))) {
          errors.push(`${where}: path parameter ${String(p.name)} not required or not in the path`);
        }
        if (typeof p.schema !== 'object')
          errors.push(`${where}: parameter ${String(p.name)} has no schema`);
      }
      for (const name of templated) {
        if (!params.some((p) => p.in === 'path' && p.name === name))
          errors.push(`${where}: {${name}} undeclared`);
      }
      const body = op.requestBody as Json | undefined;
      if (body && typeof (body.content as Json | undefined)?.['application/json'] !== 'object') {
        errors.push(`${where}: request body is not application/json`);
      }
      checkSecurity(op.security, where);
    }
  }
  // every $ref resolves
  const stack: unknown[] = [doc];
  let refs = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref') {
          refs++;
          if (typeof x !== 'string' || resolvePointer(doc, x) === undefined)
            errors.push(`unresolved $ref ${String(x)}`);
        } else stack.push(x);
      }
    }
  }
  if (refs === 0) errors.push('no $ref at all: schemas are not shared');
  return errors;
}

/** A well-formed value for each path parameter (the record need not exist: refusals come first). */
function fill(path: string): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    if (name === 'version') return '1';
    if (name === 'serial') return 'ab12';
    if (name === 'name') return path.startsWith('/groups') ? 'admins' : 'engineering';
    if (path.startsWith('/sessions')) return 'a'.repeat(64);
    if (path.startsWith('/tokens')) return '0123456789abcdef';
    if (path.startsWith('/devices')) return 'dev-1';
    return 'u_root';
  });
}

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
    const auditOnly = await createToken(h, ['audit:read']);
    const usersOnly = await createToken(h, ['users:read']);
    let admins = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const [method, raw] of Object.entries(item)) {
        const op = raw as Json;
        const target = `/api/v1${fill(path)}`;
        const m = method.toUpperCase();
        const body = ['POST', 'PUT', 'PATCH'].includes(m) ? {} : undefined;
        const where = `${m} ${path}`;
        const anon = await call(h.url, m, target, { body });
        const nonAdmin = await call(h.url, m, target, { body, cookie: h.userCookie });
        if (op['x-ztgate-access'] === 'public') {
          assert.equal(anon.status, 200, where);
          continue;
        }
        assert.equal(anon.status, 401, `${where}: no credential`);
        assert.equal(anon.json.code, 'ZT_ADMIN_UNAUTHENTICATED', where);
        if (op['x-ztgate-access'] === 'authenticated') {
          assert.equal(nonAdmin.status, 200, `${where}: any signed-in user`);
          continue;
        }
        assert.equal(op['x-ztgate-access'], 'admin', where);
        admins++;
        assert.equal(nonAdmin.status, 403, `${where}: signed-in non-admin`);
        assert.equal(nonAdmin.json.code, 'ZT_ADMIN_FORBIDDEN', where);
        const scope = String(op['x-ztgate-scope']);
        const token = scope === 'audit:read' ? usersOnly.token : auditOnly.token;
        const scoped = await call(h.url, m, target, { body, token, csrf: false });
        assert.equal(scoped.status, 403, `${where}: token without ${scope}`);
        assert.equal(scoped.json.code, 'ZT_ADMIN_SCOPE_MISSING', where);
      }
    }
    assert.ok(admins >= 35, `${admins} admin operations walked`);
    // nothing was changed by any refused request
    const changes = (await h.records({ kind: 'admin' })).filter(
      (r) => r.outcome === 'success' && r.action !== 'api_token.created',
    );
    assert.deepEqual(changes, []);
    const refusals = (await h.records({ kind: 'admin' })).filter(
      (r) => r.action === 'admin.refused',
    );
    assert.ok(refusals.length >= 2 * admins, 'every refusal of a signed-in caller is audited');
  });
});
