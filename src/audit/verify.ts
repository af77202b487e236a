/**
 * Verification of the audit log: walks the chain in sequence order and checks, for every record,
 * that it is where it says it is, that it links to the record before it and that its content
 * matches its hash; then checks the signed checkpoints against the records and the tail.
 *
 * What each finding means (`problem.kind`, reported with the sequence number it concerns):
 * - `deleted`: sequence numbers are missing in the middle of the log;
 * - `reordered`: a record's content names another sequence number (records were swapped or moved,
 *   or one was inserted before it and the rest renumbered);
 * - `bad_link`: a record's `prev_hash` is not the previous record's hash (the previous record was
 *   modified and re-hashed, or a record was inserted or deleted between them);
 * - `modified`: a record's content does not match its hash, is not canonical JSON, or its indexed
 *   columns disagree with its content;
 * - `checkpoint_mismatch`: a record's hash differs from the one a signed checkpoint vouches for
 *   (everything up to it was rewritten consistently: only the signature catches that);
 * - `truncated`: the log ends before the last checkpoint (or the chain head) says it should;
 * - `anchor_missing`: the log starts after record 1 without a signed checkpoint for the record
 *   just before its first one (retention always writes such an anchor);
 * - `bad_signature` / `unknown_key`: a checkpoint's signature does not verify, or is by a key that
 *   was not given (such a checkpoint is not trusted for the checks above).
 */
import type { KeyObject } from 'node:crypto';
import type { AuditCheckpointRow, AuditRow, AuditStore } from '../store/store.js';
import { GENESIS_HASH } from '../store/store.js';
import { canonicalJson } from './canonical.js';
import { chainHash } from './chain.js';
import { indexValue } from './record.js';
import { checkpointSignatureValid, keyMap } from './signing-key.js';

export type VerifyProblemKind =
  | 'deleted'
  | 'reordered'
  | 'bad_link'
  | 'modified'
  | 'checkpoint_mismatch'
  | 'truncated'
  | 'anchor_missing'
  | 'bad_signature'
  | 'unknown_key';

export interface VerifyProblem {
  readonly kind: VerifyProblemKind;
  /** the record the problem is about (for a checkpoint: the record it vouches for) */
  readonly seq: number;
  readonly message: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** records checked */
  readonly records: number;
  readonly first: number | null;
  readonly last: number | null;
  /** checkpoints whose signature verified */
  readonly checkpoints: number;
  readonly lastCheckpoint: {
    readonly seq: number;
    readonly time: number;
    readonly kind: string;
  } | null;
  readonly problems: readonly VerifyProblem[];
}

export interface VerifyOptions {
  /** keys whose checkpoints are trusted (the signing key's public half, and other replicas') */
  readonly publicKeys: readonly KeyObject[];
  /** default 2000 */
  readonly pageSize?: number;
  /** stop after this many problems; default 100 */
  readonly maxProblems?: number;
}

const INDEXED = ['time', 'kind', 'userId', 'deviceId', 'route', 'decision'] as const;

