/**
 * Input validation and row mapping shared by both backends, so that SQLite and PostgreSQL accept
 * and return exactly the same records (the contract suite checks this).
 */
import { createHash } from 'node:crypto';
import {
  StoreInvalidRecordError,
  type AuditCheckpointRow,
  type AuditRow,
  type CertificateKind,
  type CertificateRecord,
  type ConfigVersionRecord,
  type DeviceRecord,
  type DeviceState,
  type GroupRecord,
  type JsonObject,
  type SessionRecord,
  type UserRecord,
} from './store.js';

const MAX_KEY = 512;
const MAX_TEXT = 4096;
export const MAX_JSON_BYTES = 64 * 1024;
export const MAX_CONTENT_BYTES = 8 * 1024 * 1024;

export const DEVICE_STATES: ReadonlySet<DeviceState> = new Set(['pending', 'active', 'revoked']);
export const CERTIFICATE_KINDS: ReadonlySet<CertificateKind> = new Set([
  'ca',
  'server',
  'device',
  'workload',
  'client',
]);

function invalid(message: string): never {
  throw new StoreInvalidRecordError(message);
}

/** A non-empty string without NUL characters (PostgreSQL refuses them in text), bounded. */
export function text(field: string, value: unknown, max = MAX_TEXT, allowEmpty = false): string {
  if (typeof value !== 'string') invalid(`\`${field}\` must be a string`);
  if (!allowEmpty && value.length === 0) invalid(`\`${field}\` must not be empty`);
  if (value.length > max) invalid(`\`${field}\` is longer than ${max} characters`);
  if (value.includes('\0')) invalid(`\`${field}\` contains a NUL character`);
  return value;
}

export function key(field: string, value: unknown): string {
  return text(field, value, MAX_KEY);
}

export function optionalText(field: string, value: unknown): string | null {
  return value === null || value === undefined ? null : text(field, value);
}

/** A time in ms since the epoch: a non-negative safe integer. */
export function time(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    invalid(`\`${field}\` must be a time in milliseconds since the epoch`);
  }
  return value;
}

export function optionalTime(field: string, value: unknown): number | null {
  return value === null || value === undefined ? null : time(field, value);
}

export function email(value: unknown): string {
  const e = text('email', value, 320).trim();
  const at = e.lastIndexOf('@');
  if (at < 1 || at === e.length - 1 || /\s/.test(e)) invalid(`\`${e}\` is not an email address`);
  return e;
}

/** Sorted, deduplicated, each a non-empty string. */
export function names(field: string, value: unknown): string[] {
  if (!Array.isArray(value)) invalid(`\`${field}\` must be a list of strings`);
  const out = new Set<string>();
  for (const v of value as unknown[]) out.add(key(field, v));
  return [...out].sort();
}

export function jsonObject(field: string, value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalid(`\`${field}\` must be a JSON object`);
  }
  let s: string;
  try {
    s = JSON.stringify(value);
  } catch {
    invalid(`\`${field}\` is not serializable as JSON`);
  }
  if (Buffer.byteLength(s, 'utf8') > MAX_JSON_BYTES) invalid(`\`${field}\` is larger than 64 KiB`);
  if (s.includes('\\u0000')) invalid(`\`${field}\` contains a NUL character`);
  return s;
}

export function deviceState(value: unknown): DeviceState {
  if (typeof value !== 'string' || !DEVICE_STATES.has(value as DeviceState)) {
    invalid(`device state must be one of ${[...DEVICE_STATES].join(', ')}`);
  }
  return value as DeviceState;
}

export function certificateKind(value: unknown): CertificateKind {
  if (typeof value !== 'string' || !CERTIFICATE_KINDS.has(value as CertificateKind)) {
    invalid(`certificate kind must be one of ${[...CERTIFICATE_KINDS].join(', ')}`);
  }
  return value as CertificateKind;
}

