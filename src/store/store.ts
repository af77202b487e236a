/**
 * The store: everything ztgate must remember, behind one set of small async interfaces. Domain code
 * (identity, device, pki, audit, admin) depends only on this file; the composition root picks the
 * backend (`sqlite/` or `postgres/`) through `openStore` in `open.ts`.
 *
 * Conventions for every record type:
 * - times are milliseconds since the Unix epoch (UTC), as plain numbers;
 * - optional facts are `null` when absent (a record read back always has every field);
 * - records are plain immutable values: methods return fresh objects, never live rows;
 * - a key clash is a `ZT_STORE_CONFLICT`, a missing record to change is `ZT_STORE_NOT_FOUND`, an
 *   unreachable database is `ZT_STORE_UNAVAILABLE` (callers fail closed: 503).
 */
import { createHash } from 'node:crypto';
import { ZtError, type ErrorCode } from '../shared/errors.js';

// ---------------------------------------------------------------------------------------------
// errors

export type StoreErrorCode = Extract<ErrorCode, `ZT_STORE_${string}`>;

/** Every error a store raises on purpose; lower-level driver errors are translated into these. */
export class StoreError extends ZtError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { help?: string; cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

export class StoreUnavailableError extends StoreError {
  static readonly code = 'ZT_STORE_UNAVAILABLE' as const;
  constructor(message: string, options?: { help?: string; cause?: unknown }) {
    super(StoreUnavailableError.code, message, {
      help: 'check that the database is reachable; ztgate retries by itself and serves again when it returns',
      ...options,
    });
    this.name = 'StoreUnavailableError';
  }
}

export class StoreConflictError extends StoreError {
  static readonly code = 'ZT_STORE_CONFLICT' as const;
  constructor(message: string, options?: { help?: string; cause?: unknown }) {
    super(StoreConflictError.code, message, options);
    this.name = 'StoreConflictError';
  }
}

export class StoreNotFoundError extends StoreError {
  static readonly code = 'ZT_STORE_NOT_FOUND' as const;
  constructor(message: string, options?: { help?: string; cause?: unknown }) {
    super(StoreNotFoundError.code, message, options);
    this.name = 'StoreNotFoundError';
  }
}

export class StoreInvalidRecordError extends StoreError {
  static readonly code = 'ZT_STORE_INVALID_RECORD' as const;
  constructor(message: string, options?: { help?: string; cause?: unknown }) {
    super(StoreInvalidRecordError.code, message, options);
    this.name = 'StoreInvalidRecordError';
  }
}

export class StoreMigrationError extends StoreError {
  static readonly code = 'ZT_STORE_MIGRATION_FAILED' as const;
  constructor(message: string, options?: { help?: string; cause?: unknown }) {
    super(StoreMigrationError.code, message, options);
    this.name = 'StoreMigrationError';
  }
}

// ---------------------------------------------------------------------------------------------
// helpers shared by the backends and callers

/** The key under which an email is unique: trimmed and lower-cased (Unicode-aware, in JS). */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The only form in which a session id is stored: lower-case hex SHA-256 of the raw id. The raw id
 * lives in the user's cookie and nowhere else, so a copy of the database cannot be replayed.
 */
export function hashSessionId(rawSessionId: string): string {
  return createHash('sha256').update(rawSessionId, 'utf8').digest('hex');
}

/** A JSON value as the store keeps it (posture, settings, audit bodies). */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export type JsonObject = { readonly [key: string]: JsonValue };

/** A page of results and, when there may be more, the cursor to fetch the next page with. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface ListOptions {
  /** default 100, at most 1000 */
  readonly limit?: number;
  /** from a previous page's `nextCursor` */
  readonly cursor?: string;
}

// ---------------------------------------------------------------------------------------------
// users and groups

