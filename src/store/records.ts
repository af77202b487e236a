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
  type EnrollmentCodeRecord,
  type GroupRecord,
  type JsonObject,
  type PostureHistoryRecord,
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

/** A list of strings kept in its order (as JSON), each a non-empty string. */
export function stringList(field: string, value: unknown): string {
  if (!Array.isArray(value)) invalid(`\`${field}\` must be a list of strings`);
  const list = (value as unknown[]).map((v) => key(field, v));
  if (list.length > 1000) invalid(`\`${field}\` holds at most 1000 strings`);
  return JSON.stringify(list);
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

/** A SHA-256 fingerprint: hex, any case, colons allowed; stored lower-case without separators. */
export function fingerprint(value: unknown): string {
  const f = text('fingerprint', value, 128).toLowerCase().replace(/:/g, '');
  if (!/^[0-9a-f]{64}$/.test(f)) invalid('a certificate fingerprint must be 64 hexadecimal digits');
  return f;
}

/** The lookup form of a fingerprint; never throws (a malformed one simply matches nothing). */
export function fingerprintKey(value: string): string {
  return value.toLowerCase().replace(/:/g, '');
}

export const MAX_DER_BYTES = 64 * 1024;

export function optionalDer(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (!(value instanceof Uint8Array)) invalid('`der` must be bytes');
  if (value.length === 0 || value.length > MAX_DER_BYTES)
    invalid('`der` must hold 1 byte to 64 KiB');
  return Buffer.from(value);
}

/** Certificate names in their order, without duplicates; null when unknown. */
export function optionalNameList(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) invalid('`names` must be a list of strings');
  const out: string[] = [];
  for (const v of value as unknown[]) {
    const n = text('names', v, 1024);
    if (!out.includes(n)) out.push(n);
  }
  if (out.length > 1000) invalid('`names` holds at most 1000 names');
  return JSON.stringify(out);
}

/** A positive safe integer (versions, counts to keep). */
export function positive(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    invalid(`\`${field}\` must be a positive integer`);
  }
  return value;
}

export function optionalInteger(field: string, value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    invalid(`\`${field}\` must be an integer`);
  }
  return value;
}

export function optionalJsonObject(field: string, value: unknown): string | null {
  return value === null || value === undefined ? null : jsonObject(field, value);
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

// cursors: opaque to callers, the last key of the previous page
export { decodeCursor, encodeCursor } from './store.js';

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
    certificateFingerprint: strOrNull(r.certificate_fingerprint),
    previousCertificateSerial: strOrNull(r.previous_certificate_serial),
    state: str(r.state) as DeviceState,
    posture: json(r.posture_json) as JsonObject,
    updatedAt: num(r.updated_at),
    version: num(r.version),
  };
}

export function postureHistoryFromRow(r: Row): PostureHistoryRecord {
  return {
    deviceId: str(r.device_id),
    at: num(r.at),
    source: str(r.source),
    seq: numOrNull(r.seq),
    attributes: json(r.attributes_json) as JsonObject,
    unavailable: r.unavailable_json === null ? null : (json(r.unavailable_json) as JsonObject),
    tier: strOrNull(r.tier),
    changes: json(r.changes_json) as string[],
  };
}

export function enrollmentCodeFromRow(r: Row): EnrollmentCodeRecord {
  return {
    codeHash: str(r.code_hash),
    userId: str(r.user_id),
    email: strOrNull(r.email),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    usedAt: numOrNull(r.used_at),
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
    der: r.der === null || r.der === undefined ? null : Buffer.from(r.der as Uint8Array),
    names:
      r.names_json === null || r.names_json === undefined ? null : (json(r.names_json) as string[]),
    issuerSerial: strOrNull(r.issuer_serial),
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
