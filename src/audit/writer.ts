/**
 * The audit writer: group commit with a bounded backlog.
 *
 * `append(event)` validates and serializes the event, puts it in an in-memory queue and returns at
 * once; the request never waits on disk. A batch is written, in one transaction, `batchWindowMs`
 * (default 100 ms) after its oldest record was appended, or as soon as `maxBatch` records are
 * waiting. So after a crash (kill -9) at most the records of the last window are missing, and the
 * database is intact: a batch is either committed whole or not at all.
 *
 * When the backlog (queued plus in flight) reaches `backlogLimit`, the writer is `overloaded`:
 * - `fail_closed` (default): `append` throws `ZT_AUDIT_BACKLOG_FULL` and the caller denies the
 *   request with 503; nothing that happens goes unrecorded;
 * - `drop_oldest`: the oldest queued records are discarded (counted, warned about with
 *   `ZT_AUDIT_RECORDS_DROPPED`) to make room.
 * A batch that fails to write (store down) stays queued and is retried with backoff; the writer
 * recovers by itself when the store returns.
 *
 * `drain()` writes everything queued (SIGTERM); `close()` drains and refuses further appends.
 * Periodic signed checkpoints are written after commits when a signing key is given.
 */
import { performance } from 'node:perf_hooks';
import { ZtError, type ErrorCode } from '../shared/errors.js';
import type { AuditStore } from '../store/store.js';
import { prepareRecord, type AuditEvent, type PreparedRecord } from './record.js';
import { signCheckpoint, type AuditSigningKey } from './signing-key.js';
import { inlineTarget, type AppendSummary, type AuditBatchTarget } from './target.js';

export type BacklogPolicy = 'fail_closed' | 'drop_oldest';

export type Warn = (code: ErrorCode, message: string) => void;

export interface AuditWriterOptions {
  /** how long a record may wait before its batch is written; default 100 ms */
  readonly batchWindowMs?: number;
  /** a batch is written as soon as this many records wait; default 5000 */
  readonly maxBatch?: number;
  /** unwritten records (queued + in flight) at which the writer is overloaded; default 100000 */
  readonly backlogLimit?: number;
  /** default `fail_closed` */
  readonly onBacklogFull?: BacklogPolicy;
  /** signs periodic checkpoints; none are written without it */
  readonly signingKey?: AuditSigningKey;
  /** write a checkpoint after this many records; default 10000 */
  readonly checkpointEveryRecords?: number;
  /** or after this much time with new records; default 60000 ms */
  readonly checkpointEveryMs?: number;
  /** longest wait between retries of a failed batch; default 5000 ms */
  readonly maxRetryDelayMs?: number;
  readonly now?: () => number;
  readonly onWarning?: Warn;
}

export interface CommitInfo extends AppendSummary {
  /** records committed by this writer so far */
  readonly committed: number;
}

export interface AuditWriterStats {
  readonly appended: number;
  readonly committed: number;
  readonly dropped: number;
  readonly backlog: number;
  readonly overloaded: boolean;
  readonly batches: number;
  readonly failedBatches: number;
  readonly lastError: string | null;
}

interface Queued {
  readonly record: PreparedRecord;
  /** performance.now() at append */
  readonly at: number;
}

export class AuditBacklogFullError extends ZtError {
  static readonly code = 'ZT_AUDIT_BACKLOG_FULL' as const;
  constructor(backlog: number) {
    super(
      AuditBacklogFullError.code,
      `the audit backlog is full (${backlog} records not yet written)`,
      {
        help: 'the store is slow or unreachable; requests are refused until the audit log catches up',
      },
    );
    this.name = 'AuditBacklogFullError';
  }
}

export class AuditWriter {
  private readonly target: AuditBatchTarget;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  private readonly backlogLimit: number;
  private readonly policy: BacklogPolicy;
  private readonly signingKey: AuditSigningKey | undefined;
  private readonly checkpointEveryRecords: number;
  private readonly checkpointEveryMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly now: () => number;
  private readonly warn: Warn;

