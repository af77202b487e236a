/**
 * What the console's overview, audit viewer and policy simulator need beyond plain records:
 * decision counts over time, the explanation of one request, a polling tail of the log, and the
 * what-if replay of recent requests against a draft. Every scan is bounded (see the limits below)
 * and says when it stopped early.
 */
import { z } from 'zod';
import { AUDIT_KINDS, type AuditRecord } from '../../audit/record.js';
import { queryAudit } from '../../audit/query.js';
import { RouteSchema } from '../../config/schema.js';
import { DEFAULT_DEVICE_SETTINGS, type DeviceTrustSettings } from '../../device/settings.js';
import { summarizeDevice } from '../../device/inventory.js';
import { PolicySchema } from '../../pdp/lang/schema.js';
import { parseDuration } from '../../shared/duration.js';
import { ProblemsError } from '../../shared/errors.js';
import type { AdminStore } from '../deps.js';
import { op, type Operation } from '../operation.js';
import { badRequest, notFound } from '../problem.js';
import { explain, findAccessRecord, reasonText } from '../replay/explain.js';
import { FactCache } from '../replay/facts.js';
import { simulate } from '../replay/simulate.js';
import { iso, sessionStatus } from '../schemas.js';
import { translate } from './config-edit.js';

/** Most access records one overview reads. */
export const OVERVIEW_MAX_RECORDS = 10_000;
/** Most records a request-id lookup scans (admin: all users; portal: the caller's own). */
export const EXPLAIN_MAX_SCAN = 20_000;
/** Most access records a simulation replays, and its default. */
export const SIMULATE_MAX_RECORDS = 10_000;
const SIMULATE_DEFAULT_RECORDS = 1_000;
const SIMULATE_MAX_CHANGED = 200;
/** Most users walked to count live sessions, and most devices counted. */
const OVERVIEW_MAX_USERS = 2_000;
const OVERVIEW_MAX_DEVICES = 1_000;

export const RequestIdParam = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{7,63}$/, 'a request id is 8 to 64 letters, digits and `-`')
  .meta({ description: 'a request id, as the 403 page and `X-Request-Id` show it' });

const Reasons = z.array(z.object({ code: z.string(), message: z.string() }));

const Replayed = z
  .object({
    decision: z.enum(['allow', 'deny', 'login', 'step_up', 'no-route']),
    policy: z.string().nullable(),
    rule: z.string().nullable(),
    reasons: Reasons,
  })
  .meta({ id: 'ReplayedDecision' });

const Approximations = z.array(z.string()).meta({
  description:
    'facts the replay could not take from the record: `groups-now`, `device-now`, `mfa-unknown`, `device-unknown`, `user-unknown`, `wildcard-host` (docs/console.md)',
});

export const ExplanationView = z
  .object({
    request_id: z.string(),
    time: z.string(),
    route: z.string().nullable(),
    method: z.string().nullable(),
    path: z.string().nullable(),
    source_ip: z.string().nullable(),
    user_id: z.string().nullable(),
    email: z.string().nullable(),
    device_id: z.string().nullable(),
    decision: z.string().nullable(),
    mode: z.string().nullable(),
    policy: z.string().nullable(),
    rule: z.string().nullable(),
    reasons: Reasons,
    now: Replayed.extend({ approximations: Approximations }).nullable(),
  })
  .meta({ id: 'Explanation', description: 'One access decision from the audit log, explained.' });

const Counts = z.object({
  allow: z.number().int(),
  deny: z.number().int(),
  login: z.number().int(),
  step_up: z.number().int(),
});
type CountsT = z.infer<typeof Counts>;

const Overview = z
  .object({
    window_start: z.string(),
    window_end: z.string(),
    bucket_seconds: z.number().int(),
    scanned: z.number().int(),
    truncated: z
      .boolean()
      .meta({ description: 'the window held more access records than one overview reads' }),
    totals: Counts,
    buckets: z.array(
      Counts.extend({
        start: z.string(),
        deny_reasons: z.record(z.string(), z.number().int()),
      }),
    ),
    top_deny_reasons: z.array(
      z.object({ code: z.string(), message: z.string(), count: z.number().int() }),
    ),
    top_denied_routes: z.array(z.object({ route: z.string(), count: z.number().int() })),
    sessions: z.object({ active: z.number().int(), truncated: z.boolean() }),
    devices: z.object({
      active: z.number().int(),
      pending: z.number().int(),
      revoked: z.number().int(),
      stale: z.number().int(),
      truncated: z.boolean(),
    }),
  })
  .meta({ id: 'Overview' });

