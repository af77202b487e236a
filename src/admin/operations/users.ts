/** Users of the built-in IdP (and users provisioned from an external one), and their groups. */
import { z } from 'zod';
import { hashPassword } from '../../identity/password.js';
import { checkEmail, UserAdmin } from '../../identity/users.js';
import type { UserPatch, UserRecord } from '../../store/store.js';
import { op, type Operation, type OperationContext } from '../operation.js';
import { notFound } from '../problem.js';
import {
  CursorQuery,
  GroupNameSchema,
  GroupView,
  LimitQuery,
  PageOf,
  UserIdParam,
  UserView,
  groupView,
  userView,
} from '../schemas.js';

const UserParams = z.strictObject({ id: UserIdParam });
const Email = z.string().min(3).max(320).meta({ description: 'an email address' });
const Groups = z.array(GroupNameSchema).max(256);
const Password = z.string().min(1).max(1024).meta({
  description: 'a new password (12 to 1024 bytes); never returned or logged',
  writeOnly: true,
});

const NewUserBody = z
  .strictObject({
    email: Email,
    display_name: z.string().max(200).optional(),
    groups: Groups.optional(),
    password: Password.optional(),
  })
  .meta({ id: 'NewUser' });

const UserPatchBody = z
  .strictObject({
    email: Email.optional(),
    display_name: z.string().max(200).optional(),
    groups: Groups.optional(),
    disabled: z.boolean().optional().meta({ description: 'true ends every session of the user' }),
    password: Password.optional().meta({
      description: 'a new password; ends every session of the user',
    }),
  })
  .meta({ id: 'UserPatch' });

type Ctx<P, Q, B> = OperationContext<P, Q, B>;

async function requireUser(ctx: Ctx<{ id: string }, unknown, unknown>): Promise<UserRecord> {
  const user = await ctx.deps.store.users.get(ctx.params.id);
  if (!user) throw notFound(`no user has the id \`${ctx.params.id}\``);
  return user;
}

const NewGroupBody = z
  .strictObject({ name: GroupNameSchema, description: z.string().max(1000).optional() })
  .meta({ id: 'NewGroup' });
const GroupParams = z.strictObject({ name: GroupNameSchema });

