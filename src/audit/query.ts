/**
 * Reading the audit log: filtered queries with an opaque cursor, and `tail` (the last records, then
 * every new one as it is committed, by any process).
 */
import { ZtError } from '../shared/errors.js';
import type { AuditFilter, AuditRow, AuditStore } from '../store/store.js';
import { recordFromRow, type AuditRecord } from './record.js';

export interface AuditQuery {
  readonly user?: string;
  readonly device?: string;
  readonly route?: string;
  readonly decision?: string;
  readonly kind?: string;
  /** inclusive, ms since the epoch */
  readonly since?: number;
  /** exclusive, ms since the epoch */
  readonly until?: number;
  /** default 100, at most 10000 */
  readonly limit?: number;
  /** `nextCursor` of the previous page */
  readonly cursor?: string;
  /** default `desc` (newest first) */
  readonly order?: 'asc' | 'desc';
}

export interface AuditPage {
  readonly records: readonly AuditRecord[];
  readonly nextCursor: string | null;
}

export function queryError(message: string): ZtError {
  return new ZtError('ZT_AUDIT_QUERY_INVALID', message);
}

function decodeCursor(cursor: string): { order: 'asc' | 'desc'; seq: number } {
  const m = /^([ad])(\d{1,15})$/.exec(cursor);
  if (!m || m[1] === undefined || m[2] === undefined)
    throw queryError(`malformed cursor \`${cursor.slice(0, 40)}\``);
  return { order: m[1] === 'a' ? 'asc' : 'desc', seq: Number(m[2]) };
}

export function toFilter(q: AuditQuery): AuditFilter {
  if (q.since !== undefined && q.until !== undefined && q.since >= q.until) {
    throw queryError('the time range is empty: `since` must be before `until`');
  }
  let order = q.order ?? 'desc';
  let afterSeq: number | undefined;
  let beforeSeq: number | undefined;
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor);
    order = c.order;
    if (c.order === 'asc') afterSeq = c.seq;
    else beforeSeq = c.seq;
  }
  const limit = q.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
    throw queryError('`limit` must be between 1 and 10000');
  }
  const f: { -readonly [K in keyof AuditFilter]: AuditFilter[K] } = { order, limit };
  if (q.user !== undefined) f.userId = q.user;
  if (q.device !== undefined) f.deviceId = q.device;
  if (q.route !== undefined) f.route = q.route;
  if (q.decision !== undefined) f.decision = q.decision;
  if (q.kind !== undefined) f.kind = q.kind;
  if (q.since !== undefined) f.since = q.since;
  if (q.until !== undefined) f.until = q.until;
  if (afterSeq !== undefined) f.afterSeq = afterSeq;
  if (beforeSeq !== undefined) f.beforeSeq = beforeSeq;
  return f;
}

export async function queryAudit(store: AuditStore, q: AuditQuery = {}): Promise<AuditPage> {
  const filter = toFilter(q);
  const rows = await store.query(filter);
  const last = rows[rows.length - 1];
  const nextCursor =
    last !== undefined && rows.length === filter.limit
      ? `${filter.order === 'asc' ? 'a' : 'd'}${last.seq}`
      : null;
  return { records: rows.map(safeRecord), nextCursor };
}

/** A row as a record; a row whose body is not JSON (tampered) is shown as such, not thrown. */
export function safeRecord(row: AuditRow): AuditRecord {
  try {
    return recordFromRow(row);
  } catch {
    return {
      v: 0,
      id: row.id,
      seq: row.seq,
      kind: row.kind as AuditRecord['kind'],
      time: new Date(row.time).toISOString(),
      details: { unreadable: true },
      prev_hash: row.prevHash,
      hash: row.hash,
    };
  }
}

/** Every record matching the query, oldest first, page by page (exports). */
export async function* scanAudit(
  store: AuditStore,
  q: Omit<AuditQuery, 'cursor' | 'order' | 'limit'> = {},
  pageSize = 1000,
): AsyncGenerator<AuditRecord> {
  let cursor: string | undefined;
  for (;;) {
    const page = await queryAudit(store, {
      ...q,
      order: 'asc',
      limit: pageSize,
      ...(cursor ? { cursor } : {}),
    });
    for (const r of page.records) yield r;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

export interface TailOptions extends Omit<AuditQuery, 'cursor' | 'order' | 'limit'> {
  /** how many existing records to show first; default 10 */
  readonly last?: number;
  /** keep following new records (`tail -f`) until `signal` aborts */
  readonly follow?: boolean;
  /** how often to look for new records; default 250 ms */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/** The last records, oldest first; with `follow`, then every new one until the signal aborts. */
export async function* tailAudit(
  store: AuditStore,
  options: TailOptions = {},
): AsyncGenerator<AuditRecord> {
  const { last = 10, follow = false, pollMs = 250, signal, ...filters } = options;
  const head = await store.head();
  let afterSeq = head.seq;
  if (last > 0) {
    const page = await queryAudit(store, {
      ...filters,
      order: 'desc',
      limit: Math.min(last, 10_000),
      cursor: `d${head.seq + 1}`,
    });
    for (const r of [...page.records].reverse()) yield r;
  }
  while (follow && !signal?.aborted) {
    // The head is read first: every record up to it is committed (seq order is commit order), so
    // a page that is not full means nothing matching is left up to the head.
    const h = await store.head();
    const page = await queryAudit(store, {
      ...filters,
      order: 'asc',
      limit: 1000,
      cursor: `a${afterSeq}`,
    });
    for (const r of page.records) {
      afterSeq = r.seq;
      yield r;
    }
    if (page.nextCursor === null) {
      afterSeq = Math.max(afterSeq, h.seq);
      await sleep(pollMs, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
