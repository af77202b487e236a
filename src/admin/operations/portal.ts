/**
 * The user portal's endpoints (`/me/...`): a signed-in user's own apps, sessions and devices, a
 * device enrollment code, and "why was I denied?". Access `user`: a session only (never an API
 * token), and every handler reads and changes only records whose user is the caller; anything
 * else answers 404, exactly as a record that does not exist (no probing other users' ids).
 */
import { z } from 'zod';
import { issueEnrollmentCode } from '../../device/enroll/codes.js';
import { listDevices, revokeDevice } from '../../device/inventory.js';
import { DEFAULT_DEVICE_SETTINGS } from '../../device/settings.js';
import type { DecisionInput } from '../../pdp/index.js';
import type { SessionPrincipal } from '../auth/principal.js';
import { actorOf } from '../auth/principal.js';
import { op, type Operation, type OperationContext } from '../operation.js';
import { notFound } from '../problem.js';
import { explain, findAccessRecord } from '../replay/explain.js';
import { FactCache, routeTarget } from '../replay/facts.js';
import { decideWith } from '../replay/simulate.js';
import { DeviceIdParam, SessionIdParam, SessionView, iso, sessionView } from '../schemas.js';
import { EXPLAIN_MAX_SCAN, ExplanationView, RequestIdParam } from './insight.js';

type AnyCtx = OperationContext<unknown, unknown, unknown>;

function caller(ctx: { readonly principal: unknown }): SessionPrincipal {
  const p = ctx.principal as SessionPrincipal | undefined;
  // the router refuses tokens for `user` operations; this guards a wiring mistake
  if (p?.kind !== 'session') throw new Error('a portal operation without a session');
  return p;
}

const MySession = SessionView.extend({
  current: z.boolean().meta({ description: 'the session making this request' }),
}).meta({ id: 'MySession' });

const MyDevice = z
  .object({
    id: z.string(),
    hostname: z.string(),
    os: z.string(),
    state: z.enum(['pending', 'active', 'revoked']),
    enrolled_at: z.string(),
    last_report_at: z.string().nullable(),
    managed: z.boolean(),
    tier: z.string().nullable(),
    stale: z.boolean(),
    current: z.boolean().meta({ description: 'the device this session was created on' }),
  })
  .meta({ id: 'MyDevice' });

const MyApp = z
  .object({
    url: z.string().meta({ description: "the route's `from`" }),
    access: z.enum(['allowed', 'step_up', 'denied']).meta({
      description:
        'what the route’s policy answers for this session now (at its root path); `step_up`: after a fresh MFA',
    }),
    reasons: z.array(z.object({ code: z.string(), message: z.string() })),
  })
  .meta({ id: 'MyApp' });

const Count = z.object({ revoked: z.number().int() });

async function ownSession(ctx: AnyCtx, id: string) {
  const me = caller(ctx);
  const s = await ctx.deps.store.sessions.get(id);
  if (!s || s.userId !== me.identity.user.id) throw notFound('you have no session with this id');
  return { me, s };
}

