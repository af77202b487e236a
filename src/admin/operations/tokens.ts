/** Admin API tokens (create: shown once; list; revoke) and `/me`. */
import { z } from 'zod';
import { parseDuration } from '../../shared/duration.js';
import {
  MAX_TOKEN_TTL_MS,
  MIN_TOKEN_TTL_MS,
  tokenView,
  type ApiTokenRecord,
} from '../auth/api-tokens.js';
import { ADMIN_POLICY_NAME } from '../auth/admin-policy.js';
import { scopesOf, userIdOf } from '../auth/principal.js';
import { grants, ScopeSchema } from '../auth/scopes.js';
import { op, type Operation } from '../operation.js';
import { AdminError, badRequest, notFound } from '../problem.js';
import { Revoked, TokenIdParam, iso, isoOrNull } from '../schemas.js';

const TokenView = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(ScopeSchema),
    created_by: z.string().meta({ description: 'the user id on whose authority it was made' }),
    created_at: z.string(),
    expires_at: z.string(),
    revoked_at: z.string().nullable(),
    status: z.enum(['active', 'expired', 'revoked']),
  })
  .meta({ id: 'ApiToken', description: 'An API token, without its secret.' });

function view(r: ApiTokenRecord, now: number): z.infer<typeof TokenView> {
  const v = tokenView(r);
  return {
    id: v.id,
    name: v.name,
    scopes: [...v.scopes],
    created_by: v.createdBy,
    created_at: iso(v.createdAt),
    expires_at: iso(v.expiresAt),
    revoked_at: isoOrNull(v.revokedAt),
    status: v.revokedAt !== null ? 'revoked' : now >= v.expiresAt ? 'expired' : 'active',
  };
}

const NewTokenBody = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9 ._:@-]{0,63}$/,
        '1 to 64 letters, digits, spaces, `.`, `_`, `:`, `@` or `-`',
      )
      .meta({ description: 'what the token is for' }),
    scopes: z.array(ScopeSchema).min(1).max(64),
    ttl: z
      .string()
      .max(32)
      .meta({ description: 'how long it lives: `1h`, `30d` (1 minute to 366 days)' }),
  })
  .meta({ id: 'NewApiToken' });

const CreatedToken = TokenView.extend({
  token: z.string().meta({
    description: 'the token itself (`ztk_...`): shown this once, stored only as a hash',
  }),
}).meta({ id: 'CreatedApiToken' });

const TokenParams = z.strictObject({ id: TokenIdParam });

