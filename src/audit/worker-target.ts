/**
 * Runs the audit writer's database work (chaining, hashing, the write transaction) in a worker
 * thread with its own store connection: a batch of thousands of records is written without
 * blocking the event loop that serves requests, and on a machine with more than one core the
 * writing runs in parallel with request handling. The worker is restarted if it dies.
 */
import { Worker } from 'node:worker_threads';
import { ZtError, type ErrorCode } from '../shared/errors.js';
import type { StoreOptions } from '../store/open.js';
import type { AuditCheckpointRow, NewAuditCheckpoint } from '../store/store.js';
import { errorCatalog } from '../shared/error-catalog.js';
import type { PreparedRecord } from './record.js';
import type { AppendSummary, AuditBatchTarget } from './target.js';

export type WorkerRequest =
  | { readonly id: number; readonly op: 'append'; readonly records: readonly PreparedRecord[] }
  | { readonly id: number; readonly op: 'checkpoint'; readonly checkpoint: NewAuditCheckpoint }
  | { readonly id: number; readonly op: 'close' };

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly code: string | undefined;
      readonly message: string;
    };

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

type Request = WorkerRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, 'id'>
    : never
  : never;

function startWorker(options: StoreOptions): Worker {
  const { now: _now, ...cloneable } = options; // functions cannot cross threads
  const workerData = { options: cloneable };
  if (import.meta.url.endsWith('.ts')) {
    // running from sources (tests, benchmarks): load TypeScript in the worker through tsx
    const entry = new URL('./audit-worker.ts', import.meta.url).href;
    const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    return new Worker(code, { eval: true, workerData });
  }
  return new Worker(new URL('./audit-worker.js', import.meta.url), { workerData });
}

export class WorkerAuditTarget implements AuditBatchTarget {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(private readonly options: StoreOptions) {}

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker(this.options);
    w.on('message', (r: WorkerReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else {
        const code =
          r.code !== undefined && r.code in errorCatalog
            ? (r.code as ErrorCode)
            : 'ZT_AUDIT_WRITE_FAILED';
        p.reject(new ZtError(code, r.message));
      }
    });
    const died = (err: Error): void => {
      if (this.worker !== w) return;
      this.worker = null;
      for (const p of this.pending.values())
        p.reject(new ZtError('ZT_AUDIT_WRITE_FAILED', `the audit worker stopped: ${err.message}`));
      this.pending.clear();
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`exit code ${code}`)));
    this.worker = w;
    return w;
  }

  private call<T>(req: Request): Promise<T> {
    if (this.closed)
      return Promise.reject(new ZtError('ZT_AUDIT_WRITER_CLOSED', 'the audit worker is closed'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (v) => resolve(v as T), reject });
      worker.postMessage({ ...req, id });
    });
  }

  appendPrepared(records: readonly PreparedRecord[]): Promise<AppendSummary> {
    return this.call({ op: 'append', records });
  }

  addCheckpoint(checkpoint: NewAuditCheckpoint): Promise<AuditCheckpointRow> {
    return this.call({ op: 'checkpoint', checkpoint });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const w = this.worker;
    if (w) {
      await this.call({ op: 'close' }).catch(() => undefined);
      this.worker = null;
      await w.terminate();
    }
    this.closed = true;
  }
}
