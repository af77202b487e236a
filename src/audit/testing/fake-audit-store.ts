/** An in-memory AuditStore for writer tests: can fail, hang or count batches on demand. */
import {
  GENESIS_HASH,
  StoreUnavailableError,
  type AuditCheckpointRow,
  type AuditDraft,
  type AuditFilter,
  type AuditHead,
  type AuditLinker,
  type AuditRow,
  type AuditStore,
  type NewAuditCheckpoint,
} from '../../store/store.js';

export class FakeAuditStore implements AuditStore {
  rows: AuditRow[] = [];
  cps: AuditCheckpointRow[] = [];
  batchSizes: number[] = [];
  /** the next n appendBatch calls fail with ZT_STORE_UNAVAILABLE */
  failures = 0;
  /** while set, appendBatch waits for it */
  gate: Promise<void> | null = null;
  private headState: AuditHead = { seq: 0, hash: GENESIS_HASH };

  async appendBatch(
    drafts: readonly AuditDraft[],
    link: AuditLinker,
  ): Promise<readonly AuditRow[]> {
    if (this.gate) await this.gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new StoreUnavailableError('fake outage');
    }
    const rows = link(this.headState, drafts);
    this.rows.push(...rows);
    const last = rows[rows.length - 1];
    if (last) this.headState = { seq: last.seq, hash: last.hash };
    this.batchSizes.push(rows.length);
    return rows;
  }

  head(): Promise<AuditHead> {
    return Promise.resolve(this.headState);
  }

  range(fromSeq: number, limit: number): Promise<readonly AuditRow[]> {
    return Promise.resolve(this.rows.filter((r) => r.seq >= fromSeq).slice(0, limit));
  }

  query(filter: AuditFilter): Promise<readonly AuditRow[]> {
    return Promise.resolve(
      this.rows
        .filter((r) => filter.afterSeq === undefined || r.seq > filter.afterSeq)
        .slice(0, filter.limit ?? 100),
    );
  }

  bounds(): Promise<{ first: number; last: number } | null> {
    const first = this.rows[0];
    const last = this.rows[this.rows.length - 1];
    return Promise.resolve(first && last ? { first: first.seq, last: last.seq } : null);
  }

  addCheckpoint(c: NewAuditCheckpoint): Promise<AuditCheckpointRow> {
    const row = { ...c, id: this.cps.length + 1 };
    this.cps.push(row);
    return Promise.resolve(row);
  }

  checkpoints(): Promise<readonly AuditCheckpointRow[]> {
    return Promise.resolve(this.cps);
  }

  lastSeqBefore(): Promise<number> {
    return Promise.resolve(0);
  }

  prune(): Promise<number> {
    return Promise.resolve(0);
  }
}

/** A promise and the function that resolves it. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