export function serial(value: unknown): string {
  const s = key('serial', value).toLowerCase();
  if (!/^[0-9a-f]+$/.test(s)) invalid(`certificate serial \`${s}\` must be hexadecimal`);
  return s;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

// cursors: opaque to callers, the last key of the previous page
export function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(cursor)) invalid('malformed cursor');
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// row mapping: SQLite gives numbers, 0/1 and JSON text; PostgreSQL gives BIGINT as strings,
// booleans and parsed JSONB. Both map to the same records.

type Row = Record<string, unknown>;

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Number(v);
  throw new TypeError(`expected a number, got ${typeof v}`);
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw new TypeError(`expected a string, got ${typeof v}`);
  return v;
}

function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : str(v);
}

function bool(v: unknown): boolean {
  return v === true || v === 1 || v === 1n;
}

function json(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}

export function userFromRow(r: Row): UserRecord {
  return {
    id: str(r.id),
    email: str(r.email),
    displayName: str(r.display_name),
    groups: json(r.groups_json) as string[],
    disabled: bool(r.disabled),
    passwordHash: strOrNull(r.password_hash),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function groupFromRow(r: Row): GroupRecord {
  return { name: str(r.name), description: str(r.description), createdAt: num(r.created_at) };
}

export function sessionFromRow(r: Row): SessionRecord {
  return {
    idHash: str(r.id_hash),
    userId: str(r.user_id),
    deviceId: strOrNull(r.device_id),
    createdAt: num(r.created_at),
    lastSeenAt: num(r.last_seen_at),
    expiresAt: num(r.expires_at),
    idleExpiresAt: num(r.idle_expires_at),
    mfaMethods: json(r.mfa_methods_json) as string[],
    mfaAt: numOrNull(r.mfa_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

export function deviceFromRow(r: Row): DeviceRecord {
  return {
    id: str(r.id),
    userId: str(r.user_id),
    hostname: str(r.hostname),
    os: str(r.os),
    enrolledAt: num(r.enrolled_at),
    lastReportAt: numOrNull(r.last_report_at),
    certificateSerial: strOrNull(r.certificate_serial),
    state: str(r.state) as DeviceState,
    posture: json(r.posture_json) as JsonObject,
    updatedAt: num(r.updated_at),
  };
}

export function certificateFromRow(r: Row): CertificateRecord {
  return {
    serial: str(r.serial),
    subject: str(r.subject),
    kind: str(r.kind) as CertificateKind,
    notBefore: num(r.not_before),
    notAfter: num(r.not_after),
    revokedAt: numOrNull(r.revoked_at),
    revocationReason: strOrNull(r.revocation_reason),
  };
}

export function configVersionFromRow(r: Row): ConfigVersionRecord {
  return {
    version: num(r.version),
    content: str(r.content),
    checksum: str(r.checksum),
    author: str(r.author),
    createdAt: num(r.created_at),
  };
}

export function auditFromRow(r: Row): AuditRow {
  return {
    seq: num(r.seq),
    id: str(r.id),
    time: num(r.time),
    kind: str(r.kind),
    userId: strOrNull(r.user_id),
    deviceId: strOrNull(r.device_id),
    route: strOrNull(r.route),
    decision: strOrNull(r.decision),
    body: str(r.body),
    prevHash: str(r.prev_hash),
    hash: str(r.hash),
  };
}

export function checkpointFromRow(r: Row): AuditCheckpointRow {
  return {
    id: num(r.id),
    seq: num(r.seq),
    hash: str(r.hash),
    time: num(r.time),
    kind: str(r.kind),
    keyId: str(r.key_id),
    signature: str(r.signature),
  };
}

/** Checks a linker's output before it is written: a bug there must not corrupt the chain. */
export function checkLinkedBatch(
  head: { seq: number; hash: string },
  drafts: readonly { id: string }[],
  rows: readonly AuditRow[],
): void {
  if (rows.length !== drafts.length)
    throw new Error('audit linker returned a different number of rows');
  let prev = head;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (
      !row ||
      row.seq !== prev.seq + 1 ||
      row.prevHash !== prev.hash ||
      row.id !== drafts[i]?.id
    ) {
      throw new Error('audit linker returned rows that do not continue the chain');
    }
    prev = row;
  }
}