const SimulateBody = z
  .strictObject({
    routes: z.array(RouteSchema).optional().meta({ description: 'default: the routes in force' }),
    policies: z
      .record(z.string(), PolicySchema)
      .optional()
      .meta({ description: 'default: the policies in force' }),
    limit: z
      .number()
      .int()
      .min(1)
      .max(SIMULATE_MAX_RECORDS)
      .optional()
      .meta({ description: `how many of the newest access records to replay (default 1000)` }),
  })
  .meta({ id: 'Simulation' });

const ChangedRequest = z.object({
  request_id: z.string().nullable(),
  time: z.string(),
  user_id: z.string().nullable(),
  email: z.string().nullable(),
  device_id: z.string().nullable(),
  route: z.string(),
  method: z.string(),
  path: z.string(),
  recorded: z.string().nullable(),
  before: Replayed,
  after: Replayed,
  approximations: Approximations,
});

const SimulationResult = z
  .object({
    scanned: z.number().int(),
    replayed: z.number().int(),
    changed: z.number().int(),
    newly_denied: z.number().int(),
    newly_allowed: z.number().int(),
    drift: z.number().int().meta({
      description:
        'replays of the config in force that differ from the decision recorded at the time (facts that changed since)',
    }),
    from: z.string().nullable(),
    until: z.string().nullable(),
    requests: z.array(ChangedRequest),
    truncated: z.boolean(),
    problems: z.array(z.record(z.string(), z.unknown())),
  })
  .meta({ id: 'SimulationResult' });

const TailRecord = z
  .object({ seq: z.number().int(), id: z.string(), time: z.string(), kind: z.enum(AUDIT_KINDS) })
  .catchall(z.unknown());

const zero = (): CountsT => ({ allow: 0, deny: 0, login: 0, step_up: 0 });

function isDecision(d: unknown): d is keyof CountsT {
  return d === 'allow' || d === 'deny' || d === 'login' || d === 'step_up';
}

