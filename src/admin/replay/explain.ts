/**
 * "Why was this request decided so?": finds an access record by its request id and explains it in
 * the closed reason vocabulary, with a replay under the routes and policies in force now.
 *
 * The store indexes records by user, device, route, decision and time but not by request id, so
 * the lookup scans the newest access records (of one user, for the portal) up to a bound, and says
 * when it gave up. Request ids are random UUIDs: they carry no time to narrow the scan with.
 */
import type { AuditRecord } from '../../audit/record.js';
import { queryAudit } from '../../audit/query.js';
import type { Route } from '../../config/schema.js';
import { reasonCodes, type ReasonCode } from '../../pdp/decision.js';
import type { PolicyEngine } from '../../pdp/index.js';
import type { AuditStore } from '../../store/store.js';
import { FactCache, replayInput, type Approximation } from './facts.js';
import { decideWith, type ReplayedDecision } from './simulate.js';

const PAGE = 5000;

export interface Found {
  readonly record: AuditRecord | undefined;
  readonly scanned: number;
  /** the bound was reached before the record was found */
  readonly exhausted: boolean;
}

export async function findAccessRecord(
  audit: AuditStore,
  requestId: string,
  options: { readonly userId?: string; readonly maxScan: number },
): Promise<Found> {
  let scanned = 0;
  let cursor: string | undefined;
  while (scanned < options.maxScan) {
    const page = await queryAudit(audit, {
      kind: 'access',
      order: 'desc',
      limit: Math.min(PAGE, options.maxScan - scanned),
      ...(options.userId !== undefined ? { user: options.userId } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    scanned += page.records.length;
    const record = page.records.find((r) => r.request_id === requestId);
    if (record) return { record, scanned, exhausted: false };
    if (page.nextCursor === null) return { record: undefined, scanned, exhausted: false };
    cursor = page.nextCursor;
  }
  return { record: undefined, scanned, exhausted: true };
}

/** A recorded reason code in words a user can read (the record keeps codes only). */
export function reasonText(code: string): string {
  return Object.hasOwn(reasonCodes, code)
    ? reasonCodes[code as ReasonCode]
    : 'a reason this version of ztgate does not know';
}

export interface Explanation {
  readonly request_id: string;
  readonly time: string;
  readonly route: string | null;
  readonly method: string | null;
  readonly path: string | null;
  readonly source_ip: string | null;
  readonly user_id: string | null;
  readonly email: string | null;
  readonly device_id: string | null;
  readonly decision: string | null;
  readonly mode: string | null;
  readonly policy: string | null;
  readonly rule: string | null;
  readonly reasons: readonly { readonly code: string; readonly message: string }[];
  /** the same request decided by the routes and policies in force now, with rebuilt facts */
  readonly now: (ReplayedDecision & { readonly approximations: readonly Approximation[] }) | null;
}

export async function explain(
  record: AuditRecord,
  engine: PolicyEngine<Route>,
  facts: FactCache,
): Promise<Explanation> {
  const rebuilt = await replayInput(record, facts);
  const now = rebuilt
    ? {
        ...decideWith(engine, rebuilt.host, rebuilt.path, rebuilt.input),
        approximations: rebuilt.approximations,
      }
    : null;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    request_id: record.request_id ?? '',
    time: record.time,
    route: str(record.route),
    method: str(record.method),
    path: str(record.path),
    source_ip: str(record.source_ip),
    user_id: str(record.actor?.user),
    email: str(record.actor?.email),
    device_id: str(record.actor?.device),
    decision: str(record.decision),
    mode: str(record.mode),
    policy: str(record.policy),
    rule: str(record.rule),
    reasons: (record.reasons ?? []).map((r) => ({ code: r.code, message: reasonText(r.code) })),
    now,
  };
}

export { FactCache };
