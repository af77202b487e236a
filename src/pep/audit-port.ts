/**
 * The audit port backed by the audit log's writer: each access decision becomes an `access`
 * record. `AuditWriter.append` is synchronous (it queues) and throws `ZT_AUDIT_BACKLOG_FULL` when
 * its backlog is full, which the proxy turns into a 503.
 */
import type { AuditEvent } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AccessRecord, AuditPort } from './ports.js';

export function auditWriterPort(writer: Pick<AuditWriter, 'append'>): AuditPort {
  return {
    record(r: AccessRecord): void {
      const event: AuditEvent = {
        kind: 'access',
        time: r.time,
        request_id: r.requestId,
        actor: {
          ...(r.actor.user !== undefined ? { user: r.actor.user } : {}),
          ...(r.actor.email !== undefined ? { email: r.actor.email } : {}),
          ...(r.actor.device !== undefined ? { device: r.actor.device } : {}),
        },
        source_ip: r.sourceIp,
        route: r.route,
        method: r.method,
        path: r.path,
        decision: r.decision,
        policy: r.policy,
        ...(r.rule !== undefined ? { rule: r.rule } : {}),
        reasons: r.reasons.map((code) => ({ code })),
        mode: r.mode,
        latency_us: r.latencyUs,
        details: { via: r.via, forwarded: r.forwarded },
      };
      writer.append(event);
    },
  };
}
