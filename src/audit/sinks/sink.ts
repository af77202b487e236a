/** A destination for streamed audit records (a SIEM): delivers a batch or throws. */
import type { AuditRecord } from '../record.js';

export interface AuditSink {
  /** a stable name: the stream's delivery cursor is stored under it */
  readonly name: string;
  /** delivers the batch (at least once); throws `ZT_AUDIT_SINK_FAILED` when it could not */
  deliver(records: readonly AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}