export function insightOperations(): Operation[] {
  return [
    op({
      id: 'getOverview',
      method: 'GET',
      path: '/stats/overview',
      tag: 'insight',
      summary: 'Decisions over time, top deny reasons, live sessions and devices',
      description: `Reads at most ${OVERVIEW_MAX_RECORDS} of the newest access records in the window (\`truncated\` says when there were more), walks at most ${OVERVIEW_MAX_USERS} users for sessions and ${OVERVIEW_MAX_DEVICES} devices.`,
      access: 'admin',
      scope: 'audit:read',
      query: z.strictObject({
        window: z
          .string()
          .max(16)
          .optional()
          .meta({ description: 'how far back: `1h` to `30d` (default `24h`)' }),
        buckets: z
          .string()
          .regex(/^[1-9][0-9]?$/, 'expected a whole number from 1 to 96')
          .transform(Number)
          .pipe(z.number().max(96, 'expected a whole number from 1 to 96'))
          .optional()
          .meta({ description: 'how many time buckets (1-96, default 24)' }),
      }),
      success: { status: 200, description: 'the overview', schema: Overview },
      async handle(ctx) {
        const windowMs = parseDuration(ctx.query.window ?? '24h');
        if (windowMs === undefined || windowMs < 3_600_000 || windowMs > 30 * 86_400_000) {
          throw badRequest('`window` must be a duration from 1h to 30d', 'for example `24h`, `7d`');
        }
        const n = ctx.query.buckets ?? 24;
        const bucketMs = Math.ceil(windowMs / n / 1000) * 1000;
        const end = ctx.now;
        const start = end - bucketMs * n;
        const page = await queryAudit(ctx.deps.store.audit, {
          kind: 'access',
          since: start,
          limit: OVERVIEW_MAX_RECORDS,
        });
        const totals = zero();
        const buckets = Array.from({ length: n }, (_, i) => ({
          start: iso(start + i * bucketMs),
          ...zero(),
          reasons: new Map<string, number>(),
        }));
        const reasonTotals = new Map<string, number>();
        const routeTotals = new Map<string, number>();
        for (const r of page.records) {
          if (!isDecision(r.decision)) continue;
          const i = Math.min(n - 1, Math.floor((Date.parse(r.time) - start) / bucketMs));
          const b = buckets[i];
          if (!b) continue;
          b[r.decision]++;
          totals[r.decision]++;
          if (r.decision === 'allow') continue;
          const code = r.reasons?.[0]?.code ?? 'unknown';
          b.reasons.set(code, (b.reasons.get(code) ?? 0) + 1);
          reasonTotals.set(code, (reasonTotals.get(code) ?? 0) + 1);
          if (typeof r.route === 'string')
            routeTotals.set(r.route, (routeTotals.get(r.route) ?? 0) + 1);
        }
        const top = [...reasonTotals].sort((a, b) => b[1] - a[1]).slice(0, 5);
        const topCodes = new Set(top.map(([c]) => c));
        return {
          status: 200,
          body: {
            window_start: iso(start),
            window_end: iso(end),
            bucket_seconds: bucketMs / 1000,
            scanned: page.records.length,
            truncated: page.nextCursor !== null,
            totals,
            buckets: buckets.map(({ reasons, ...b }) => ({
              ...b,
              deny_reasons: Object.fromEntries([...reasons].filter(([c]) => topCodes.has(c))),
            })),
            top_deny_reasons: top.map(([code, count]) => ({
              code,
              message: reasonText(code),
              count,
            })),
            top_denied_routes: [...routeTotals]
              .sort((a, b) => b[1] - a[1])
              .slice(0, 5)
              .map(([route, count]) => ({ route, count })),
            sessions: await countSessions(ctx.deps.store, ctx.now),
            devices: await countDevices(
              ctx.deps.store,
              ctx.now,
              ctx.deps.deviceSettings?.() ?? DEFAULT_DEVICE_SETTINGS,
            ),
          },
        };
      },
    }),
    op({
      id: 'explainRequest',
      method: 'GET',
      path: '/audit/requests/{request_id}',
      tag: 'audit',
      summary: 'The decision of one request, by its request id, explained',
      description: `Scans at most ${EXPLAIN_MAX_SCAN} of the newest access records (the log is not indexed by request id). \`now\` replays the request under the routes and policies in force, with rebuilt facts.`,
      access: 'admin',
      scope: 'audit:read',
      params: z.strictObject({ request_id: RequestIdParam }),
      success: { status: 200, description: 'the explanation', schema: ExplanationView },
      async handle(ctx) {
        const found = await findAccessRecord(ctx.deps.store.audit, ctx.params.request_id, {
          maxScan: EXPLAIN_MAX_SCAN,
        });
        if (!found.record) {
          throw notFound(
            found.exhausted
              ? `no access decision with this request id among the newest ${found.scanned} records`
              : 'no access decision has this request id',
          );
        }
        const facts = new FactCache(ctx.deps.store, ctx.deps.deviceFacts);
        const body = await explain(found.record, ctx.deps.config.current().engine, facts);
        return { status: 200, body };
      },
    }),
    op({
      id: 'tailAudit',
      method: 'GET',
      path: '/audit/tail',
      tag: 'audit',
      summary: 'Poll for new audit records: those after `after` (oldest first), or the newest',
      description:
        'Without `after`: the newest `limit` records, oldest first. With it: the records whose sequence number is greater, oldest first. Pass the answer’s `last_seq` as the next `after`.',
      access: 'admin',
      scope: 'audit:read',
      query: z.strictObject({
        after: z
          .string()
          .regex(/^(0|[1-9][0-9]{0,14})$/, 'expected a sequence number')
          .transform(Number)
          .optional(),
        kind: z.enum(AUDIT_KINDS).optional(),
        decision: z.enum(['allow', 'deny', 'login', 'step_up']).optional(),
        user_id: z.string().min(1).max(256).optional(),
        route: z.string().min(1).max(2048).optional(),
        limit: z
          .string()
          .regex(/^[1-9][0-9]{0,2}$/, 'expected a whole number from 1 to 500')
          .transform(Number)
          .pipe(z.number().max(500, 'expected a whole number from 1 to 500'))
          .optional(),
      }),
      success: {
        status: 200,
        description: 'records, oldest first',
        schema: z.object({ records: z.array(TailRecord), last_seq: z.number().int() }),
      },
      async handle(ctx) {
        const q = ctx.query;
        const limit = q.limit ?? 100;
        const filter = {
          limit,
          ...(q.kind !== undefined ? { kind: q.kind } : {}),
          ...(q.decision !== undefined ? { decision: q.decision } : {}),
          ...(q.user_id !== undefined ? { user: q.user_id } : {}),
          ...(q.route !== undefined ? { route: q.route } : {}),
        };
        let records: readonly AuditRecord[];
        if (q.after !== undefined) {
          const page = await queryAudit(ctx.deps.store.audit, {
            ...filter,
            order: 'asc',
            cursor: `a${q.after}`,
          });
          records = page.records;
        } else {
          records = [...(await queryAudit(ctx.deps.store.audit, filter)).records].reverse();
        }
        // With filters, the newest record seen may be older than the head: start from the head then
        // so the next poll does not read the same unmatched records again.
        const head = (await ctx.deps.store.audit.bounds())?.last ?? 0;
        const lastSeen = records[records.length - 1]?.seq ?? q.after ?? 0;
        const last = records.length < limit ? Math.max(lastSeen, head) : lastSeen;
        return { status: 200, body: { records, last_seq: last } };
      },
    }),
    op({
      id: 'simulatePolicy',
      method: 'POST',
      path: '/simulate',
      tag: 'insight',
      summary: 'What if: replay recent requests against draft routes and policies',
      description: `Replays the newest access records (\`limit\`, default ${SIMULATE_DEFAULT_RECORDS}, at most ${SIMULATE_MAX_RECORDS}) against the routes and policies in force and against the draft (either part defaults to what is in force), with the same rebuilt facts, and returns the requests whose decision would change (at most ${SIMULATE_MAX_CHANGED}). Nothing is stored. The draft is checked like \`PUT /config\`: a draft with errors is a 400 listing them. See docs/console.md for which facts the audit record lacks and how they are rebuilt.`,
      access: 'admin',
      scope: 'audit:read',
      body: SimulateBody,
      rawBody: true,
      bodyRequired: true,
      success: { status: 200, description: 'what would change', schema: SimulationResult },
      async handle(ctx) {
        const body = ctx.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body))
          throw badRequest('the body must be a JSON object');
        const raw = body as Record<string, unknown>;
        const extra = Object.keys(raw).filter((k) => !['routes', 'policies', 'limit'].includes(k));
        if (extra.length > 0)
          throw badRequest(
            `unknown key \`${(extra[0] ?? '').slice(0, 64)}\``,
            'the body holds `routes`, `policies` and `limit`',
          );
        const limit = raw.limit ?? SIMULATE_DEFAULT_RECORDS;
        if (
          typeof limit !== 'number' ||
          !Number.isSafeInteger(limit) ||
          limit < 1 ||
          limit > SIMULATE_MAX_RECORDS
        ) {
          throw badRequest(`\`limit\` must be a whole number from 1 to ${SIMULATE_MAX_RECORDS}`);
        }
        const state = ctx.deps.config.current();
        const checked = ctx.deps.config.check({
          routes: raw.routes ?? state.document.routes,
          policies: raw.policies ?? state.document.policies,
        });
        if (!checked.result) throw translate(new ProblemsError(checked.problems), false);
        const page = await queryAudit(ctx.deps.store.audit, { kind: 'access', limit });
        const facts = new FactCache(ctx.deps.store, ctx.deps.deviceFacts);
        const result = await simulate(page.records, state.engine, checked.result.engine, facts, {
          maxChanged: SIMULATE_MAX_CHANGED,
        });
        const problems = checked.problems.map((p) => ({
          code: p.code,
          severity: p.severity,
          message: p.message,
        }));
        return { status: 200, body: { ...result, problems } };
      },
    }),
  ];
}

async function countSessions(
  store: AdminStore,
  now: number,
): Promise<{ active: number; truncated: boolean }> {
  let active = 0;
  let walked = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await store.users.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const u of page.items) {
      for (const s of await store.sessions.listByUser(u.id))
        if (sessionStatus(s, now) === 'active') active++;
      walked++;
    }
    if (page.nextCursor === null) return { active, truncated: false };
    if (walked >= OVERVIEW_MAX_USERS) return { active, truncated: true };
    cursor = page.nextCursor;
  }
}

async function countDevices(
  store: AdminStore,
  now: number,
  settings: DeviceTrustSettings,
): Promise<{
  active: number;
  pending: number;
  revoked: number;
  stale: number;
  truncated: boolean;
}> {
  const page = await store.devices.list({ limit: OVERVIEW_MAX_DEVICES });
  const out = { active: 0, pending: 0, revoked: 0, stale: 0, truncated: page.nextCursor !== null };
  for (const d of page.items) {
    out[d.state]++;
    if (d.state === 'active' && summarizeDevice(d, now, settings).stale) out.stale++;
  }
  return out;
}
