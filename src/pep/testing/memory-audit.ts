/** TEST DOUBLE (tests only): keeps access records in memory; can be made to refuse. */
import { AuditBacklogFullError } from '../../audit/writer.js';
import type { AccessRecord, AuditPort } from '../ports.js';

export class MemoryAuditDouble implements AuditPort {
  readonly records: AccessRecord[] = [];
  /** when true, `record` throws ZT_AUDIT_BACKLOG_FULL (the writer's backlog is full) */
  full = false;

  record(record: AccessRecord): void {
    if (this.full) throw new AuditBacklogFullError(100_000);
    this.records.push(record);
  }

  byRequest(requestId: string): AccessRecord | undefined {
    return this.records.find((r) => r.requestId === requestId);
  }
}