export async function verifyAuditLog(
  store: AuditStore,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 2000;
  const maxProblems = options.maxProblems ?? 100;
  const problems: VerifyProblem[] = [];
  const report = (kind: VerifyProblemKind, seq: number, message: string): void => {
    if (problems.length < maxProblems) problems.push({ kind, seq, message });
  };

  // 1. checkpoints: only correctly signed ones are trusted
  const keys = keyMap(options.publicKeys);
  const trusted = new Map<number, AuditCheckpointRow>();
  let lastTrusted: AuditCheckpointRow | null = null;
  for (const cp of await store.checkpoints()) {
    const status = checkpointSignatureValid(keys, cp);
    if (status === 'unknown-key') {
      report(
        'unknown_key',
        cp.seq,
        `checkpoint #${cp.id} (record ${cp.seq}) is signed by key \`${cp.keyId}\`, which was not given`,
      );
      continue;
    }
    if (status === 'invalid') {
      report(
        'bad_signature',
        cp.seq,
        `checkpoint #${cp.id} (record ${cp.seq}): its signature does not verify (forged or modified)`,
      );
      continue;
    }
    const same = trusted.get(cp.seq);
    if (same && same.hash !== cp.hash) {
      report(
        'checkpoint_mismatch',
        cp.seq,
        `checkpoints #${same.id} and #${cp.id} vouch for different hashes of record ${cp.seq}`,
      );
    }
    trusted.set(cp.seq, cp);
    if (!lastTrusted || cp.seq >= lastTrusted.seq) lastTrusted = cp;
  }

  // 2. the start of the log: record 1, or an anchor checkpoint for the record before the first
  const bounds = await store.bounds();
  const head = await store.head();
  let prevHash = GENESIS_HASH;
  let expected = 1;
  if (bounds && bounds.first > 1) {
    const anchor = trusted.get(bounds.first - 1);
    if (anchor) {
      prevHash = anchor.hash;
    } else {
      report(
        'anchor_missing',
        bounds.first - 1,
        `records 1..${bounds.first - 1} are missing and no signed checkpoint anchors record ${bounds.first - 1} (deleted)`,
      );
      prevHash = '';
    }
    expected = bounds.first;
  } else if (!bounds && head.seq > 0) {
    // everything was pruned: the head must be anchored
    expected = head.seq + 1;
    if (!trusted.has(head.seq)) {
      report(
        'anchor_missing',
        head.seq,
        `records 1..${head.seq} are missing and no signed checkpoint anchors record ${head.seq} (deleted)`,
      );
    }
  }

  // 3. the walk
  let records = 0;
  let from = bounds?.first ?? 1;
  let last: number | null = null;
  while (bounds && problems.length < maxProblems) {
    const page = await store.range(from, pageSize);
    if (page.length === 0) break;
    for (const row of page) {
      checkRow(row, expected, prevHash, trusted, report);
      records += 1;
      prevHash = row.hash;
      expected = row.seq + 1;
      last = row.seq;
    }
    const tail = page[page.length - 1];
    if (!tail || page.length < pageSize) break;
    from = tail.seq + 1;
  }

  // 4. the end of the log
  const lastSeq = last ?? expected - 1;
  if (lastTrusted && lastTrusted.seq > lastSeq) {
    report(
      'truncated',
      lastSeq + 1,
      `records ${lastSeq + 1}..${lastTrusted.seq} are missing at the end of the log: signed checkpoint #${lastTrusted.id} ` +
        `(${new Date(lastTrusted.time).toISOString()}) vouches for ${lastTrusted.seq} records (truncated)`,
    );
  } else if (head.seq > lastSeq) {
    report(
      'truncated',
      lastSeq + 1,
      `records ${lastSeq + 1}..${head.seq} are missing at the end of the log: the chain head is at ${head.seq} (truncated)`,
    );
  }

  return {
    ok: problems.length === 0,
    records,
    first: bounds?.first ?? null,
    last,
    checkpoints: trusted.size,
    lastCheckpoint: lastTrusted
      ? { seq: lastTrusted.seq, time: lastTrusted.time, kind: lastTrusted.kind }
      : null,
    problems,
  };
}

function checkRow(
  row: AuditRow,
  expected: number,
  prevHash: string,
  trusted: ReadonlyMap<number, AuditCheckpointRow>,
  report: (kind: VerifyProblemKind, seq: number, message: string) => void,
): void {
  const n = row.seq;
  if (n > expected) {
    report(
      'deleted',
      expected,
      expected === n - 1
        ? `record ${expected} is missing (deleted)`
        : `records ${expected}..${n - 1} are missing (deleted)`,
    );
  }
  let body: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(row.body);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      body = parsed as Record<string, unknown>;
  } catch {
    body = null;
  }
  if (!body) {
    report('modified', n, `record ${n}: its content is not a JSON object (modified)`);
    return;
  }
  if (body.seq !== n) {
    report(
      'reordered',
      n,
      `record ${n}: its content says it is record ${String(body.seq)} (records were reordered, or one was inserted before it)`,
    );
    return;
  }
  if (n === expected && prevHash !== '' && row.prevHash !== prevHash) {
    report(
      'bad_link',
      n,
      `record ${n}: it does not link to record ${n - 1} (record ${n - 1} was modified and re-hashed, or a record was inserted or deleted between them)`,
    );
  }
  let canonical: string | null;
  try {
    canonical = canonicalJson(body);
  } catch {
    canonical = null;
  }
  if (canonical !== row.body) {
    report(
      'modified',
      n,
      `record ${n}: its content is not in canonical form (modified outside ztgate)`,
    );
  } else if (chainHash(row.prevHash, row.body) !== row.hash) {
    report('modified', n, `record ${n}: its content does not match its hash (modified)`);
  } else {
    const derived = indexedOf(body);
    const differs = INDEXED.find((k) => derived[k] !== row[k]);
    if (differs)
      report(
        'modified',
        n,
        `record ${n}: its indexed \`${differs}\` column differs from its content (modified)`,
      );
  }
  const cp = trusted.get(n);
  if (cp && cp.hash !== row.hash) {
    report(
      'checkpoint_mismatch',
      n,
      `record ${n}: its hash differs from the one signed in checkpoint #${cp.id} (records up to ${n} were rewritten)`,
    );
  }
}

function indexedOf(body: Record<string, unknown>): Record<(typeof INDEXED)[number], unknown> {
  const actor = (body.actor ?? {}) as Record<string, unknown>;
  return {
    time: typeof body.time === 'string' ? Date.parse(body.time) : null,
    kind: body.kind ?? null,
    userId: indexValue(actor.user),
    deviceId: indexValue(actor.device),
    route: indexValue(body.route),
    decision: indexValue(body.decision),
  };
}
