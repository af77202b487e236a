/** Sign-in sessions: list, revoke. */
import { z } from 'zod';
import { emailKey, encodeCursor, type UserRecord } from '../../store/store.js';
import { op, type Operation } from '../operation.js';
import { notFound } from '../problem.js';
import {
  BoolQuery,
  CursorQuery,
  DeviceIdParam,
  LimitQuery,
  PageOf,
  Revoked,
  SessionIdParam,
  SessionView,
  UserIdParam,
  sessionView,
  type SessionView as SessionViewType,
} from '../schemas.js';

const USERS_PAGE = 200;

export function sessionOperations(): Operation[] {
  return [
    op({
      id: 'listSessions',
      method: 'GET',
      path: '/sessions',
      tag: 'sessions',
      summary: 'Live sessions (with `all=true`, also ended ones), by user',
      description:
        'Pages go user by user (ordered by email): a page holds whole users, so it may have a few more than `limit` sessions.',
      access: 'admin',
      scope: 'sessions:read',
      query: z.strictObject({
        user_id: UserIdParam.optional(),
        device_id: DeviceIdParam.optional(),
        all: BoolQuery.meta({ description: 'also revoked, expired and idle sessions' }),
        limit: LimitQuery,
        cursor: CursorQuery,
      }),
      success: {
        status: 200,
        description: 'a page of sessions',
        schema: PageOf('sessions', SessionView),
      },
      async handle(ctx) {
        const { users, sessions, devices } = ctx.deps.store;
        const q = ctx.query;
        const limit = q.limit ?? 100;
        const out: SessionViewType[] = [];
        const collect = async (user: UserRecord): Promise<void> => {
          for (const s of await sessions.listByUser(user.id)) {
            if (q.device_id !== undefined && s.deviceId !== q.device_id) continue;
            const view = sessionView(s, ctx.now, user.email);
            if (q.all || view.status === 'active') out.push(view);
          }
        };
        let userId = q.user_id;
        if (userId === undefined && q.device_id !== undefined) {
          userId = (await devices.get(q.device_id))?.userId;
          if (userId === undefined)
            return { status: 200, body: { sessions: [], next_cursor: null } };
        }
        if (userId !== undefined) {
          const user = await users.get(userId);
          if (user) await collect(user);
          return { status: 200, body: { sessions: out, next_cursor: null } };
        }
        // The store keeps sessions per user: walk the users, whole users per page.
        let cursor = q.cursor;
        for (;;) {
          const page = await users.list({ limit: USERS_PAGE, ...(cursor ? { cursor } : {}) });
          for (const user of page.items) {
            await collect(user);
            if (out.length >= limit) {
              const more = user !== page.items[page.items.length - 1] || page.nextCursor !== null;
              return {
                status: 200,
                body: {
                  sessions: out,
                  next_cursor: more ? encodeCursor(emailKey(user.email)) : null,
                },
              };
            }
          }
          if (page.nextCursor === null)
            return { status: 200, body: { sessions: out, next_cursor: null } };
          cursor = page.nextCursor;
        }
      },
    }),
    op({
      id: 'revokeSession',
      method: 'POST',
      path: '/sessions/{id}/revoke',
      tag: 'sessions',
      summary: 'End one session (refused on its next request, on every replica)',
      access: 'admin',
      scope: 'sessions:write',
      params: z.strictObject({ id: SessionIdParam }),
      success: { status: 200, description: 'revoked', schema: Revoked },
      async handle(ctx) {
        const before = await ctx.deps.store.sessions.get(ctx.params.id);
        if (!before) throw notFound('no session has this id');
        const by = ctx.principal?.kind === 'session' ? ctx.principal.identity.user.id : undefined;
        const revoked = await ctx.deps.sessions.revoke(before.idHash, 'admin', by);
        const after = (await ctx.deps.store.sessions.get(before.idHash)) ?? before;
        if (revoked) {
          ctx.audit({
            action: 'session.revoked',
            resource: `session:${before.idHash.slice(0, 16)}`,
            before: sessionView(before, ctx.now),
            after: sessionView(after, ctx.now),
          });
        }
        return { status: 200, body: { revoked } };
      },
    }),
  ];
}