export function userOperations(): Operation[] {
  return [
    op({
      id: 'listUsers',
      method: 'GET',
      path: '/users',
      tag: 'users',
      summary: 'Users, by email; or the members of one group',
      access: 'admin',
      scope: 'users:read',
      query: z.strictObject({
        limit: LimitQuery,
        cursor: CursorQuery,
        group: GroupNameSchema.optional(),
      }),
      success: { status: 200, description: 'a page of users', schema: PageOf('users', UserView) },
      async handle(ctx) {
        const { users } = ctx.deps.store;
        if (ctx.query.group !== undefined) {
          const members = await users.listByGroup(ctx.query.group);
          return { status: 200, body: { users: members.map(userView), next_cursor: null } };
        }
        const page = await users.list({
          ...(ctx.query.limit !== undefined ? { limit: ctx.query.limit } : {}),
          ...(ctx.query.cursor !== undefined ? { cursor: ctx.query.cursor } : {}),
        });
        return {
          status: 200,
          body: { users: page.items.map(userView), next_cursor: page.nextCursor },
        };
      },
    }),
    op({
      id: 'createUser',
      method: 'POST',
      path: '/users',
      tag: 'users',
      summary: 'Create a user',
      access: 'admin',
      scope: 'users:write',
      body: NewUserBody,
      bodyRequired: true,
      success: { status: 201, description: 'the user', schema: UserView },
      responses: [{ status: 409, description: 'a user with this email exists' }],
      async handle(ctx) {
        const b = ctx.body;
        // UserAdmin holds the rules (email, id, password hashing); the API writes its own record.
        const user = await new UserAdmin({ users: ctx.deps.store.users, now: () => ctx.now }).add({
          email: b.email,
          ...(b.display_name !== undefined ? { displayName: b.display_name } : {}),
          ...(b.groups !== undefined ? { groups: [...new Set(b.groups)].sort() } : {}),
          ...(b.password !== undefined ? { password: b.password } : {}),
        });
        const view = userView(user);
        ctx.audit({
          action: 'user.created',
          resource: `user:${user.id}`,
          before: null,
          after: view,
        });
        return { status: 201, body: view };
      },
    }),
    op({
      id: 'getUser',
      method: 'GET',
      path: '/users/{id}',
      tag: 'users',
      summary: 'One user',
      access: 'admin',
      scope: 'users:read',
      params: UserParams,
      success: { status: 200, description: 'the user', schema: UserView },
      async handle(ctx) {
        return { status: 200, body: userView(await requireUser(ctx)) };
      },
    }),
    op({
      id: 'updateUser',
      method: 'PATCH',
      path: '/users/{id}',
      tag: 'users',
      summary: 'Change a user: email, name, groups, disabled, password',
      description: 'Disabling a user or setting a password ends every session of the user.',
      access: 'admin',
      scope: 'users:write',
      params: UserParams,
      body: UserPatchBody,
      bodyRequired: true,
      success: { status: 200, description: 'the user', schema: UserView },
      async handle(ctx) {
        const before = await requireUser(ctx);
        const b = ctx.body;
        const patch: { -readonly [K in keyof UserPatch]: UserPatch[K] } = { at: ctx.now };
        if (b.email !== undefined) patch.email = checkEmail(b.email);
        if (b.display_name !== undefined) patch.displayName = b.display_name;
        if (b.groups !== undefined) patch.groups = [...new Set(b.groups)].sort();
        if (b.disabled !== undefined) patch.disabled = b.disabled;
        if (b.password !== undefined) patch.passwordHash = await hashPassword(b.password);
        const after = await ctx.deps.store.users.update(before.id, patch);
        const endSessions = (b.disabled === true && !before.disabled) || b.password !== undefined;
        const sessionsEnded = endSessions
          ? await ctx.deps.sessions.revokeUser(
              before.id,
              b.password !== undefined ? 'password-changed' : 'user-disabled',
            )
          : 0;
        ctx.audit({
          action: 'user.updated',
          resource: `user:${before.id}`,
          before: userView(before),
          after: userView(after),
          details: {
            password_changed: b.password !== undefined,
            sessions_ended: sessionsEnded,
          },
        });
        return { status: 200, body: userView(after) };
      },
    }),
    op({
      id: 'deleteUser',
      method: 'DELETE',
      path: '/users/{id}',
      tag: 'users',
      summary: 'Delete a user with their sessions and devices',
      access: 'admin',
      scope: 'users:write',
      params: UserParams,
      success: { status: 204, description: 'deleted' },
      async handle(ctx) {
        const before = await requireUser(ctx);
        // Revoking first publishes the revocation, so open connections are cut on every replica.
        await ctx.deps.sessions.revokeUser(before.id, 'user-deleted');
        await ctx.deps.store.users.delete(before.id);
        ctx.audit({
          action: 'user.deleted',
          resource: `user:${before.id}`,
          before: userView(before),
          after: null,
        });
        return { status: 204 };
      },
    }),
    op({
      id: 'revokeUserSessions',
      method: 'POST',
      path: '/users/{id}/sessions/revoke',
      tag: 'sessions',
      summary: 'End every session of a user',
      access: 'admin',
      scope: 'sessions:write',
      params: UserParams,
      success: {
        status: 200,
        description: 'how many sessions ended',
        schema: z.object({ revoked: z.number().int() }),
      },
      async handle(ctx) {
        const user = await requireUser(ctx);
        const n = await ctx.deps.sessions.revokeUser(user.id, 'admin');
        ctx.audit({
          action: 'session.revoked_all',
          resource: `user:${user.id}`,
          before: { live_sessions: n },
          after: { live_sessions: 0 },
        });
        return { status: 200, body: { revoked: n } };
      },
    }),
    op({
      id: 'listGroups',
      method: 'GET',
      path: '/groups',
      tag: 'groups',
      summary: 'Groups',
      access: 'admin',
      scope: 'groups:read',
      success: {
        status: 200,
        description: 'every group',
        schema: z.object({ groups: z.array(GroupView) }),
      },
      async handle(ctx) {
        return {
          status: 200,
          body: { groups: (await ctx.deps.store.groups.list()).map(groupView) },
        };
      },
    }),
    op({
      id: 'createGroup',
      method: 'POST',
      path: '/groups',
      tag: 'groups',
      summary: 'Create a group',
      access: 'admin',
      scope: 'groups:write',
      body: NewGroupBody,
      bodyRequired: true,
      success: { status: 201, description: 'the group', schema: GroupView },
      async handle(ctx) {
        const g = await ctx.deps.store.groups.create({
          name: ctx.body.name,
          description: ctx.body.description ?? '',
          at: ctx.now,
        });
        const view = groupView(g);
        ctx.audit({
          action: 'group.created',
          resource: `group:${g.name}`,
          before: null,
          after: view,
        });
        return { status: 201, body: view };
      },
    }),
    op({
      id: 'getGroup',
      method: 'GET',
      path: '/groups/{name}',
      tag: 'groups',
      summary: 'One group with its members',
      access: 'admin',
      scope: 'groups:read',
      params: GroupParams,
      success: {
        status: 200,
        description: 'the group',
        schema: GroupView.extend({ members: z.array(UserView) }),
      },
      async handle(ctx) {
        const g = await ctx.deps.store.groups.get(ctx.params.name);
        if (!g) throw notFound(`no group is named \`${ctx.params.name}\``);
        const members = await ctx.deps.store.users.listByGroup(g.name);
        return { status: 200, body: { ...groupView(g), members: members.map(userView) } };
      },
    }),
    op({
      id: 'deleteGroup',
      method: 'DELETE',
      path: '/groups/{name}',
      tag: 'groups',
      summary: 'Delete a group (members keep the name in their groups until changed)',
      access: 'admin',
      scope: 'groups:write',
      params: GroupParams,
      success: { status: 204, description: 'deleted' },
      async handle(ctx) {
        const g = await ctx.deps.store.groups.get(ctx.params.name);
        if (!g) throw notFound(`no group is named \`${ctx.params.name}\``);
        await ctx.deps.store.groups.delete(g.name);
        ctx.audit({
          action: 'group.deleted',
          resource: `group:${g.name}`,
          before: groupView(g),
          after: null,
        });
        return { status: 204 };
      },
    }),
  ];
}
