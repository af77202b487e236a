/**
 * Retention by age. Deleting the oldest records must not break verification, so before it deletes
 * records `first..n` it verifies the log, signs an `anchor` checkpoint for record `n` (its hash)
 * and stores it in the same transaction as the deletion. `verify` then starts the chain at record
 * `n + 1` from the anchor's hash: a log whose start was cut without a signed anchor is reported
 * (`anchor_missing`). Records are deleted only as a prefix: a record is kept, with everything
 * after it, as soon as one record at or after it is younger than the cut-off.
 */
import type { KeyObject } from 'node:crypto';
import { ZtError } from '../shared/errors.js';
import type { AuditStore } from '../store/store.js';
import { signCheckpoint, type AuditSigningKey } from './signing-key.js';
import { verifyAuditLog } from './verify.js';

export interface RetentionOptions {
  /** records older than this are deleted */
  readonly maxAgeMs: number;
  readonly signingKey: AuditSigningKey;
  /** keys whose checkpoints verify (default: the signing key's) */
  readonly publicKeys?: readonly KeyObject[];
  readonly now?: () => number;
}

export interface RetentionResult {
  readonly deleted: number;
  /** the record the anchor vouches for (the last deleted one), 0 when nothing was deleted */
  readonly anchorSeq: number;
}

export async function applyRetention(
  store: AuditStore,
  options: RetentionOptions,
): Promise<RetentionResult> {
  const now = (options.now ?? Date.now)();
  const cutoff = now - options.maxAgeMs;
  const bounds = await store.bounds();
  if (!bounds) return { deleted: 0, anchorSeq: 0 };
  const n = Math.min(await store.lastSeqBefore(cutoff), bounds.last);
  if (n < bounds.first) return { deleted: 0, anchorSeq: 0 };
  const check = await verifyAuditLog(store, {
    publicKeys: options.publicKeys ?? [options.signingKey.publicKey],
  });
  const blocking = check.problems.filter((p) => p.seq <= n + 1);
  if (blocking.length > 0) {
    throw new ZtError(
      'ZT_AUDIT_CHAIN_BROKEN',
      `retention refuses to delete records the chain cannot vouch for: ${blocking[0]?.message ?? ''}`,
      { help: 'run `ztgate audit verify` and investigate before deleting anything' },
    );
  }
  const [row] = await store.range(n, 1);
  if (!row || row.seq !== n)
    throw new ZtError('ZT_AUDIT_CHAIN_BROKEN', `record ${n} vanished during retention`);
  const anchor = signCheckpoint(options.signingKey, {
    seq: n,
    hash: row.hash,
    time: now,
    kind: 'anchor',
  });
  const deleted = await store.prune(anchor);
  return { deleted, anchorSeq: n };
}