export interface UserRecord {
  readonly id: string;
  /** as the user wrote it; unique case-insensitively (see `emailKey`) */
  readonly email: string;
  readonly displayName: string;
  /** group names, sorted, without duplicates */
  readonly groups: readonly string[];
  readonly disabled: boolean;
  /** an encoded password hash (the identity module's format), null for IdP-only users */
  readonly passwordHash: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface NewUser {
  readonly id: string;
  readonly email: string;
  readonly displayName?: string;
  readonly groups?: readonly string[];
  readonly disabled?: boolean;
  readonly passwordHash?: string | null;
  readonly at: number;
}

export interface UserPatch {
  readonly email?: string;
  readonly displayName?: string;
  readonly groups?: readonly string[];
  readonly disabled?: boolean;
  readonly passwordHash?: string | null;
  readonly at: number;
}

export interface UserStore {
  /** `ZT_STORE_CONFLICT` when the id or the email (case-insensitively) is taken */
  create(user: NewUser): Promise<UserRecord>;
  get(id: string): Promise<UserRecord | undefined>;
  getByEmail(email: string): Promise<UserRecord | undefined>;
  /** ordered by email key */
  list(options?: ListOptions): Promise<Page<UserRecord>>;
  listByGroup(group: string): Promise<readonly UserRecord[]>;
  /** `ZT_STORE_NOT_FOUND` when absent, `ZT_STORE_CONFLICT` when the new email is taken */
  update(id: string, patch: UserPatch): Promise<UserRecord>;
  /** deletes the user with their sessions and devices; false when absent */
  delete(id: string): Promise<boolean>;
}

export interface GroupRecord {
  readonly name: string;
  readonly description: string;
  readonly createdAt: number;
}

export interface GroupStore {
  /** `ZT_STORE_CONFLICT` when the name is taken */
  create(group: {
    readonly name: string;
    readonly description?: string;
    readonly at: number;
  }): Promise<GroupRecord>;
  get(name: string): Promise<GroupRecord | undefined>;
  list(): Promise<readonly GroupRecord[]>;
  delete(name: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// sessions

export interface SessionRecord {
  /** `hashSessionId(raw)`: the raw id is never stored */
  readonly idHash: string;
  readonly userId: string;
  readonly deviceId: string | null;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  /** absolute expiry */
  readonly expiresAt: number;
  /** expiry if the session stays idle; moved forward by `touch` */
  readonly idleExpiresAt: number;
  /** methods of the last multi-factor authentication, e.g. `totp`, `webauthn` */
  readonly mfaMethods: readonly string[];
  readonly mfaAt: number | null;
  readonly revokedAt: number | null;
}

export type NewSession = Omit<SessionRecord, 'revokedAt' | 'mfaMethods' | 'mfaAt' | 'deviceId'> & {
  readonly deviceId?: string | null;
  readonly mfaMethods?: readonly string[];
  readonly mfaAt?: number | null;
};

export interface SessionStore {
  /** `ZT_STORE_CONFLICT` for a duplicate id hash; `ZT_STORE_NOT_FOUND` for an unknown user or device */
  create(session: NewSession): Promise<SessionRecord>;
  /** a revoked or expired session is still returned: the caller decides (and denies) */
  get(idHash: string): Promise<SessionRecord | undefined>;
  listByUser(userId: string): Promise<readonly SessionRecord[]>;
  /** records activity; false when the session is absent or revoked */
  touch(idHash: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean>;
  /** records a completed MFA (login or step-up); `ZT_STORE_NOT_FOUND` when absent */
  recordMfa(idHash: string, methods: readonly string[], at: number): Promise<SessionRecord>;
  /** true when this call revoked it, false when it was absent or already revoked */
  revoke(idHash: string, at: number): Promise<boolean>;
  /** revokes every live session of a user; returns how many */
  revokeAllForUser(userId: string, at: number): Promise<number>;
  /** deletes sessions whose absolute or idle expiry is before `now`; returns how many */
  deleteExpired(now: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// devices

export type DeviceState = 'pending' | 'active' | 'revoked';

export interface DeviceRecord {
  readonly id: string;
  readonly userId: string;
  readonly hostname: string;
  readonly os: string;
  readonly enrolledAt: number;
  readonly lastReportAt: number | null;
  readonly certificateSerial: string | null;
  /**
   * SHA-256 of the current certificate's DER, lower-case hex; null when there is no certificate or
   * it was recorded before schema 2. Unique: no two devices hold the same certificate.
   */
  readonly certificateFingerprint: string | null;
  /** the serial the last certificate change replaced (a renewal), so that it can be revoked too */
  readonly previousCertificateSerial: string | null;
  readonly state: DeviceState;
  /** the last posture report as sent by the agent (validated by the device module) */
  readonly posture: JsonObject;
  readonly updatedAt: number;
  /** 1 at creation, one more with every change: what `updatePosture` compares */
  readonly version: number;
}

export interface NewDevice {
  readonly id: string;
  readonly userId: string;
  readonly hostname: string;
  readonly os: string;
  readonly enrolledAt: number;
  readonly certificateSerial?: string | null;
  readonly certificateFingerprint?: string | null;
  readonly state?: DeviceState;
  readonly posture?: JsonObject;
}

/** A device certificate as the device record keeps it. */
export interface DeviceCertificate {
  /** hex, any case (stored lower-case) */
  readonly serial: string;
  /** SHA-256 of the DER certificate, hex, any case, colons allowed (stored lower-case, bare) */
  readonly fingerprint: string | null;
}

/** One entry of a device's posture history: an accepted report or signal. */
export interface PostureHistoryRecord {
  readonly deviceId: string;
  /** server time, ms */
  readonly at: number;
  /** `agent` or the webhook name */
  readonly source: string;
  /** the agent report's sequence number; null for signals */
  readonly seq: number | null;
  readonly attributes: JsonObject;
  /** why the agent could not report some attributes; null when not given */
  readonly unavailable: JsonObject | null;
  /** the tier after this entry */
  readonly tier: string | null;
  /** what changed for policies (`posture.firewall`, `tier`, ...) */
  readonly changes: readonly string[];
}

export interface DevicePostureHistoryStore {
  /**
   * Appends an entry, then keeps only the newest `keep` entries of its device (newest: latest
   * `at`, then latest appended), in one transaction serialized per device. `ZT_STORE_NOT_FOUND`
   * for an unknown device. Deleting a device deletes its history.
   */
  append(entry: PostureHistoryRecord, keep: number): Promise<void>;
  /** newest first; `limit` default 100, at most 1000 */
  list(deviceId: string, limit?: number): Promise<readonly PostureHistoryRecord[]>;
  /** deletes every entry of a device; returns how many */
  deleteDevice(deviceId: string): Promise<number>;
}

export interface DeviceStore {
  /**
   * `ZT_STORE_CONFLICT` for a duplicate id or certificate fingerprint; `ZT_STORE_NOT_FOUND` for an
   * unknown user
   */
  create(device: NewDevice): Promise<DeviceRecord>;
  get(id: string): Promise<DeviceRecord | undefined>;
  /** the device whose *current* certificate has this serial (not a previous one) */
  getByCertificateSerial(serial: string): Promise<DeviceRecord | undefined>;
  /** the device whose current certificate has this SHA-256 fingerprint (hex, any case, colons allowed) */
  getByCertificateFingerprint(fingerprint: string): Promise<DeviceRecord | undefined>;
  listByUser(userId: string): Promise<readonly DeviceRecord[]>;
  /**
   * Devices whose host name equals `hostname`, ignoring ASCII case (host names are ASCII: the
   * device module refuses others), ordered by id; `limit` default 100, at most 1000.
   */
  listByHostname(
    hostname: string,
    options?: { readonly state?: DeviceState; readonly limit?: number },
  ): Promise<readonly DeviceRecord[]>;
  /** ordered by id */
  list(options?: ListOptions): Promise<Page<DeviceRecord>>;
  /** stores a posture report unconditionally; `ZT_STORE_NOT_FOUND` when absent */
  reportPosture(id: string, posture: JsonObject, at: number): Promise<DeviceRecord>;
  /**
   * Compare-and-set: stores `posture` only if the record is still at `expectedVersion` (read it,
   * compute, write; on `ZT_STORE_CONFLICT` read again and recompute). Of concurrent updates from
   * the same version, in any process, exactly one wins. `touchReport` also sets `lastReportAt` to
   * `at` (agent reports; not webhook signals). `ZT_STORE_NOT_FOUND` when absent.
   */
  updatePosture(
    id: string,
    expectedVersion: number,
    posture: JsonObject,
    at: number,
    options: { readonly touchReport: boolean },
  ): Promise<DeviceRecord>;
  setState(id: string, state: DeviceState, at: number): Promise<DeviceRecord>;
  /**
   * Sets (or with null, removes) the current certificate. A different current serial becomes
   * `previousCertificateSerial`. With `expectedSerial` (null: no certificate) the change is made
   * only if that is still the current serial, else `ZT_STORE_CONFLICT`: of two renewals with the
   * same proof, one wins. `ZT_STORE_CONFLICT` also when another device holds the fingerprint.
   */
  setCertificate(
    id: string,
    certificate: DeviceCertificate | null,
    at: number,
    options?: { readonly expectedSerial?: string | null },
  ): Promise<DeviceRecord>;
  delete(id: string): Promise<boolean>;
  /** the posture history of every device */
  readonly history: DevicePostureHistoryStore;
}

// ---------------------------------------------------------------------------------------------
// enrollment codes

/** A one-time device enrollment code; only its hash is stored (see src/device/enroll/codes.ts). */
export interface EnrollmentCodeRecord {
  /** SHA-256 of the normalized code, hex */
  readonly codeHash: string;
  readonly userId: string;
  readonly email: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
}

export interface EnrollmentCodeStore {
  /** `ZT_STORE_CONFLICT` for a duplicate hash; `ZT_STORE_NOT_FOUND` for an unknown user */
  put(record: EnrollmentCodeRecord): Promise<void>;
  get(codeHash: string): Promise<EnrollmentCodeRecord | undefined>;
  /**
   * Marks the code used at `at` and returns it, or undefined when it is absent, already used or
   * expired (`at >= expiresAt`). One conditional UPDATE: of concurrent calls, in any process,
   * exactly one gets the code.
   */
  consume(codeHash: string, at: number): Promise<EnrollmentCodeRecord | undefined>;
  /** deletes codes with `expiresAt <= now`, used or not; returns how many */
  deleteExpired(now: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// certificates

/** `workload` is a SPIFFE X.509-SVID. */
export type CertificateKind = 'ca' | 'server' | 'device' | 'workload' | 'client';

export interface CertificateRecord {
  /** lower-case hex, no separators */
  readonly serial: string;
  /** what `revoke --subject` matches: the first DNS name, the device URN, the SPIFFE ID, a CA's DN */
  readonly subject: string;
  readonly kind: CertificateKind;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly revokedAt: number | null;
  /** an RFC 5280 reason name (`keyCompromise`, `superseded`, ...) when revoked */
  readonly revocationReason: string | null;
  /** the certificate itself (DER); null for records from before schema 2 */
  readonly der: Buffer | null;
  /** the subject alternative names as written in the certificate (DNS names, IP addresses, URIs) */
  readonly names: readonly string[] | null;
  /** the serial of the CA certificate that signed it (a root names itself); null when unknown */
  readonly issuerSerial: string | null;
}

export interface NewCertificate {
  readonly serial: string;
  readonly subject: string;
  readonly kind: CertificateKind;
  readonly notBefore: number;
  readonly notAfter: number;
  /** at most 64 KiB */
  readonly der?: Uint8Array | null;
  readonly names?: readonly string[] | null;
  readonly issuerSerial?: string | null;
}

export interface CertificateFilter {
  readonly kind?: CertificateKind;
  readonly revoked?: boolean;
  /** exactly this subject (indexed) */
  readonly subject?: string;
  /** only certificates still valid at that time or later (`notAfter >= notExpiredAt`) */
  readonly notExpiredAt?: number;
  /** at most this many (at most 1000), with `nextCursor` for the rest; without it, every match */
  readonly limit?: number;
  /** from a previous list's `nextCursor` */
  readonly cursor?: string;
}

/**
 * A list of certificates ordered by serial; `nextCursor` is set when `limit` cut it short. An
 * array (so callers of the unpaged `list()` need nothing new) with one more, non-enumerable field.
 */
export type CertificateList = readonly CertificateRecord[] & { readonly nextCursor: string | null };

export interface CertificateStore {
  /** `ZT_STORE_CONFLICT` for a duplicate serial */
  create(cert: NewCertificate): Promise<CertificateRecord>;
  get(serial: string): Promise<CertificateRecord | undefined>;
  /** ordered by serial; pass a `limit` on any path that must stay bounded */
  list(filter?: CertificateFilter): Promise<CertificateList>;
  /** `ZT_STORE_NOT_FOUND` when absent; revoking twice keeps the first time and reason */
  revoke(serial: string, at: number, reason: string): Promise<CertificateRecord>;
}

// ---------------------------------------------------------------------------------------------
// config and policy versions

export interface ConfigVersionRecord {
  /** 1, 2, 3, ... without gaps */
  readonly version: number;
  readonly content: string;
  /** lower-case hex SHA-256 of `content` */
  readonly checksum: string;
  readonly author: string;
  readonly createdAt: number;
}

export interface ConfigVersionStore {
  /**
   * Stores the next version. With `expectedLatest`, fails with `ZT_STORE_CONFLICT` unless the
   * latest version is that one (0 for none): two admins editing at once do not overwrite each other.
   */
  append(input: {
    readonly content: string;
    readonly author: string;
    readonly at: number;
    readonly expectedLatest?: number;
  }): Promise<ConfigVersionRecord>;
  get(version: number): Promise<ConfigVersionRecord | undefined>;
  latest(): Promise<ConfigVersionRecord | undefined>;
  /** newest first */
  list(limit?: number): Promise<readonly ConfigVersionRecord[]>;
}

// ---------------------------------------------------------------------------------------------
// settings

export interface SettingsStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, at: number): Promise<void>;
  /** true when the key was absent and is now set */
  setIfAbsent(key: string, value: string, at: number): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  /** keys starting with `prefix`, sorted */
  list(prefix?: string): Promise<ReadonlyMap<string, string>>;
}

// ---------------------------------------------------------------------------------------------
// audit records (storage only: the record schema, hashing and signing live in src/audit)

/** The hash that precedes the first record: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** The head of the chain: the last record's sequence number and hash (0 and GENESIS_HASH when empty). */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/** One stored audit record. `body` is the canonical JSON that was hashed; the other fields index it. */
export interface AuditRow {
  readonly seq: number;
  /** unique per record (makes a retried batch idempotent) */
  readonly id: string;
  readonly time: number;
  readonly kind: string;
  readonly userId: string | null;
  readonly deviceId: string | null;
  readonly route: string | null;
  readonly decision: string | null;
  readonly body: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** A record waiting to be chained: everything but its place in the chain. */
export type AuditDraft = Omit<AuditRow, 'seq' | 'prevHash' | 'hash'>;

/**
 * Computes the chain links for a batch: called by the store inside the write transaction with the
 * current head, after other writers are locked out. Must be pure and synchronous.
 */
export type AuditLinker = (head: AuditHead, drafts: readonly AuditDraft[]) => readonly AuditRow[];

export interface AuditCheckpointRow {
  readonly id: number;
  /** the sequence number (= count of records since the start) the checkpoint vouches for */
  readonly seq: number;
  readonly hash: string;
  readonly time: number;
  /** `periodic`, `shutdown` or `anchor` (written by retention before it deletes older records) */
  readonly kind: string;
  readonly keyId: string;
  /** base64 Ed25519 signature over the canonical checkpoint statement */
  readonly signature: string;
}

export type NewAuditCheckpoint = Omit<AuditCheckpointRow, 'id'>;

export interface AuditFilter {
  readonly userId?: string;
  readonly deviceId?: string;
  readonly route?: string;
  readonly decision?: string;
  readonly kind?: string;
  /** inclusive, ms */
  readonly since?: number;
  /** exclusive, ms */
  readonly until?: number;
  /** only records with a sequence number above this one (for tail and cursors) */
  readonly afterSeq?: number;
  /** only records with a sequence number below this one (for descending cursors) */
  readonly beforeSeq?: number;
  readonly order?: 'asc' | 'desc';
  /** default 100, at most 10000 */
  readonly limit?: number;
}

export interface AuditStore {
  /**
   * Appends a batch in one transaction, serialized against every other writer (also in other
   * processes): reads the head, calls `link`, inserts the rows and moves the head. Idempotent: if
   * the batch's first record id is already stored (a retry after a lost commit acknowledgement),
   * nothing is written and the stored rows are returned.
   */
  appendBatch(drafts: readonly AuditDraft[], link: AuditLinker): Promise<readonly AuditRow[]>;
  head(): Promise<AuditHead>;
  /** rows in `[fromSeq, fromSeq + limit)` by sequence number, for verification and export */
  range(fromSeq: number, limit: number): Promise<readonly AuditRow[]>;
  query(filter: AuditFilter): Promise<readonly AuditRow[]>;
  /** lowest and highest stored sequence numbers, null when there are no records */
  bounds(): Promise<{ readonly first: number; readonly last: number } | null>;
  addCheckpoint(checkpoint: NewAuditCheckpoint): Promise<AuditCheckpointRow>;
  /** ordered by seq, then id */
  checkpoints(): Promise<readonly AuditCheckpointRow[]>;
  /** the highest sequence number whose record and every record before it is older than `time` (0 if none) */
  lastSeqBefore(time: number): Promise<number>;
  /**
   * Retention: in one transaction stores `anchor` (a checkpoint for record `anchor.seq`), then
   * deletes every record up to and including `anchor.seq` and every older checkpoint. Returns the
   * number of records deleted.
   */
  prune(anchor: NewAuditCheckpoint): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// the store

export type StoreKind = 'sqlite' | 'postgres';

export interface Store {
  readonly kind: StoreKind;
  readonly users: UserStore;
  readonly groups: GroupStore;
  readonly sessions: SessionStore;
  readonly devices: DeviceStore;
  readonly enrollmentCodes: EnrollmentCodeStore;
  readonly certificates: CertificateStore;
  readonly configVersions: ConfigVersionStore;
  readonly settings: SettingsStore;
  readonly audit: AuditStore;
  /**
   * True when the database answers. Never throws. A store that was unavailable reconnects here
   * (and on the next operation) by itself; `/readyz` reports this.
   */
  ping(): Promise<boolean>;
  /** the schema version after migrations */
  schemaVersion(): Promise<number>;
  /** releases connections and files; later calls fail with `ZT_STORE_CLOSED` */
  close(): Promise<void>;
}

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
export const MAX_AUDIT_QUERY_LIMIT = 10_000;

/** A list cursor: opaque to callers, the last key of the previous page. */
export function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

/** The key a cursor continues after; `ZT_STORE_INVALID_RECORD` when malformed. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(cursor))
    throw new StoreInvalidRecordError('malformed cursor');
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/**
 * A `CertificateList` from rows ordered by serial and fetched with `limit + 1` (or without a
 * limit): shared by the backends and `MemoryCertificateStore`.
 */
export function certificatePage(
  rows: readonly CertificateRecord[],
  limit: number | undefined,
): CertificateList {
  const items = limit === undefined ? [...rows] : rows.slice(0, limit);
  const last = items[items.length - 1];
  const nextCursor =
    limit !== undefined && rows.length > limit && last !== undefined
      ? encodeCursor(last.serial)
      : null;
  // not enumerable: the list still compares, prints and spreads as the plain array it extends
  return Object.defineProperty(Object.assign(items, { nextCursor }), 'nextCursor', {
    enumerable: false,
  });
}

export function clampLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new StoreInvalidRecordError(`limit must be a positive integer, not \`${String(limit)}\``);
  }
  return Math.min(limit, max);
}
