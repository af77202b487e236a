/**
 * What every change to routes and policies goes through, whichever endpoint makes it: the guard
 * on the admin policy, the version check (`If-Match`), the store, and the audit record with what
 * changed before and after.
 */
import { canonicalJson } from '../../audit/canonical.js';
import type { Route } from '../../config/schema.js';
import { buildEngine } from '../../pdp/index.js';
import type { PolicySyntax } from '../../pdp/lang/schema.js';
import { hasErrors, ProblemsError } from '../../shared/errors.js';
import { StoreConflictError, type JsonValue } from '../../store/store.js';
import { ADMIN_POLICY_NAME, DEFAULT_ADMIN_POLICY } from '../auth/admin-policy.js';
import { authorOf } from '../auth/principal.js';
import type { ConfigState } from '../config/config-manager.js';
import type { PolicyDocument } from '../config/document.js';
import type { OperationContext, Reply } from '../operation.js';
import { AdminError, documentProblem } from '../problem.js';

export type AnyContext = OperationContext<unknown, unknown, unknown>;

export function etag(state: ConfigState): string {
  return `"v${state.version}"`;
}

export function stateHeader(state: ConfigState): Record<string, string> {
  return { etag: etag(state) };
}

/** The document in force, checked against `If-Match` when one was sent. */
export function baseState(ctx: AnyContext): ConfigState {
  const state = ctx.deps.config.current();
  if (ctx.ifMatch !== undefined && ctx.ifMatch !== state.version) {
    throw new AdminError(
      'ZT_ADMIN_PRECONDITION_FAILED',
      `the config is at version ${state.version}, not ${ctx.ifMatch}`,
      { help: 'read it again, redo the change and send the new ETag' },
    );
  }
  return state;
}

/**
 * Who may change `ztgate-admin`: only a signed-in admin (a token with `policies:write` must not be
 * able to widen its own way in), and only to a policy that still allows that admin's own session,
 * so that nobody locks every admin out by mistake.
 */
export function guardAdminPolicy(
  ctx: AnyContext,
  before: Readonly<Record<string, PolicySyntax>>,
  after: Readonly<Record<string, unknown>>,
): void {
  const old = Object.hasOwn(before, ADMIN_POLICY_NAME) ? before[ADMIN_POLICY_NAME] : undefined;
  const next = Object.hasOwn(after, ADMIN_POLICY_NAME) ? after[ADMIN_POLICY_NAME] : undefined;
  if (canonicalJson(old ?? null) === canonicalJson(next ?? null)) return;
  const p = ctx.principal;
  if (!p || p.kind !== 'session') {
    throw new AdminError(
      'ZT_ADMIN_FORBIDDEN',
      `only a signed-in admin may change the \`${ADMIN_POLICY_NAME}\` policy, not an API token`,
    );
  }
  const policy = (next ?? DEFAULT_ADMIN_POLICY) as PolicySyntax;
  let built;
  try {
    built = buildEngine<Route>(
      { policies: { [ADMIN_POLICY_NAME]: policy }, routes: [] },
      () => undefined,
    );
  } catch {
    return; // malformed: the document check reports it with its path
  }
  if (hasErrors(built.problems)) return;
  if (built.engine.evaluate(ADMIN_POLICY_NAME, p.input).decision !== 'allow') {
    throw new AdminError(
      'ZT_ADMIN_LOCKOUT',
      `the new \`${ADMIN_POLICY_NAME}\` policy would refuse your own session`,
      { help: 'make sure the policy allows you (group, MFA, device) before applying it' },
    );
  }
}

/** Stores a new document, audits it, and answers with the new state. */
export async function applyDocument(
  ctx: AnyContext,
  base: ConfigState,
  next: { readonly routes: unknown; readonly policies: unknown },
  action: string,
  details?: Record<string, JsonValue>,
): Promise<ConfigState> {
  const p = ctx.principal;
  if (!p) throw new Error('a config change needs a principal');
  guardAdminPolicy(ctx, base.document.policies, asRecord(next.policies));
  let state: ConfigState;
  try {
    ({ state } = await ctx.deps.config.apply(next, {
      author: authorOf(p),
      expectedVersion: base.version,
    }));
  } catch (err) {
    throw translate(err, ctx.ifMatch !== undefined);
  }
  recordDocumentChange(ctx, action, base, state, details);
  return state;
}

