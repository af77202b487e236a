/** Routes, policies and their versions: read, replace, validate, roll back. */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { RouteSchema } from '../../config/schema.js';
import { PolicySchema } from '../../pdp/lang/schema.js';
import { ADMIN_POLICY_NAME, DEFAULT_ADMIN_POLICY } from '../auth/admin-policy.js';
import { authorOf } from '../auth/principal.js';
import { PolicyDocumentSchema } from '../config/document.js';
import { op, type Operation } from '../operation.js';
import { badRequest, documentProblem, notFound } from '../problem.js';
import { LimitQuery, PolicyNameParam, VersionParam, iso } from '../schemas.js';
import {
  applyDocument,
  baseState,
  configView,
  guardAdminPolicy,
  recordDocumentChange,
  stateHeader,
  translate,
  type AnyContext,
} from './config-edit.js';

const ProblemView = z
  .object({
    code: z.string(),
    severity: z.enum(['error', 'warning']),
    message: z.string(),
    help: z.string().optional(),
    path: z.string().optional(),
    pointer: z.string().optional(),
    line: z.number().int().optional(),
    col: z.number().int().optional(),
  })
  .meta({ id: 'ConfigProblem', description: 'A problem found in routes or policies.' });

const ConfigView = z
  .object({
    version: z.number().int(),
    source: z.enum(['file', 'api']),
    author: z.string(),
    created_at: z.string(),
    checksum: z.string(),
    routes: z.array(RouteSchema),
    policies: z.record(z.string(), PolicySchema),
  })
  .meta({ id: 'Config', description: 'The routes and policies in force.' });

const Validation = z
  .object({ valid: z.boolean(), problems: z.array(ProblemView) })
  .meta({ id: 'Validation' });

const VersionSummary = z.object({
  version: z.number().int(),
  author: z.string(),
  created_at: z.string(),
  checksum: z.string(),
  in_force: z.boolean(),
});
const VersionView = VersionSummary.extend({
  content: z.string().meta({ description: 'the YAML text of `routes:` and `policies:`' }),
}).meta({ id: 'ConfigVersion' });

const PolicyParams = z.strictObject({ name: PolicyNameParam });
const PolicyPut = z
  .object({ version: z.number().int(), name: z.string(), policy: PolicySchema })
  .meta({ id: 'PolicyInForce' });
const VersionParams = z.strictObject({ version: VersionParam });
const RoutesBody = z.strictObject({ routes: z.array(RouteSchema) });
const PolicyCheckBody = z.strictObject({ name: PolicyNameParam, policy: PolicySchema });

const NOT_OBJECT = 'the body must be a JSON object';