  private queue: Queued[] = [];
  private queueStart = 0;
  private inFlight = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private retryDelay = 0;
  /** performance.now() before which a failed batch is not retried */
  private nextAttemptAt = 0;
  private closed = false;
  private readonly listeners = new Set<(info: CommitInfo) => void>();

  private appended = 0;
  private committed = 0;
  private dropped = 0;
  private droppedUnreported = 0;
  private batches = 0;
  private failedBatches = 0;
  private lastError: string | null = null;
  private sinceCheckpoint = 0;
  private lastCheckpointAt: number;
  private last: AppendSummary | null = null;

  /**
   * `target`: an `AuditStore` (written on this thread; the caller closes the store) or an
   * `AuditBatchTarget` such as `WorkerAuditTarget` (closed by `close()`).
   */
  constructor(target: AuditStore | AuditBatchTarget, options: AuditWriterOptions = {}) {
    this.target = 'appendPrepared' in target ? target : inlineTarget(target);
    this.windowMs = options.batchWindowMs ?? 100;
    this.maxBatch = options.maxBatch ?? 5000;
    this.backlogLimit = options.backlogLimit ?? 100_000;
    this.policy = options.onBacklogFull ?? 'fail_closed';
    this.signingKey = options.signingKey;
    this.checkpointEveryRecords = options.checkpointEveryRecords ?? 10_000;
    this.checkpointEveryMs = options.checkpointEveryMs ?? 60_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.warn = options.onWarning ?? (() => undefined);
    this.lastCheckpointAt = this.now();
    if (!(this.windowMs >= 0) || !(this.maxBatch >= 1) || !(this.backlogLimit >= 1)) {
      throw new RangeError('audit writer: batchWindowMs >= 0, maxBatch >= 1 and backlogLimit >= 1');
    }
  }

  /** Records waiting to be written, including the batch being written. */
  get backlog(): number {
    return this.queue.length - this.queueStart + this.inFlight;
  }

  /** True while the backlog is at its limit: new requests should be refused (fail closed). */
  get overloaded(): boolean {
    return this.backlog >= this.backlogLimit;
  }

  /**
   * Queues a record and returns at once with its id. Throws `ZT_AUDIT_BACKLOG_FULL` when
   * overloaded under `fail_closed`, `ZT_AUDIT_RECORD_INVALID` for a malformed event and
   * `ZT_AUDIT_WRITER_CLOSED` after `close()`.
   */
  append(event: AuditEvent): string {
    if (this.closed) throw new ZtError('ZT_AUDIT_WRITER_CLOSED', 'the audit writer is closed');
    if (this.backlog >= this.backlogLimit) {
      if (this.policy === 'fail_closed' || this.queue.length - this.queueStart === 0) {
        throw new AuditBacklogFullError(this.backlog);
      }
      this.queueStart += 1;
      this.dropped += 1;
      this.droppedUnreported += 1;
    }
    const record = prepareRecord(event, this.now());
    this.queue.push({ record, at: performance.now() });
    this.appended += 1;
    this.schedule();
    return record.id;
  }

