/**
 * The audit record schema. Field names are snake_case: the record is a wire format (exports, SIEMs,
 * the hash chain), like the decision JSON of `policy eval`.
 *
 * A stored record is the canonical JSON (see canonical.ts) of every field below that is present,
 * plus `v` (schema version), `id`, `seq` and `time` (ISO 8601, UTC, milliseconds). Its `prev_hash`
 * and `hash` are kept beside it: `hash = SHA-256(prev_hash || body)` (see chain.ts).
 */
import { randomUUID } from 'node:crypto';
import { ZtError } from '../shared/errors.js';
import type { AuditRow, JsonObject, JsonValue } from '../store/store.js';
import { canonicalJson } from './canonical.js';

export const AUDIT_SCHEMA_VERSION = 1;

/** What happened: an access decision, an identity event, or a change to state or config. */
export const AUDIT_KINDS = [
  'access',
  'login',
  'logout',
  'mfa',
  'session',
  'device',
  'certificate',
  'admin',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];
const KINDS: ReadonlySet<string> = new Set(AUDIT_KINDS);

export type AuditDecision = 'allow' | 'deny' | 'login' | 'step_up';
export type AuditMode = 'enforce' | 'audit';

/** Who acted: a user (id), from which device, or a workload/service (SPIFFE id, token name). */
export interface AuditActor {
  readonly user?: string;
  readonly email?: string;
  readonly device?: string;
  readonly service?: string;
}

/** A decision reason as the PDP gives it (code from the closed reason vocabulary). */
export interface AuditReason {
  readonly code: string;
  readonly rule?: string;
  readonly criterion?: string;
  readonly message?: string;
}

/** What a component hands to `AuditWriter.append`. */
export interface AuditEvent {
  readonly kind: AuditKind;
  /** ms since the epoch; the writer's clock when absent */
  readonly time?: number;
  readonly request_id?: string;
  readonly actor?: AuditActor;
  readonly source_ip?: string;
  /** the route (its `from` host) an access decision was about */
  readonly route?: string;
  /** what a non-access event acted on: `session:…`, `device:…`, `certificate:…`, `user:…`, `config` */
  readonly resource?: string;
  readonly method?: string;
  readonly path?: string;
  readonly decision?: AuditDecision;
  readonly policy?: string;
  /** the deciding rule, e.g. `allow[0]` */
  readonly rule?: string;
  readonly reasons?: readonly AuditReason[];
  readonly mode?: AuditMode;
  /** time spent deciding or serving, in microseconds */
  readonly latency_us?: number;
  /** the specific event: `login.succeeded`, `mfa.totp.failed`, `session.revoked`, `user.updated`, ... */
  readonly action?: string;
  readonly outcome?: 'success' | 'failure';
  /** for admin changes: the state before and after */
  readonly before?: JsonValue;
  readonly after?: JsonValue;
  readonly details?: JsonObject;
}

/** A record as read back: the event's fields plus its identity and place in the chain. */
export interface AuditRecord extends Omit<AuditEvent, 'time'> {
  readonly v: number;
  readonly id: string;
  readonly seq: number;
  /** ISO 8601 UTC with milliseconds */
  readonly time: string;
  readonly prev_hash: string;
  readonly hash: string;
}

/**
 * A record prepared at append time: validated and serialized at once (the caller may reuse its
 * object), so that a flush only splices in the sequence number and hashes.
 */
export interface PreparedRecord {
  readonly id: string;
  readonly time: number;
  readonly kind: string;
  readonly userId: string | null;
  readonly deviceId: string | null;
  readonly route: string | null;
  readonly decision: string | null;
  /** canonical members sorting before `seq` (without braces) */
  readonly head: string;
  /** canonical members sorting after `seq` (without braces) */
  readonly tail: string;
}

function invalid(message: string): never {
  throw new ZtError('ZT_AUDIT_RECORD_INVALID', message);
}

/**
 * A record id in the UUID version 7 layout: the time in milliseconds, then random bits. Ids that
 * grow with time keep the unique index on them append-mostly, which makes inserts cheaper.
 */
export function newRecordId(now: number): string {
  const ms = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0').slice(-12);
  const r = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx: reuse its random bits
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${r.slice(15, 18)}-${r.slice(19)}`;
}

/** Validates and serializes an event. Cheap: runs on the request path. */
export function prepareRecord(event: AuditEvent, now: number, id?: string): PreparedRecord {
  if (event === null || typeof event !== 'object') invalid('an audit event must be an object');
  if (!KINDS.has(event.kind)) invalid(`unknown audit record kind \`${String(event.kind)}\``);
  const time = event.time ?? now;
  if (!Number.isSafeInteger(time) || time < 0)
    invalid('`time` must be milliseconds since the epoch');
  const userId = optionalString('actor.user', event.actor?.user);
  const deviceId = optionalString('actor.device', event.actor?.device);
  const route = optionalString('route', event.route);
  const decision = optionalString('decision', event.decision);
  const lo: Record<string, unknown> = {};
  const hi: Record<string, unknown> = {};
  for (const key of Object.keys(event)) {
    if (key === 'time') continue;
    const value = (event as unknown as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (key === 'v' || key === 'id' || key === 'seq' || key === 'hash' || key === 'prev_hash') {
      invalid(`\`${key}\` is set by the audit writer`);
    }
    (key < 'seq' ? lo : hi)[key] = value;
  }
  const recordId = id ?? newRecordId(time);
  lo.id = recordId;
  hi.time = new Date(time).toISOString();
  hi.v = AUDIT_SCHEMA_VERSION;
  const head = canonicalJson(lo);
  const tail = canonicalJson(hi);
  return {
    id: recordId,
    time,
    kind: event.kind,
    userId,
    deviceId,
    route,
    decision,
    head: head.slice(1, -1),
    tail: tail.slice(1, -1),
  };
}

/** The stored body of a prepared record at sequence number `seq`: canonical JSON. */
export function bodyAt(record: PreparedRecord, seq: number): string {
  // `head` always holds `id` and `kind`, `tail` always holds `time` and `v`: both are non-empty.
  return `{${record.head},"seq":${seq},${record.tail}}`;
}

function optionalString(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') invalid(`\`${field}\` must be a string`);
  return indexValue(value);
}

const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Longest value kept in an indexed column (the body keeps the whole value). */
export const MAX_INDEXED_LENGTH = 256;

/**
 * The copy of a body field kept in an indexed column: NUL characters and lone UTF-16 surrogates
 * (which PostgreSQL text refuses and SQLite would alter) replaced by U+FFFD and cut to 256 characters (an index entry has a size limit), so
 * that no value a client controls can make a batch impossible to write. `verify` derives the
 * same copy from the body to compare.
 */
export function indexValue(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  let clean = value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
  if (SURROGATE.test(clean)) clean = clean.replace(LONE_SURROGATE, '\uFFFD');
  return clean.length > MAX_INDEXED_LENGTH ? clean.slice(0, MAX_INDEXED_LENGTH) : clean;
}

/** A stored row as the record it holds. Throws on a body that is not JSON (verify reports those). */
export function recordFromRow(row: AuditRow): AuditRecord {
  const body = JSON.parse(row.body) as Omit<AuditRecord, 'hash' | 'prev_hash'>;
  return { ...body, prev_hash: row.prevHash, hash: row.hash };
}