export function recordDocumentChange(
  ctx: AnyContext,
  action: string,
  base: ConfigState,
  state: ConfigState,
  details?: Record<string, JsonValue>,
): void {
  const diff = documentDiff(base.document, state.document);
  ctx.audit({
    action,
    resource: 'config',
    before: { version: base.version, ...diff.before },
    after: { version: state.version, ...diff.after },
    details: { ...(details ?? {}), checksum: state.checksum },
  });
}

/** Config problems become a 400 listing them; a lost race a 412 (with If-Match) or 409. */
export function translate(err: unknown, ifMatchSent: boolean): unknown {
  if (err instanceof ProblemsError) {
    const errors = err.problems.filter((p) => p.severity === 'error').length;
    return new AdminError(
      'ZT_ADMIN_CONFIG_INVALID',
      `the routes and policies have ${errors} error${errors === 1 ? '' : 's'}`,
      { problems: err.problems.map((p) => documentProblem(p)) },
    );
  }
  if (err instanceof StoreConflictError) {
    return ifMatchSent
      ? new AdminError('ZT_ADMIN_PRECONDITION_FAILED', 'the config changed meanwhile', {
          help: 'read it again, redo the change and send the new ETag',
        })
      : new AdminError('ZT_ADMIN_CONFLICT', 'the config changed meanwhile; retry the change');
  }
  return err;
}

function asRecord(v: unknown): Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

/**
 * Only what changed, so that a record stays readable and small: each policy that was added,
 * changed or removed (null on the side where it is absent), and each route by its `from`.
 */
export function documentDiff(
  before: PolicyDocument,
  after: PolicyDocument,
): { before: Record<string, JsonValue>; after: Record<string, JsonValue> } {
  const b: Record<string, JsonValue> = {};
  const a: Record<string, JsonValue> = {};
  const names = new Set([...Object.keys(before.policies), ...Object.keys(after.policies)]);
  for (const name of [...names].sort()) {
    const x = Object.hasOwn(before.policies, name) ? before.policies[name] : undefined;
    const y = Object.hasOwn(after.policies, name) ? after.policies[name] : undefined;
    if (canonicalJson(x ?? null) === canonicalJson(y ?? null)) continue;
    b[name] = toJson(x ?? null);
    a[name] = toJson(y ?? null);
  }
  const routes = (list: readonly Route[]): Map<string, Route> =>
    new Map(list.map((r) => [r.from, r]));
  const rb = routes(before.routes);
  const ra = routes(after.routes);
  const rbOut: Record<string, JsonValue> = {};
  const raOut: Record<string, JsonValue> = {};
  for (const from of [...new Set([...rb.keys(), ...ra.keys()])].sort()) {
    const x = rb.get(from);
    const y = ra.get(from);
    if (canonicalJson(x ?? null) === canonicalJson(y ?? null)) continue;
    rbOut[from] = x ? redactRoute(x) : null;
    raOut[from] = y ? redactRoute(y) : null;
  }
  return {
    before: { policies: b, routes: rbOut },
    after: { policies: a, routes: raOut },
  };
}

function toJson(v: unknown): JsonValue {
  return JSON.parse(JSON.stringify(v ?? null)) as JsonValue;
}

/** A route for the audit log: an upstream URL's password never goes there. */
export function redactRoute(route: Route): JsonValue {
  return toJson({ ...route, to: redactUrl(route.to) });
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export function configView(state: ConfigState): Record<string, unknown> {
  return {
    version: state.version,
    source: state.source,
    author: state.author,
    created_at: new Date(state.createdAt).toISOString(),
    checksum: state.checksum,
    routes: state.document.routes,
    policies: state.document.policies,
  };
}

export type { Reply };
