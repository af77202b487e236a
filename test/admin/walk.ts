/**
 * Shared by the OpenAPI tests on SQLite and PostgreSQL: a structural validator for OpenAPI 3.1
 * documents (no dependency) and the walk over every operation with the three kinds of caller who
 * must be refused.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
import assert from 'node:assert/strict';
import { call, createToken, type Harness } from './helpers.js';

export type Json = Record<string, unknown>;
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
    if (name === 'request_id') return '00000000-0000-4000-8000-000000000000';
    if (name === 'name') return path.startsWith('/groups') ? 'admins' : 'engineering';
    if (path.startsWith('/sessions') || path.startsWith('/me/sessions')) return 'a'.repeat(64);
    if (path.startsWith('/me/devices')) return 'dev-1';
    if (path.startsWith('/tokens')) return '0123456789abcdef';
    if (path.startsWith('/devices')) return 'dev-1';
    return 'u_root';
  });
}

/**
 * For every operation in the document: no credential gets 401, a signed-in non-admin 403 and a
 * token without the operation's scope 403; nothing is changed, and refusals are audited. Portal
 * operations (`user`) refuse tokens (403) and answer a signed-in user about their own records
 * only: the ids filled in belong to nobody or to the admin (`dev-1`), so 404. Returns how many
 * admin operations were walked.
 */
export async function walkOpenApi(h: Harness, doc: Json): Promise<number> {
  const auditOnly = await createToken(h, ['audit:read']);
  const usersOnly = await createToken(h, ['users:read']);
  let admins = 0;
  let portal = 0;
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, raw] of Object.entries(item)) {
      const op = raw as Json;
      const target = `/api/v1${fill(path)}`;
      const m = method.toUpperCase();
      const body = ['POST', 'PUT', 'PATCH'].includes(m) ? {} : undefined;
      const where = `${m} ${path}`;
      const anon = await call(h.url, m, target, { body });
      if (op['x-ztgate-access'] === 'user') {
        assert.equal(anon.status, 401, `${where}: no credential`);
        const token = await call(h.url, m, target, { body, token: auditOnly.token, csrf: false });
        assert.equal(token.status, 403, `${where}: an API token`);
        assert.equal(token.json.code, 'ZT_ADMIN_SESSION_REQUIRED', where);
        // a session of its own: signing out everywhere must not end the walk's other sessions
        const own = await call(h.url, m, target, {
          ...(op.requestBody ? { body } : {}),
          cookie: await h.signIn(h.user),
        });
        if (/\{[^}]+\}/.test(path)) {
          assert.equal(own.status, 404, `${where}: someone else's or no record`);
        } else {
          assert.ok([200, 201].includes(own.status), `${where}: ${own.status}`);
        }
        portal++;
        continue;
      }
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
  assert.ok(portal >= 8, `${portal} portal operations walked`);
  const records = await h.records({ kind: 'admin' });
  // the portal's own actions of the signed-in user are expected; nothing else may have changed
  const selfService = new Set([
    'api_token.created',
    'session.revoked_all',
    'device.enrollment_code_issued',
  ]);
  const changes = records.filter(
    (r) => r.outcome === 'success' && !selfService.has(r.action ?? ''),
  );
  assert.deepEqual(changes, [], 'no refused request changed anything');
  const refusals = records.filter((r) => r.action === 'admin.refused');
  assert.ok(refusals.length >= 2 * admins, 'every refusal of a signed-in caller is audited');
  return admins;
}
