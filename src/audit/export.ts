/**
 * Export formats.
 *
 * JSON Lines: one record per line, the canonical JSON of the record with its `prev_hash` and
 * `hash` (so an exported file can be re-verified on its own: drop `hash` and `prev_hash`, take the
 * canonical JSON of the rest and hash it after `prev_hash`).
 *
 * RFC 5424 syslog: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG` where
 * - PRI = facility * 8 + severity; facility 13 (log audit) by default; severity 6 (informational),
 *   5 (notice) for a deny/login/step-up decision, 4 (warning) for a failed outcome;
 * - TIMESTAMP is the record's time (UTC, milliseconds); MSGID is the record kind;
 * - SD is one element `[ztgate@32473 seq="…" hash="…" kind="…" decision="…" user="…" device="…"
 *   route="…" request_id="…" source_ip="…"]` (the present ones; 32473 is the documentation
 *   enterprise number of RFC 5612; values escape `"`, `\` and `]`);
 * - MSG is the JSON Lines form of the record, UTF-8, without a BOM.
 */
import { hostname as osHostname } from 'node:os';
import { canonicalJson } from './canonical.js';
import type { AuditRecord } from './record.js';

export function toJsonLine(record: AuditRecord): string {
  return `${canonicalJson(record)}\n`;
}

export interface SyslogFormat {
  /** 0..23; default 13 (log audit) */
  readonly facility?: number;
  readonly hostname?: string;
  readonly appName?: string;
  readonly procId?: string;
  /** the SD-ID; default `ztgate@32473` */
  readonly sdId?: string;
}

/** Printable US-ASCII without spaces, at most `max` characters, or `-` (RFC 5424 header fields). */
function headerField(value: string | undefined, max: number): string {
  if (!value) return '-';
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean.length > 0 ? clean : '-';
}

function sdValue(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

export function severityOf(record: AuditRecord): number {
  if (record.outcome === 'failure') return 4;
  if (record.decision === 'deny' || record.decision === 'login' || record.decision === 'step_up')
    return 5;
  return 6;
}

export function toSyslogMessage(record: AuditRecord, format: SyslogFormat = {}): string {
  const facility = format.facility ?? 13;
  const pri = facility * 8 + severityOf(record);
  const params: [string, string | number | undefined][] = [
    ['seq', record.seq],
    ['hash', record.hash],
    ['kind', record.kind],
    ['decision', record.decision],
    ['user', record.actor?.user],
    ['device', record.actor?.device],
    ['route', record.route],
    ['request_id', record.request_id],
    ['source_ip', record.source_ip],
  ];
  const sd = params
    .filter((p): p is [string, string | number] => p[1] !== undefined)
    .map(([k, v]) => `${k}="${sdValue(String(v))}"`)
    .join(' ');
  const header = [
    `<${pri}>1`,
    headerField(record.time, 64),
    headerField(format.hostname ?? osHostname(), 255),
    headerField(format.appName ?? 'ztgate', 48),
    headerField(format.procId ?? String(process.pid), 128),
    headerField(record.kind, 32),
  ].join(' ');
  return `${header} [${format.sdId ?? 'ztgate@32473'} ${sd}] ${canonicalJson(record)}`;
}

/** RFC 6587 / RFC 5425 octet-counting framing: `MSG-LEN SP SYSLOG-MSG`. */
export function octetCountingFrame(message: string): string {
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}
