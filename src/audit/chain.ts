/**
 * The hash chain. Record `n` stores `prev_hash` (record `n-1`'s hash, or 64 zeros for the first)
 * and `hash = SHA-256(prev_hash || body)`: the lower-case hex text of the previous hash followed by
 * the record's canonical JSON, both as UTF-8, digested to lower-case hex. With a shell:
 *
 *     printf '%s%s' "$prev_hash" "$body" | sha256sum
 *
 * `body` includes the record's own `seq`, so a record moved to another place no longer matches.
 */
import { createHash } from 'node:crypto';
import type { AuditDraft, AuditHead, AuditLinker, AuditRow } from '../store/store.js';
import { bodyAt, type PreparedRecord } from './record.js';

export function chainHash(prevHash: string, body: string): string {
  return createHash('sha256').update(prevHash, 'utf8').update(body, 'utf8').digest('hex');
}

/** A draft carrying its prepared record, so the linker can build the body once `seq` is known. */
export interface PreparedDraft extends AuditDraft {
  readonly prepared: PreparedRecord;
}

export function toDraft(prepared: PreparedRecord): PreparedDraft {
  return {
    id: prepared.id,
    time: prepared.time,
    kind: prepared.kind,
    userId: prepared.userId,
    deviceId: prepared.deviceId,
    route: prepared.route,
    decision: prepared.decision,
    body: '',
    prepared,
  };
}

/** The linker the writer hands to `AuditStore.appendBatch`: numbers, serializes and chains. */
export const linkPrepared: AuditLinker = (
  head: AuditHead,
  drafts: readonly AuditDraft[],
): AuditRow[] => {
  const rows: AuditRow[] = new Array<AuditRow>(drafts.length);
  let seq = head.seq;
  let prevHash = head.hash;
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i] as PreparedDraft;
    seq += 1;
    const body = bodyAt(d.prepared, seq);
    const hash = chainHash(prevHash, body);
    rows[i] = {
      seq,
      id: d.id,
      time: d.time,
      kind: d.kind,
      userId: d.userId,
      deviceId: d.deviceId,
      route: d.route,
      decision: d.decision,
      body,
      prevHash,
      hash,
    };
    prevHash = hash;
  }
  return rows;
};
