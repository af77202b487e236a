/** Reading the audit log. */
import { z } from 'zod';
import { AUDIT_KINDS } from '../../audit/record.js';
import { queryAudit } from '../../audit/query.js';
import { op, type Operation } from '../operation.js';
import { TimeQuery } from '../schemas.js';

const AuditRecordView = z
  .object({
    v: z.number().int(),
    id: z.string(),
    seq: z.number().int(),
    time: z.string(),
    kind: z.enum(AUDIT_KINDS),
    prev_hash: z.string(),
    hash: z.string(),
  })
  .catchall(z.unknown())
  .meta({
    id: 'AuditRecord',
    description: 'One record of the hash-chained audit log (see docs/audit.md for every field).',
  });

export function auditOperations(): Operation[] {
  return [
    op({
      id: 'queryAudit',
      method: 'GET',
      path: '/audit/records',
      tag: 'audit',
      summary: 'Audit records, newest first, with filters and cursor paging',
      access: 'admin',
      scope: 'audit:read',
      query: z.strictObject({
        user_id: z.string().min(1).max(256).optional(),
        device_id: z.string().min(1).max(256).optional(),
        route: z.string().min(1).max(2048).optional(),
        decision: z.enum(['allow', 'deny', 'login', 'step_up']).optional(),
        kind: z.enum(AUDIT_KINDS).optional(),
        since: TimeQuery.meta({ description: 'inclusive, ISO 8601' }),
        until: TimeQuery.meta({ description: 'exclusive, ISO 8601' }),
        order: z.enum(['asc', 'desc']).optional(),
        limit: z
          .string()
          .regex(/^[1-9][0-9]{0,4}$/, 'expected a whole number from 1 to 10000')
          .transform(Number)
          .pipe(z.number().max(10_000, 'expected a whole number from 1 to 10000'))
          .optional(),
        cursor: z
          .string()
          .regex(/^[ad][0-9]{1,15}$/, 'malformed cursor')
          .optional()
          .meta({ description: '`next_cursor` of the previous page' }),
      }),
      success: {
        status: 200,
        description: 'a page of records',
        schema: z.object({ records: z.array(AuditRecordView), next_cursor: z.string().nullable() }),
      },
      async handle(ctx) {
        const q = ctx.query;
        const page = await queryAudit(ctx.deps.store.audit, {
          limit: q.limit ?? 100,
          ...(q.user_id !== undefined ? { user: q.user_id } : {}),
          ...(q.device_id !== undefined ? { device: q.device_id } : {}),
          ...(q.route !== undefined ? { route: q.route } : {}),
          ...(q.decision !== undefined ? { decision: q.decision } : {}),
          ...(q.kind !== undefined ? { kind: q.kind } : {}),
          ...(q.since !== undefined ? { since: q.since } : {}),
          ...(q.until !== undefined ? { until: q.until } : {}),
          ...(q.order !== undefined ? { order: q.order } : {}),
          ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        });
        return { status: 200, body: { records: page.records, next_cursor: page.nextCursor } };
      },
    }),
  ];
}