export function portalOperations(): Operation[] {
  return [
    op({
      id: 'listMyApps',
      method: 'GET',
      path: '/me/apps',
      tag: 'portal',
      summary: 'The apps (routes) and whether their policy lets this session in now',
      access: 'user',
      success: {
        status: 200,
        description: 'every route, with the answer for this session',
        schema: z.object({ apps: z.array(MyApp) }),
      },
      handle(ctx) {
        const me = caller(ctx);
        const state = ctx.deps.config.current();
        const apps = state.config.routes.map((route) => {
          const target = routeTarget(route.from);
          const path = (() => {
            try {
              return new URL(route.from.replace('*.', 'x.')).pathname || '/';
            } catch {
              return '/';
            }
          })();
          const input: DecisionInput = {
            ...me.input,
            request: {
              ...me.input.request,
              method: 'GET',
              host: target?.host ?? '',
              path,
            },
          };
          const d = decideWith(state.engine, target?.host ?? '', path, input);
          const access =
            d.decision === 'allow' ? 'allowed' : d.decision === 'step_up' ? 'step_up' : 'denied';
          return {
            url: route.from,
            access,
            reasons: access === 'allowed' ? [] : d.reasons.slice(0, 5),
          };
        });
        return Promise.resolve({ status: 200, body: { apps } });
      },
    }),
    op({
      id: 'listMySessions',
      method: 'GET',
      path: '/me/sessions',
      tag: 'portal',
      summary: 'My live sessions',
      access: 'user',
      success: {
        status: 200,
        description: 'the live sessions of the caller',
        schema: z.object({ sessions: z.array(MySession) }),
      },
      async handle(ctx) {
        const me = caller(ctx);
        const list = await ctx.deps.store.sessions.listByUser(me.identity.user.id);
        const sessions = list
          .map((s) => sessionView(s, ctx.now))
          .filter((v) => v.status === 'active')
          .sort((a, b) => b.created_at.localeCompare(a.created_at))
          .map((v) => ({ ...v, current: v.ref === me.identity.session.id }));
        return { status: 200, body: { sessions } };
      },
    }),
    op({
      id: 'revokeMySession',
      method: 'POST',
      path: '/me/sessions/{id}/revoke',
      tag: 'portal',
      summary: 'Sign out one of my sessions',
      access: 'user',
      params: z.strictObject({ id: SessionIdParam }),
      success: { status: 200, description: 'revoked', schema: Count },
      async handle(ctx) {
        const { me, s } = await ownSession(ctx, ctx.params.id);
        const done = await ctx.deps.sessions.revoke(s.idHash, 'user', me.identity.user.id);
        if (done) {
          ctx.audit({
            action: 'session.revoked',
            resource: `session:${s.idHash.slice(0, 16)}`,
            before: sessionView(s, ctx.now),
            after: null,
            details: { by: 'self' },
          });
        }
        return { status: 200, body: { revoked: done ? 1 : 0 } };
      },
    }),
    op({
      id: 'revokeMySessions',
      method: 'POST',
      path: '/me/sessions/revoke',
      tag: 'portal',
      summary: 'Sign out everywhere: every one of my sessions, this one too',
      access: 'user',
      success: { status: 200, description: 'how many were ended', schema: Count },
      async handle(ctx) {
        const me = caller(ctx);
        const n = await ctx.deps.sessions.revokeUser(me.identity.user.id, 'user');
        ctx.audit({
          action: 'session.revoked_all',
          resource: `user:${me.identity.user.id}`,
          before: null,
          after: null,
          details: { by: 'self', count: n },
        });
        return { status: 200, body: { revoked: n } };
      },
    }),
    op({
      id: 'listMyDevices',
      method: 'GET',
      path: '/me/devices',
      tag: 'portal',
      summary: 'My devices',
      access: 'user',
      success: {
        status: 200,
        description: 'the devices of the caller',
        schema: z.object({ devices: z.array(MyDevice) }),
      },
      async handle(ctx) {
        const me = caller(ctx);
        const page = await listDevices(ctx.deps.store.devices, {
          now: ctx.now,
          settings: ctx.deps.deviceSettings?.() ?? DEFAULT_DEVICE_SETTINGS,
          user: me.identity.user.id,
        });
        const devices = page.devices.map((d) => ({
          id: d.id,
          hostname: d.hostname,
          os: d.os,
          state: d.state,
          enrolled_at: d.enrolled_at,
          last_report_at: d.last_report_at,
          managed: d.managed,
          tier: d.tier,
          stale: d.stale,
          current: d.id === me.identity.deviceId,
        }));
        return { status: 200, body: { devices } };
      },
    }),
    op({
      id: 'removeMyDevice',
      method: 'POST',
      path: '/me/devices/{id}/remove',
      tag: 'portal',
      summary: 'Remove one of my devices: it is revoked, with its certificate',
      access: 'user',
      params: z.strictObject({ id: DeviceIdParam }),
      success: {
        status: 200,
        description: 'the outcome',
        schema: z.object({ changed: z.boolean(), certificate_revoked: z.boolean() }),
      },
      async handle(ctx) {
        const me = caller(ctx);
        const d = await ctx.deps.store.devices.get(ctx.params.id);
        if (!d || d.userId !== me.identity.user.id)
          throw notFound('you have no device with this id');
        const outcome = await revokeDevice(d.id, {
          devices: ctx.deps.store.devices,
          now: ctx.now,
          ...(ctx.deps.events ? { events: ctx.deps.events } : {}),
          ...(ctx.deps.deviceIssuer ? { issuer: ctx.deps.deviceIssuer } : {}),
          actor: actorOf(me),
          reason: 'cessationOfOperation',
        });
        if (outcome.changed) {
          ctx.audit({
            action: 'device.revoked',
            resource: `device:${d.id}`,
            before: { id: d.id, state: d.state },
            after: outcome.device,
            details: { by: 'self', certificate_revoked: outcome.certificate_revoked },
          });
        }
        return {
          status: 200,
          body: { changed: outcome.changed, certificate_revoked: outcome.certificate_revoked },
        };
      },
    }),
    op({
      id: 'createMyEnrollmentCode',
      method: 'POST',
      path: '/me/enrollment-code',
      tag: 'portal',
      summary: 'A one-time code to enroll a device (`ztgate agent enroll --code`)',
      description: 'The code is shown once, lives 10 minutes and works once.',
      access: 'user',
      success: {
        status: 201,
        description: 'the code',
        schema: z.object({ code: z.string(), expires_at: z.string() }),
      },
      async handle(ctx) {
        const me = caller(ctx);
        const issued = await issueEnrollmentCode(
          ctx.deps.store.enrollmentCodes,
          { id: me.identity.user.id, email: me.identity.user.email ?? null },
          { now: ctx.now },
        );
        ctx.audit({
          action: 'device.enrollment_code_issued',
          resource: `user:${me.identity.user.id}`,
          before: null,
          after: { expires_at: iso(issued.expiresAt) },
        });
        return { status: 201, body: { code: issued.code, expires_at: iso(issued.expiresAt) } };
      },
    }),
    op({
      id: 'explainMyDenial',
      method: 'GET',
      path: '/me/denials/{request_id}',
      tag: 'portal',
      summary: 'Why was I denied? One of my own requests, by its request id',
      description: `Only the caller's own access decisions (at most the newest ${EXPLAIN_MAX_SCAN}); any other request id is a 404.`,
      access: 'user',
      params: z.strictObject({ request_id: RequestIdParam }),
      success: { status: 200, description: 'the explanation', schema: ExplanationView },
      async handle(ctx) {
        const me = caller(ctx);
        const found = await findAccessRecord(ctx.deps.store.audit, ctx.params.request_id, {
          userId: me.identity.user.id,
          maxScan: EXPLAIN_MAX_SCAN,
        });
        // the index is on the user id; check the record itself too
        if (!found.record || found.record.actor?.user !== me.identity.user.id)
          throw notFound('none of your requests has this id');
        const facts = new FactCache(ctx.deps.store, ctx.deps.deviceFacts);
        const body = await explain(found.record, ctx.deps.config.current().engine, facts);
        return { status: 200, body };
      },
    }),
  ];
}