  /** Called after each committed batch (sinks use it to wake up; tests to count). */
  onCommit(listener: (info: CommitInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): AuditWriterStats {
    return {
      appended: this.appended,
      committed: this.committed,
      dropped: this.dropped,
      backlog: this.backlog,
      overloaded: this.overloaded,
      batches: this.batches,
      failedBatches: this.failedBatches,
      lastError: this.lastError,
    };
  }

  /**
   * Writes every queued record. Retries a failing store until `timeoutMs` (default: forever) and
   * then throws `ZT_STORE_UNAVAILABLE`'s error; writes a `shutdown` checkpoint when done.
   */
  async drain(options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    this.clearTimer();
    for (;;) {
      if (this.flushing) await this.flushing;
      if (this.backlog === 0) break;
      if (Date.now() >= deadline) {
        throw new ZtError(
          'ZT_AUDIT_WRITE_FAILED',
          `could not write ${this.backlog} audit records before the deadline: ${this.lastError ?? 'unknown error'}`,
        );
      }
      this.clearTimer();
      const before = this.failedBatches;
      await this.flush();
      if (this.failedBatches > before) {
        const wait = Math.min(this.retryDelay, Math.max(0, deadline - Date.now()));
        this.clearTimer();
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    this.clearTimer();
    await this.checkpoint('shutdown', true);
  }

  /** Drains, then refuses further appends and closes the target. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    try {
      await this.drain(options);
    } finally {
      this.closed = true;
      this.clearTimer();
      await this.target.close();
    }
  }

  // -------------------------------------------------------------------------------------------

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }

  /** Arms the flush timer for the oldest waiting record (or at once for a full batch). */
  private schedule(): void {
    if (this.flushing || this.closed) return;
    const waiting = this.queue.length - this.queueStart;
    if (waiting === 0) return;
    const oldest = this.queue[this.queueStart];
    const now = performance.now();
    const ready = waiting >= this.maxBatch ? now : (oldest?.at ?? now) + this.windowMs;
    const dueAt = Math.max(ready, this.nextAttemptAt);
    const due = Math.max(0, dueAt - now);
    if (this.timer && this.timerDue <= dueAt + 1) return;
    this.clearTimer();
    this.timerDue = dueAt;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDue = Infinity;
      void this.flush();
    }, due);
  }

  private takeBatch(): Queued[] {
    const end = Math.min(this.queue.length, this.queueStart + this.maxBatch);
    const batch = this.queue.slice(this.queueStart, end);
    this.queueStart = end;
    if (this.queueStart > 4096 && this.queueStart * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueStart);
      this.queueStart = 0;
    }
    return batch;
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.queue.length - this.queueStart === 0) return Promise.resolve();
    this.flushing = this.writeBatch().finally(() => {
      this.flushing = null;
      this.schedule();
    });
    return this.flushing;
  }

  private async writeBatch(): Promise<void> {
    if (this.droppedUnreported > 0) {
      this.warn(
        'ZT_AUDIT_RECORDS_DROPPED',
        `the audit backlog was full: ${this.droppedUnreported} oldest records were dropped (drop_oldest)`,
      );
      this.droppedUnreported = 0;
    }
    const batch = this.takeBatch();
    this.inFlight = batch.length;
    let summary: AppendSummary;
    try {
      summary = await this.target.appendPrepared(batch.map((q) => q.record));
    } catch (err) {
      // Keep the batch, in order, at the front of the queue; retry with backoff.
      this.queue = batch.concat(this.queue.slice(this.queueStart));
      this.queueStart = 0;
      this.inFlight = 0;
      this.failedBatches += 1;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.retryDelay = Math.min(
        this.maxRetryDelayMs,
        Math.max(this.windowMs, 50, this.retryDelay * 2),
      );
      this.nextAttemptAt = performance.now() + this.retryDelay;
      this.warn(
        'ZT_AUDIT_WRITE_FAILED',
        `writing ${batch.length} audit records failed, will retry: ${this.lastError}`,
      );
      return;
    }
    this.inFlight = 0;
    this.retryDelay = 0;
    this.nextAttemptAt = 0;
    this.lastError = null;
    this.batches += 1;
    this.committed += summary.count;
    this.sinceCheckpoint += summary.count;
    if (summary.count > 0) this.last = summary;
    const info: CommitInfo = { ...summary, committed: this.committed };
    for (const l of this.listeners) {
      try {
        l(info);
      } catch {
        // a listener's failure is not the writer's
      }
    }
    await this.checkpoint('periodic', false);
  }

  private async checkpoint(kind: 'periodic' | 'shutdown', force: boolean): Promise<void> {
    const key = this.signingKey;
    const last = this.last;
    if (!key || !last || this.sinceCheckpoint === 0) return;
    const now = this.now();
    if (
      !force &&
      this.sinceCheckpoint < this.checkpointEveryRecords &&
      now - this.lastCheckpointAt < this.checkpointEveryMs
    ) {
      return;
    }
    try {
      await this.target.addCheckpoint(
        signCheckpoint(key, { seq: last.lastSeq, hash: last.lastHash, time: now, kind }),
      );
      this.sinceCheckpoint = 0;
      this.lastCheckpointAt = now;
    } catch (err) {
      this.warn(
        'ZT_AUDIT_WRITE_FAILED',
        `writing an audit checkpoint failed, will retry: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
