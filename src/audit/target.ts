/**
 * Where the audit writer sends its batches. `inlineTarget` writes on the calling thread;
 * `WorkerAuditTarget` (worker-target.ts) writes from a worker thread with its own connection, so
 * chaining and the database write never block the event loop that serves requests.
 */
import type { AuditCheckpointRow, AuditStore, NewAuditCheckpoint } from '../store/store.js';
import { linkPrepared, toDraft } from './chain.js';
import type { PreparedRecord } from './record.js';

/** What a committed batch became. */
export interface AppendSummary {
  readonly count: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly lastHash: string;
}

export interface AuditBatchTarget {
  /** chains and writes the batch in one transaction (idempotent on retry, see AuditStore) */
  appendPrepared(records: readonly PreparedRecord[]): Promise<AppendSummary>;
  addCheckpoint(checkpoint: NewAuditCheckpoint): Promise<AuditCheckpointRow>;
  close(): Promise<void>;
}

export async function appendPreparedTo(
  store: AuditStore,
  records: readonly PreparedRecord[],
): Promise<AppendSummary> {
  const rows = await store.appendBatch(records.map(toDraft), linkPrepared);
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (!first || !last) return { count: 0, firstSeq: 0, lastSeq: 0, lastHash: '' };
  return { count: rows.length, firstSeq: first.seq, lastSeq: last.seq, lastHash: last.hash };
}

/** Writes on the calling thread, through a store the caller owns (and closes). */
export function inlineTarget(store: AuditStore): AuditBatchTarget {
  return {
    appendPrepared: (records) => appendPreparedTo(store, records),
    addCheckpoint: (cp) => store.addCheckpoint(cp),
    close: () => Promise.resolve(),
  };
}