export function tokenOperations(): Operation[] {
  return [
    op({
      id: 'listTokens',
      method: 'GET',
      path: '/tokens',
      tag: 'tokens',
      summary: 'API tokens (never their secrets)',
      access: 'admin',
      scope: 'tokens:read',
      success: {
        status: 200,
        description: 'every token',
        schema: z.object({ tokens: z.array(TokenView) }),
      },
      async handle(ctx) {
        const list = await ctx.tokens.list();
        return { status: 200, body: { tokens: list.map((r) => view(r, ctx.now)) } };
      },
    }),
    op({
      id: 'createToken',
      method: 'POST',
      path: '/tokens',
      tag: 'tokens',
      summary: 'Create an API token; the answer is the only time its secret is shown',
      description:
        'A token can be given only scopes its creator holds. It stops working when it expires, when it is revoked, or when the user who created it is disabled or deleted.',
      access: 'admin',
      scope: 'tokens:write',
      body: NewTokenBody,
      bodyRequired: true,
      success: { status: 201, description: 'the token, with its secret', schema: CreatedToken },
      async handle(ctx) {
        const p = ctx.principal;
        if (!p) throw new Error('unreachable');
        const ttlMs = parseDuration(ctx.body.ttl);
        if (ttlMs === undefined || ttlMs < MIN_TOKEN_TTL_MS || ttlMs > MAX_TOKEN_TTL_MS) {
          throw badRequest(
            '`ttl` must be a duration from 1m to 366d',
            'write it as `8h`, `30d`, ...',
          );
        }
        const held = scopesOf(p);
        const missing = ctx.body.scopes.filter((s) => !grants(held, s));
        if (missing.length > 0) {
          throw new AdminError(
            'ZT_ADMIN_SCOPE_MISSING',
            `a token cannot be given scopes its creator lacks: ${missing.map((s) => `\`${s}\``).join(', ')}`,
          );
        }
        const { token, record } = await ctx.tokens.create({
          name: ctx.body.name,
          scopes: ctx.body.scopes,
          ttlMs,
          createdBy: userIdOf(p),
          now: ctx.now,
        });
        const v = view(record, ctx.now);
        // the secret goes to the client once and nowhere else: not in the audit record
        ctx.audit({
          action: 'api_token.created',
          resource: `api-token:${record.id}`,
          before: null,
          after: v,
        });
        return { status: 201, body: { ...v, token } };
      },
    }),
    op({
      id: 'getToken',
      method: 'GET',
      path: '/tokens/{id}',
      tag: 'tokens',
      summary: 'One API token (without its secret)',
      access: 'admin',
      scope: 'tokens:read',
      params: TokenParams,
      success: { status: 200, description: 'the token', schema: TokenView },
      async handle(ctx) {
        const r = await ctx.tokens.get(ctx.params.id);
        if (!r) throw notFound('no API token has this id');
        return { status: 200, body: view(r, ctx.now) };
      },
    }),
    op({
      id: 'revokeToken',
      method: 'POST',
      path: '/tokens/{id}/revoke',
      tag: 'tokens',
      summary: 'Revoke an API token: refused from its next request on',
      access: 'admin',
      scope: 'tokens:write',
      params: TokenParams,
      success: { status: 200, description: 'revoked', schema: Revoked },
      async handle(ctx) {
        const r = await ctx.tokens.revoke(ctx.params.id, ctx.now);
        if (!r) throw notFound('no API token has this id');
        const changed = r.before.revokedAt === null;
        if (changed) {
          ctx.audit({
            action: 'api_token.revoked',
            resource: `api-token:${ctx.params.id}`,
            before: view(r.before, ctx.now),
            after: view(r.after, ctx.now),
          });
        }
        return { status: 200, body: { revoked: changed } };
      },
    }),
    op({
      id: 'getMe',
      method: 'GET',
      path: '/me',
      tag: 'me',
      summary: 'Who is calling, and what they may do',
      description: `Any signed-in user or valid token may call it; \`admin\` says whether the \`${ADMIN_POLICY_NAME}\` policy allows the session, and \`reasons\` why not.`,
      access: 'authenticated',
      success: {
        status: 200,
        description: 'the caller',
        schema: z
          .object({
            kind: z.enum(['session', 'token']),
            user: z
              .object({ id: z.string(), email: z.string().optional(), groups: z.array(z.string()) })
              .optional(),
            token: TokenView.optional(),
            admin: z.boolean(),
            decision: z.enum(['allow', 'deny', 'login', 'step_up']).optional(),
            reasons: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
            scopes: z.array(ScopeSchema),
          })
          .meta({ id: 'Me' }),
      },
      handle(ctx) {
        const p = ctx.principal;
        if (!p) throw new Error('unreachable');
        if (p.kind === 'token') {
          return Promise.resolve({
            status: 200,
            body: {
              kind: 'token',
              token: view(p.token, ctx.now),
              admin: false,
              scopes: p.token.scopes,
            },
          });
        }
        const u = p.identity.user;
        return Promise.resolve({
          status: 200,
          body: {
            kind: 'session',
            user: {
              id: u.id,
              ...(u.email !== undefined ? { email: u.email } : {}),
              groups: [...u.groups],
            },
            admin: p.decision.decision === 'allow',
            decision: p.decision.decision,
            reasons: p.decision.reasons.map((r) => ({ code: r.code, message: r.message })),
            scopes: scopesOf(p),
          },
        });
      },
    }),
  ];
}