/** A raw body that may only have the given keys (the config checks the values, with paths). */
function objectWith(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest(NOT_OBJECT);
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw badRequest(
      `unknown key${extra.length === 1 ? '' : 's'} ${extra
        .slice(0, 5)
        .map((k) => `\`${k.slice(0, 64)}\``)
        .join(', ')}`,
      `the body holds ${allowed.map((k) => `\`${k}\``).join(' and ')} only; every other key is set in ztgate.yaml`,
    );
  }
  return body as Record<string, unknown>;
}

function validation(ctx: AnyContext, doc: { routes: unknown; policies: unknown }) {
  const checked = ctx.deps.config.check(doc);
  return {
    status: 200,
    body: {
      valid: checked.result !== undefined,
      problems: checked.problems.map((p) => documentProblem(p)),
    },
  };
}

export function configOperations(): Operation[] {
  return [
    op({
      id: 'getConfig',
      method: 'GET',
      path: '/config',
      tag: 'config',
      summary: 'The routes and policies in force, with their version',
      access: 'admin',
      scope: 'config:read',
      etag: true,
      success: { status: 200, description: 'the config in force', schema: ConfigView },
      handle(ctx) {
        const state = ctx.deps.config.current();
        return Promise.resolve({
          status: 200,
          body: configView(state),
          headers: stateHeader(state),
        });
      },
    }),
    op({
      id: 'putConfig',
      method: 'PUT',
      path: '/config',
      tag: 'config',
      summary: 'Replace the routes and policies',
      description:
        'Validated like ztgate.yaml (every problem is returned with its path), stored as a new version and put in force without dropping connections. Send `If-Match` with the ETag you read to refuse the change if someone else changed the config meanwhile.',
      access: 'admin',
      scope: 'config:write',
      body: PolicyDocumentSchema,
      rawBody: true,
      bodyRequired: true,
      ifMatch: true,
      etag: true,
      success: { status: 200, description: 'the new config in force', schema: ConfigView },
      responses: [
        { status: 409, description: 'a concurrent change, or the admin policy would lock you out' },
        { status: 412, description: '`If-Match` names another version' },
      ],
      async handle(ctx) {
        const body = objectWith(ctx.body, ['routes', 'policies']);
        const base = baseState(ctx);
        const state = await applyDocument(
          ctx,
          base,
          { routes: body.routes ?? [], policies: body.policies ?? {} },
          'config.updated',
        );
        return { status: 200, body: configView(state), headers: stateHeader(state) };
      },
    }),
    op({
      id: 'validateConfig',
      method: 'POST',
      path: '/config/validate',
      tag: 'config',
      summary: 'Check routes and policies without applying them',
      access: 'admin',
      scope: 'config:read',
      body: PolicyDocumentSchema,
      rawBody: true,
      bodyRequired: true,
      success: {
        status: 200,
        description: 'whether they are valid, and every problem',
        schema: Validation,
      },
      handle(ctx) {
        const body = objectWith(ctx.body, ['routes', 'policies']);
        return Promise.resolve(
          validation(ctx as AnyContext, {
            routes: body.routes ?? [],
            policies: body.policies ?? {},
          }),
        );
      },
    }),
    op({
      id: 'listConfigVersions',
      method: 'GET',
      path: '/config/versions',
      tag: 'config',
      summary: 'Config versions, newest first',
      access: 'admin',
      scope: 'config:read',
      query: z.strictObject({ limit: LimitQuery }),
      success: {
        status: 200,
        description: 'the versions',
        schema: z.object({ versions: z.array(VersionSummary) }),
      },
      async handle(ctx) {
        const current = ctx.deps.config.current().version;
        const list = await ctx.deps.config.versions(ctx.query.limit ?? 100);
        return {
          status: 200,
          body: {
            versions: list.map((v) => ({
              version: v.version,
              author: v.author,
              created_at: iso(v.createdAt),
              checksum: v.checksum,
              in_force: v.version === current,
            })),
          },
        };
      },
    }),
    op({
      id: 'getConfigVersion',
      method: 'GET',
      path: '/config/versions/{version}',
      tag: 'config',
      summary: 'One config version, with its YAML text',
      access: 'admin',
      scope: 'config:read',
      params: VersionParams,
      success: { status: 200, description: 'the version', schema: VersionView },
      async handle(ctx) {
        const v = await ctx.deps.config.version(ctx.params.version);
        if (!v) throw notFound(`there is no config version ${ctx.params.version}`);
        return {
          status: 200,
          body: {
            version: v.version,
            author: v.author,
            created_at: iso(v.createdAt),
            checksum: v.checksum,
            in_force: v.version === ctx.deps.config.current().version,
            content: v.content,
          },
        };
      },
    }),
    op({
      id: 'rollbackConfig',
      method: 'POST',
      path: '/config/versions/{version}/rollback',
      tag: 'config',
      summary: 'Put an earlier version in force again (as a new version)',
      access: 'admin',
      scope: 'config:write',
      params: VersionParams,
      ifMatch: true,
      etag: true,
      success: { status: 200, description: 'the new config in force', schema: ConfigView },
      async handle(ctx) {
        const c = ctx as AnyContext;
        const base = baseState(c);
        const p = ctx.principal;
        if (!p) throw new Error('unreachable: admin operation without a principal');
        const target = await ctx.deps.config.version(ctx.params.version);
        if (!target) throw notFound(`there is no config version ${ctx.params.version}`);
        const draft = ctx.deps.config.check(
          // the target's content, as a document, to guard the admin policy before anything is stored
          parseYaml(target.content) as { routes: unknown; policies: unknown },
        );
        // a version that no longer passes the checks is refused below, with its problems
        if (draft.result)
          guardAdminPolicy(c, base.document.policies, draft.result.document.policies);
        let state;
        try {
          ({ state } = await ctx.deps.config.rollback(ctx.params.version, {
            author: authorOf(p),
            expectedVersion: base.version,
          }));
        } catch (err) {
          throw translate(err, ctx.ifMatch !== undefined);
        }
        recordDocumentChange(c, 'config.rolled_back', base, state, {
          to_version: ctx.params.version,
        });
        return { status: 200, body: configView(state), headers: stateHeader(state) };
      },
    }),
    op({
      id: 'listRoutes',
      method: 'GET',
      path: '/routes',
      tag: 'routes',
      summary: 'The routes in force',
      access: 'admin',
      scope: 'routes:read',
      etag: true,
      success: {
        status: 200,
        description: 'the routes',
        schema: z.object({ version: z.number().int(), routes: z.array(RouteSchema) }),
      },
      handle(ctx) {
        const state = ctx.deps.config.current();
        return Promise.resolve({
          status: 200,
          body: { version: state.version, routes: state.document.routes },
          headers: stateHeader(state),
        });
      },
    }),
    op({
      id: 'putRoutes',
      method: 'PUT',
      path: '/routes',
      tag: 'routes',
      summary: 'Replace the routes',
      access: 'admin',
      scope: 'routes:write',
      body: RoutesBody,
      rawBody: true,
      bodyRequired: true,
      ifMatch: true,
      etag: true,
      success: {
        status: 200,
        description: 'the routes in force',
        schema: z.object({ version: z.number().int(), routes: z.array(RouteSchema) }),
      },
      async handle(ctx) {
        const body = objectWith(ctx.body, ['routes']);
        if (!Object.hasOwn(body, 'routes')) throw badRequest('the body needs `routes`');
        const c = ctx as AnyContext;
        const base = baseState(c);
        const state = await applyDocument(
          c,
          base,
          { routes: body.routes, policies: base.document.policies },
          'routes.updated',
        );
        return {
          status: 200,
          body: { version: state.version, routes: state.document.routes },
          headers: stateHeader(state),
        };
      },
    }),
    op({
      id: 'listPolicies',
      method: 'GET',
      path: '/policies',
      tag: 'policies',
      summary: 'The policies in force',
      access: 'admin',
      scope: 'policies:read',
      etag: true,
      success: {
        status: 200,
        description: 'the policies by name',
        schema: z.object({
          version: z.number().int(),
          policies: z.record(z.string(), PolicySchema),
        }),
      },
      handle(ctx) {
        const state = ctx.deps.config.current();
        return Promise.resolve({
          status: 200,
          body: { version: state.version, policies: state.document.policies },
          headers: stateHeader(state),
        });
      },
    }),
    op({
      id: 'getPolicy',
      method: 'GET',
      path: '/policies/{name}',
      tag: 'policies',
      summary: 'One policy',
      description: `\`${ADMIN_POLICY_NAME}\` answers with the built-in admin policy (\`builtin: true\`) while the config defines none.`,
      access: 'admin',
      scope: 'policies:read',
      params: PolicyParams,
      etag: true,
      success: {
        status: 200,
        description: 'the policy',
        schema: z
          .object({
            version: z.number().int(),
            name: z.string(),
            policy: PolicySchema,
            builtin: z.boolean(),
          })
          .meta({ id: 'NamedPolicy' }),
      },
      handle(ctx) {
        const state = ctx.deps.config.current();
        const { name } = ctx.params;
        const policies = state.document.policies;
        const own = Object.hasOwn(policies, name) ? policies[name] : undefined;
        const policy = own ?? (name === ADMIN_POLICY_NAME ? DEFAULT_ADMIN_POLICY : undefined);
        if (!policy) throw notFound(`no policy is named \`${name}\``);
        return Promise.resolve({
          status: 200,
          body: { version: state.version, name, policy, builtin: own === undefined },
          headers: stateHeader(state),
        });
      },
    }),
    op({
      id: 'putPolicy',
      method: 'PUT',
      path: '/policies/{name}',
      tag: 'policies',
      summary: 'Create or replace a policy',
      description: `Changing \`${ADMIN_POLICY_NAME}\` needs a signed-in admin (not a token), and the new policy must still allow that admin's session.`,
      access: 'admin',
      scope: 'policies:write',
      params: PolicyParams,
      body: PolicySchema,
      rawBody: true,
      bodyRequired: true,
      ifMatch: true,
      etag: true,
      success: { status: 200, description: 'the policy in force', schema: PolicyPut },
      responses: [{ status: 201, description: 'the policy was created', schema: PolicyPut }],
      async handle(ctx) {
        const c = ctx as AnyContext;
        const base = baseState(c);
        const { name } = ctx.params;
        const existed = Object.hasOwn(base.document.policies, name);
        const policies = { ...base.document.policies, [name]: ctx.body };
        const state = await applyDocument(
          c,
          base,
          { routes: base.document.routes, policies },
          existed ? 'policy.updated' : 'policy.created',
          { policy: name },
        );
        return {
          status: existed ? 200 : 201,
          body: { version: state.version, name, policy: state.document.policies[name] },
          headers: stateHeader(state),
        };
      },
    }),
    op({
      id: 'deletePolicy',
      method: 'DELETE',
      path: '/policies/{name}',
      tag: 'policies',
      summary: 'Remove a policy (refused while a route uses it)',
      access: 'admin',
      scope: 'policies:write',
      params: PolicyParams,
      ifMatch: true,
      etag: true,
      success: {
        status: 200,
        description: 'the version without it',
        schema: z.object({ version: z.number().int() }),
      },
      async handle(ctx) {
        const c = ctx as AnyContext;
        const base = baseState(c);
        const { name } = ctx.params;
        if (!Object.hasOwn(base.document.policies, name))
          throw notFound(`no policy is named \`${name}\``);
        const policies = Object.fromEntries(
          Object.entries(base.document.policies).filter(([k]) => k !== name),
        );
        const state = await applyDocument(
          c,
          base,
          { routes: base.document.routes, policies },
          'policy.deleted',
          { policy: name },
        );
        return { status: 200, body: { version: state.version }, headers: stateHeader(state) };
      },
    }),
    op({
      id: 'validatePolicy',
      method: 'POST',
      path: '/policies/validate',
      tag: 'policies',
      summary: 'Check one policy in the context of the routes and policies in force',
      access: 'admin',
      scope: 'policies:read',
      body: PolicyCheckBody,
      rawBody: true,
      bodyRequired: true,
      success: {
        status: 200,
        description: 'whether it is valid, and every problem',
        schema: Validation,
      },
      handle(ctx) {
        const body = objectWith(ctx.body, ['name', 'policy']);
        if (typeof body.name !== 'string' || !PolicyNameParam.safeParse(body.name).success) {
          throw badRequest('`name` must be a policy name');
        }
        const base = ctx.deps.config.current();
        return Promise.resolve(
          validation(ctx as AnyContext, {
            routes: base.document.routes,
            policies: { ...base.document.policies, [body.name]: body.policy },
          }),
        );
      },
    }),
  ];
}
