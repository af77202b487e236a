/**
 * The embedded store: one SQLite file under the data directory, through better-sqlite3.
 *
 * - WAL journal: readers never block the writer and the writer never blocks readers.
 * - `synchronous=NORMAL`: a commit is written to the WAL but not fsync'ed; the WAL is fsync'ed at
 *   each checkpoint. A crash of the process (kill -9) loses nothing that was committed, because the
 *   data is in the OS page cache; a power loss or kernel crash can lose the last transactions
 *   committed since the last WAL checkpoint, never corrupt the database. This trades the last
 *   moments before a power cut for a commit that costs no disk flush (see docs/store.md).
 * - `busy_timeout`: another process holding the write lock makes a writer wait, not fail.
 * - `foreign_keys=ON`; prepared statements are cached per connection.
 * - The file is created with mode 0600 (and tightened to 0600 if it is looser).
 *
 * Fail closed: an I/O error, or the file disappearing or being replaced (noticed by `ping`), closes
 * the connection and every call fails with `ZT_STORE_UNAVAILABLE`; the store reopens by itself when
 * the file is back (it never creates an empty database in place of a vanished one).
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { migrateSqlite } from '../migrations/run-sqlite.js';
import * as R from '../records.js';
import {
  DEFAULT_LIST_LIMIT,
  MAX_AUDIT_QUERY_LIMIT,
  MAX_LIST_LIMIT,
  StoreConflictError,
  StoreError,
  StoreNotFoundError,
  StoreUnavailableError,
  certificatePage,
  clampLimit,
  emailKey,
  type AuditCheckpointRow,
  type AuditDraft,
  type AuditFilter,
  type AuditHead,
  type AuditLinker,
  type AuditRow,
  type AuditStore,
  type CertificateRecord,
  type CertificateStore,
  type ConfigVersionRecord,
  type ConfigVersionStore,
  type CertificateFilter,
  type CertificateList,
  type DeviceCertificate,
  type DevicePostureHistoryStore,
  type DeviceRecord,
  type DeviceStore,
  type EnrollmentCodeRecord,
  type EnrollmentCodeStore,
  type GroupRecord,
  type GroupStore,
  type ListOptions,
  type NewAuditCheckpoint,
  type NewCertificate,
  type Page,
  type PostureHistoryRecord,
  type SessionRecord,
  type SessionStore,
  type SettingsStore,
  type Store,
  type UserRecord,
  type UserStore,
} from '../store.js';

export interface SqliteStoreOptions {
  readonly kind: 'sqlite';
  /** the data directory; created with mode 0700 if missing */
  readonly dataDir: string;
  /** default `ztgate.db` */
  readonly fileName?: string;
  /** how long a writer waits for another process's write lock; default 5000 ms */
  readonly busyTimeoutMs?: number;
  /** false: fail with `ZT_STORE_UNAVAILABLE` instead of creating a missing database (CLI readers) */
  readonly create?: boolean;
  readonly now?: () => number;
}

type Row = Record<string, unknown>;
type Params = readonly unknown[];

const RETRY_OPEN_MS = 250;

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

/**
 * `journal_mode = WAL` needs the database to itself for a moment. When several processes create
 * the same new database at once (replicas or workers starting together), SQLite can answer
 * SQLITE_BUSY there without waiting on the busy timeout: try again for up to that timeout.
 */
function switchToWal(db: Database.Database, timeoutMs: number): unknown {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      return db.pragma('journal_mode = WAL', { simple: true });
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      Atomics.wait(pause, 0, 0, 10); // opening is synchronous: a short blocking pause
    }
  }
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly users: UserStore;
  readonly groups: GroupStore;
  readonly sessions: SessionStore;
  readonly devices: DeviceStore;
  readonly enrollmentCodes: EnrollmentCodeStore;
  readonly certificates: CertificateStore;
  readonly configVersions: ConfigVersionStore;
  readonly settings: SettingsStore;
  readonly audit: AuditStore;

  private db: Database.Database | null = null;
  private identity: { dev: number; ino: number } | null = null;
  private readonly statements = new Map<string, Database.Statement>();
  private closed = false;
  private lastOpenAttempt = 0;
  private readonly busyTimeoutMs: number;
  private readonly now: () => number;

  constructor(options: SqliteStoreOptions) {
    this.path = join(options.dataDir, options.fileName ?? 'ztgate.db');
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.now = options.now ?? Date.now;
    if (!existsSync(this.path)) {
      if (options.create === false) {
        throw new StoreUnavailableError(`there is no database at \`${this.path}\``, {
          help: 'check `--data-dir`, or start ztgate once to create it',
        });
      }
      try {
        mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
        closeSync(openSync(this.path, 'a', 0o600));
      } catch (err) {
        throw new StoreUnavailableError(`cannot create the database \`${this.path}\``, {
          cause: err,
        });
      }
    }
    this.open();
    this.users = new SqliteUsers(this);
    this.groups = new SqliteGroups(this);
    this.sessions = new SqliteSessions(this);
    this.devices = new SqliteDevices(this);
    this.enrollmentCodes = new SqliteEnrollmentCodes(this);
    this.certificates = new SqliteCertificates(this);
    this.configVersions = new SqliteConfigVersions(this);
    this.settings = new SqliteSettings(this);
    this.audit = new SqliteAudit(this);
  }

  /** Opens the file, sets the pragmas and migrates; throws a StoreError. */
  private open(): void {
    let db: Database.Database | undefined;
    try {
      const st = statSync(this.path);
      if ((st.mode & 0o077) !== 0) chmodSync(this.path, 0o600);
      db = new Database(this.path, { fileMustExist: true, timeout: this.busyTimeoutMs });
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      const mode = switchToWal(db, this.busyTimeoutMs);
      if (String(mode).toLowerCase() !== 'wal') throw new Error(`journal_mode is ${String(mode)}`);
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrateSqlite(db, this.now());
      this.identity = { dev: st.dev, ino: st.ino };
      this.db = db;
    } catch (err) {
      db?.close();
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError(`cannot open the database \`${this.path}\``, { cause: err });
    }
  }

  /** Closes a broken connection: every call fails closed until the file is back. */
  private markDown(): void {
    this.statements.clear();
    const db = this.db;
    this.db = null;
    try {
      db?.close();
    } catch {
      // closing a connection whose file is gone may fail; it is discarded either way
    }
  }

  private connection(): Database.Database {
    if (this.closed) throw new StoreError('ZT_STORE_CLOSED', 'the store is closed');
    if (this.db) return this.db;
    const now = Date.now();
    if (now - this.lastOpenAttempt >= RETRY_OPEN_MS && existsSync(this.path)) {
      this.lastOpenAttempt = now;
      try {
        this.open();
      } catch {
        // still down
      }
    }
    if (this.db) return this.db;
    throw new StoreUnavailableError(`the database \`${this.path}\` is not available`);
  }

  /** A cached prepared statement on the current connection. */
  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.connection().prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Runs database work, translating driver errors once, here. */
  run<T>(work: (db: Database.Database) => T, context?: { fk?: string; conflict?: string }): T {
    const db = this.connection();
    try {
      return work(db);
    } catch (err) {
      throw this.translate(err, context);
    }
  }

  all(sql: string, params: Params = []): Row[] {
    return this.run(() => this.stmt(sql).all(...params) as Row[]);
  }

  get(sql: string, params: Params = []): Row | undefined {
    return this.run(() => this.stmt(sql).get(...params) as Row | undefined);
  }

  exec(sql: string, params: Params = [], context?: { fk?: string; conflict?: string }): number {
    return this.run(() => this.stmt(sql).run(...params).changes, context);
  }

  /** A write transaction with BEGIN IMMEDIATE (takes the write lock up front: no upgrade deadlock). */
  transaction<T>(work: () => T, context?: { fk?: string; conflict?: string }): T {
    return this.run((db) => db.transaction(work).immediate(), context);
  }

  private translate(err: unknown, context?: { fk?: string; conflict?: string }): Error {
    if (err instanceof StoreError) return err;
    const code = (err as { code?: unknown } | null)?.code;
    if (err instanceof Database.SqliteError && typeof code === 'string') {
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        return new StoreConflictError(
          context?.conflict ?? 'a record with this key already exists',
          {
            cause: err,
          },
        );
      }
      if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        return new StoreNotFoundError(context?.fk ?? 'a referenced record does not exist', {
          cause: err,
        });
      }
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        return new StoreUnavailableError('the database is locked by another process for too long', {
          cause: err,
        });
      }
      if (
        /^SQLITE_(IOERR|CANTOPEN|READONLY|CORRUPT|NOTADB|FULL|PERM|AUTH)/.test(code) ||
        code === 'SQLITE_MISUSE'
      ) {
        this.markDown();
        return new StoreUnavailableError(`the database \`${this.path}\` failed (${code})`, {
          cause: err,
        });
      }
    }
    if (err instanceof TypeError && /database connection is not open/.test(err.message)) {
      this.markDown();
      return new StoreUnavailableError(`the database \`${this.path}\` is not available`, {
        cause: err,
      });
    }
    return new StoreError(
      'ZT_STORE_FAILED',
      `the database reported an error: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }

  async ping(): Promise<boolean> {
    await Promise.resolve();
    if (this.closed) return false;
    if (this.db && !this.sameFile()) this.markDown();
    try {
      this.connection();
      this.stmt('SELECT 1').get();
      return true;
    } catch {
      return false;
    }
  }

  /** Whether the path still names the file that was opened (not deleted, moved or replaced). */
  private sameFile(): boolean {
    try {
      const st = statSync(this.path);
      return this.identity !== null && st.dev === this.identity.dev && st.ino === this.identity.ino;
    } catch {
      return false;
    }
  }

  async schemaVersion(): Promise<number> {
    await Promise.resolve();
    const r = this.get('SELECT max(version) AS v FROM schema_migrations');
    return Number(r?.v ?? 0);
  }

  async close(): Promise<void> {
    await Promise.resolve();
    if (this.closed) return;
    this.markDown();
    this.closed = true;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function page<T>(rows: readonly T[], limit: number, keyOf: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: last === undefined ? null : R.encodeCursor(keyOf(last)) };
}

// -----------------------------------------------------------------------------------------------

class SqliteUsers implements UserStore {
  constructor(private readonly s: SqliteStore) {}

  async create(user: Parameters<UserStore['create']>[0]): Promise<UserRecord> {
    await Promise.resolve();
    const email = R.email(user.email);
    const at = R.time('at', user.at);
    const row = this.s.get(
      `INSERT INTO users (id, email, email_key, display_name, groups_json, disabled, password_hash, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      [
        R.key('id', user.id),
        email,
        emailKey(email),
        R.text('displayName', user.displayName ?? '', undefined, true),
        JSON.stringify(R.names('groups', user.groups ?? [])),
        user.disabled === true ? 1 : 0,
        R.optionalText('passwordHash', user.passwordHash),
        at,
        at,
      ],
    );
    return R.userFromRow(row ?? {});
  }

  async get(id: string): Promise<UserRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM users WHERE id = ?', [id]);
    return r && R.userFromRow(r);
  }

  async getByEmail(email: string): Promise<UserRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM users WHERE email_key = ?', [emailKey(email)]);
    return r && R.userFromRow(r);
  }

  async list(options: ListOptions = {}): Promise<Page<UserRecord>> {
    await Promise.resolve();
    const limit = clampLimit(options.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const after = R.decodeCursor(options.cursor) ?? '';
    const rows = this.s
      .all('SELECT * FROM users WHERE email_key > ? ORDER BY email_key LIMIT ?', [after, limit + 1])
      .map(R.userFromRow);
    return page(rows, limit, (u) => emailKey(u.email));
  }

  async listByGroup(group: string): Promise<readonly UserRecord[]> {
    await Promise.resolve();
    return this.s
      .all(
        `SELECT * FROM users WHERE EXISTS (SELECT 1 FROM json_each(users.groups_json) WHERE value = ?)
         ORDER BY email_key`,
        [group],
      )
      .map(R.userFromRow);
  }

  async update(id: string, patch: Parameters<UserStore['update']>[1]): Promise<UserRecord> {
    await Promise.resolve();
    const email = patch.email === undefined ? undefined : R.email(patch.email);
    const row = this.s.get(
      `UPDATE users SET
         email = coalesce(?, email), email_key = coalesce(?, email_key),
         display_name = coalesce(?, display_name), groups_json = coalesce(?, groups_json),
         disabled = coalesce(?, disabled),
         password_hash = CASE WHEN ? THEN ? ELSE password_hash END,
         updated_at = ?
       WHERE id = ? RETURNING *`,
      [
        email ?? null,
        email === undefined ? null : emailKey(email),
        patch.displayName === undefined
          ? null
          : R.text('displayName', patch.displayName, undefined, true),
        patch.groups === undefined ? null : JSON.stringify(R.names('groups', patch.groups)),
        patch.disabled === undefined ? null : patch.disabled ? 1 : 0,
        patch.passwordHash === undefined ? 0 : 1,
        patch.passwordHash === undefined
          ? null
          : R.optionalText('passwordHash', patch.passwordHash),
        R.time('at', patch.at),
        id,
      ],
    );
    if (!row) throw new StoreNotFoundError(`user \`${id}\` does not exist`);
    return R.userFromRow(row);
  }

  async delete(id: string): Promise<boolean> {
    await Promise.resolve();
    return this.s.exec('DELETE FROM users WHERE id = ?', [id]) === 1;
  }
}

class SqliteGroups implements GroupStore {
  constructor(private readonly s: SqliteStore) {}

  async create(group: Parameters<GroupStore['create']>[0]): Promise<GroupRecord> {
    await Promise.resolve();
    const row = this.s.get(
      'INSERT INTO groups (name, description, created_at) VALUES (?, ?, ?) RETURNING *',
      [
        R.key('name', group.name),
        R.text('description', group.description ?? '', undefined, true),
        R.time('at', group.at),
      ],
    );
    return R.groupFromRow(row ?? {});
  }

  async get(name: string): Promise<GroupRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM groups WHERE name = ?', [name]);
    return r && R.groupFromRow(r);
  }

  async list(): Promise<readonly GroupRecord[]> {
    await Promise.resolve();
    return this.s.all('SELECT * FROM groups ORDER BY name').map(R.groupFromRow);
  }

  async delete(name: string): Promise<boolean> {
    await Promise.resolve();
    return this.s.exec('DELETE FROM groups WHERE name = ?', [name]) === 1;
  }
}

class SqliteSessions implements SessionStore {
  constructor(private readonly s: SqliteStore) {}

  async create(session: Parameters<SessionStore['create']>[0]): Promise<SessionRecord> {
    await Promise.resolve();
    const deviceId = session.deviceId ?? null;
    const row = this.s.run(
      () =>
        this.s
          .stmt(
            `INSERT INTO sessions (id_hash, user_id, device_id, created_at, last_seen_at, expires_at,
               idle_expires_at, mfa_methods_json, mfa_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) RETURNING *`,
          )
          .get(
            R.key('idHash', session.idHash),
            R.key('userId', session.userId),
            deviceId === null ? null : R.key('deviceId', deviceId),
            R.time('createdAt', session.createdAt),
            R.time('lastSeenAt', session.lastSeenAt),
            R.time('expiresAt', session.expiresAt),
            R.time('idleExpiresAt', session.idleExpiresAt),
            JSON.stringify(R.names('mfaMethods', session.mfaMethods ?? [])),
            R.optionalTime('mfaAt', session.mfaAt),
          ) as Row,
      {
        fk: `user \`${session.userId}\`${deviceId === null ? '' : ` or device \`${deviceId}\``} does not exist`,
        conflict: 'a session with this id already exists',
      },
    );
    return R.sessionFromRow(row);
  }

  async get(idHash: string): Promise<SessionRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM sessions WHERE id_hash = ?', [idHash]);
    return r && R.sessionFromRow(r);
  }

  async listByUser(userId: string): Promise<readonly SessionRecord[]> {
    await Promise.resolve();
    return this.s
      .all('SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at, id_hash', [userId])
      .map(R.sessionFromRow);
  }

  async touch(idHash: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean> {
    await Promise.resolve();
    return (
      this.s.exec(
        'UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id_hash = ? AND revoked_at IS NULL',
        [R.time('lastSeenAt', lastSeenAt), R.time('idleExpiresAt', idleExpiresAt), idHash],
      ) === 1
    );
  }

  async recordMfa(idHash: string, methods: readonly string[], at: number): Promise<SessionRecord> {
    await Promise.resolve();
    const r = this.s.get(
      'UPDATE sessions SET mfa_methods_json = ?, mfa_at = ? WHERE id_hash = ? RETURNING *',
      [JSON.stringify(R.names('methods', methods)), R.time('at', at), idHash],
    );
    if (!r) throw new StoreNotFoundError('the session does not exist');
    return R.sessionFromRow(r);
  }

  async revoke(idHash: string, at: number): Promise<boolean> {
    await Promise.resolve();
    return (
      this.s.exec('UPDATE sessions SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL', [
        R.time('at', at),
        idHash,
      ]) === 1
    );
  }

  async revokeAllForUser(userId: string, at: number): Promise<number> {
    await Promise.resolve();
    return this.s.exec(
      'UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL',
      [R.time('at', at), userId],
    );
  }

  async deleteExpired(now: number): Promise<number> {
    await Promise.resolve();
    return this.s.exec('DELETE FROM sessions WHERE expires_at < ? OR idle_expires_at < ?', [
      now,
      now,
    ]);
  }
}

const NOT_FOUND_DEVICE = (id: string) => new StoreNotFoundError(`device \`${id}\` does not exist`);

class SqliteDevices implements DeviceStore {
  readonly history: DevicePostureHistoryStore;

  constructor(private readonly s: SqliteStore) {
    this.history = new SqlitePostureHistory(s);
  }

  async create(device: Parameters<DeviceStore['create']>[0]): Promise<DeviceRecord> {
    await Promise.resolve();
    const at = R.time('enrolledAt', device.enrolledAt);
    const row = this.s.run(
      () =>
        this.s
          .stmt(
            `INSERT INTO devices (id, user_id, hostname, os, enrolled_at, last_report_at, certificate_serial,
               certificate_fingerprint, previous_certificate_serial, state, posture_json, updated_at, version)
             VALUES (?, ?, ?, ?, ?, NULL, ?, ?, NULL, ?, ?, ?, 1) RETURNING *`,
          )
          .get(
            R.key('id', device.id),
            R.key('userId', device.userId),
            R.text('hostname', device.hostname, undefined, true),
            R.text('os', device.os, undefined, true),
            at,
            device.certificateSerial == null ? null : R.serial(device.certificateSerial),
            device.certificateFingerprint == null
              ? null
              : R.fingerprint(device.certificateFingerprint),
            R.deviceState(device.state ?? 'pending'),
            R.jsonObject('posture', device.posture ?? {}),
            at,
          ) as Row,
      {
        fk: `user \`${device.userId}\` does not exist`,
        conflict: `device \`${device.id}\` or its certificate already exists`,
      },
    );
    return R.deviceFromRow(row);
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM devices WHERE id = ?', [id]);
    return r && R.deviceFromRow(r);
  }

  async getByCertificateSerial(serial: string): Promise<DeviceRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM devices WHERE certificate_serial = ? ORDER BY id LIMIT 1', [
      serial.toLowerCase(),
    ]);
    return r && R.deviceFromRow(r);
  }

  async getByCertificateFingerprint(fingerprint: string): Promise<DeviceRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM devices WHERE certificate_fingerprint = ?', [
      R.fingerprintKey(fingerprint),
    ]);
    return r && R.deviceFromRow(r);
  }

  async listByUser(userId: string): Promise<readonly DeviceRecord[]> {
    await Promise.resolve();
    return this.s
      .all('SELECT * FROM devices WHERE user_id = ? ORDER BY id', [userId])
      .map(R.deviceFromRow);
  }

  async listByHostname(
    hostname: string,
    options: Parameters<DeviceStore['listByHostname']>[1] = {},
  ): Promise<readonly DeviceRecord[]> {
    await Promise.resolve();
    const limit = clampLimit(options.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const state = options.state === undefined ? null : R.deviceState(options.state);
    return this.s
      .all(
        `SELECT * FROM devices WHERE lower(hostname) = lower(?) AND (? IS NULL OR state = ?)
         ORDER BY id LIMIT ?`,
        [hostname, state, state, limit],
      )
      .map(R.deviceFromRow);
  }

  async list(options: ListOptions = {}): Promise<Page<DeviceRecord>> {
    await Promise.resolve();
    const limit = clampLimit(options.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const after = R.decodeCursor(options.cursor) ?? '';
    const rows = this.s
      .all('SELECT * FROM devices WHERE id > ? ORDER BY id LIMIT ?', [after, limit + 1])
      .map(R.deviceFromRow);
    return page(rows, limit, (d) => d.id);
  }

  /** Every change goes through here: it moves `version` on. */
  private update(
    id: string,
    sql: string,
    params: Params,
    guard?: { readonly sql: string; readonly params: Params; readonly conflict: string },
  ): DeviceRecord {
    return this.s.transaction(
      () => {
        const r = this.s
          .stmt(
            `UPDATE devices SET ${sql}, version = version + 1 WHERE id = ?${guard ? ` AND ${guard.sql}` : ''} RETURNING *`,
          )
          .get(...params, id, ...(guard?.params ?? [])) as Row | undefined;
        if (r) return R.deviceFromRow(r);
        if (guard && this.s.stmt('SELECT 1 FROM devices WHERE id = ?').get(id)) {
          throw new StoreConflictError(guard.conflict, {
            help: 'read the device again and retry',
          });
        }
        throw NOT_FOUND_DEVICE(id);
      },
      { conflict: 'another device already holds this certificate' },
    );
  }

  async reportPosture(
    id: string,
    posture: Parameters<DeviceStore['reportPosture']>[1],
    at: number,
  ): Promise<DeviceRecord> {
    await Promise.resolve();
    const t = R.time('at', at);
    return this.update(id, 'posture_json = ?, last_report_at = ?, updated_at = ?', [
      R.jsonObject('posture', posture),
      t,
      t,
    ]);
  }

  async updatePosture(
    id: string,
    expectedVersion: number,
    posture: Parameters<DeviceStore['updatePosture']>[2],
    at: number,
    options: Parameters<DeviceStore['updatePosture']>[4],
  ): Promise<DeviceRecord> {
    await Promise.resolve();
    const t = R.time('at', at);
    const version = R.positive('expectedVersion', expectedVersion);
    return this.update(
      id,
      'posture_json = ?, last_report_at = CASE WHEN ? THEN ? ELSE last_report_at END, updated_at = ?',
      [R.jsonObject('posture', posture), options.touchReport ? 1 : 0, t, t],
      {
        sql: 'version = ?',
        params: [version],
        conflict: `device \`${id}\` changed since version ${version}`,
      },
    );
  }

  async setState(
    id: string,
    state: Parameters<DeviceStore['setState']>[1],
    at: number,
  ): Promise<DeviceRecord> {
    await Promise.resolve();
    return this.update(id, 'state = ?, updated_at = ?', [R.deviceState(state), R.time('at', at)]);
  }

  async setCertificate(
    id: string,
    certificate: DeviceCertificate | null,
    at: number,
    options: Parameters<DeviceStore['setCertificate']>[3] = {},
  ): Promise<DeviceRecord> {
    await Promise.resolve();
    const serial = certificate === null ? null : R.serial(certificate.serial);
    const fingerprint =
      certificate?.fingerprint == null ? null : R.fingerprint(certificate.fingerprint);
    const expected = options.expectedSerial;
    return this.update(
      id,
      `previous_certificate_serial = CASE WHEN certificate_serial IS NOT NULL AND certificate_serial IS NOT ?
         THEN certificate_serial ELSE previous_certificate_serial END,
       certificate_serial = ?, certificate_fingerprint = ?, updated_at = ?`,
      [serial, serial, fingerprint, R.time('at', at)],
      expected === undefined
        ? undefined
        : {
            sql: 'certificate_serial IS ?',
            params: [expected === null ? null : expected.toLowerCase()],
            conflict: `the certificate of device \`${id}\` changed meanwhile`,
          },
    );
  }

  async delete(id: string): Promise<boolean> {
    await Promise.resolve();
    return this.s.exec('DELETE FROM devices WHERE id = ?', [id]) === 1;
  }
}

class SqlitePostureHistory implements DevicePostureHistoryStore {
  constructor(private readonly s: SqliteStore) {}

  async append(entry: PostureHistoryRecord, keep: number): Promise<void> {
    await Promise.resolve();
    const deviceId = R.key('deviceId', entry.deviceId);
    const n = R.positive('keep', keep);
    const params = [
      deviceId,
      R.time('at', entry.at),
      R.key('source', entry.source),
      R.optionalInteger('seq', entry.seq),
      R.jsonObject('attributes', entry.attributes),
      R.optionalJsonObject('unavailable', entry.unavailable),
      entry.tier === null ? null : R.key('tier', entry.tier),
      R.stringList('changes', entry.changes),
    ];
    this.s.transaction(
      () => {
        this.s
          .stmt(
            `INSERT INTO device_posture_history (device_id, at, source, seq, attributes_json, unavailable_json, tier, changes_json)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(...params);
        this.s
          .stmt(
            `DELETE FROM device_posture_history WHERE device_id = ? AND id NOT IN (
               SELECT id FROM device_posture_history WHERE device_id = ? ORDER BY at DESC, id DESC LIMIT ?)`,
          )
          .run(deviceId, deviceId, n);
      },
      { fk: `device \`${deviceId}\` does not exist` },
    );
  }

  async list(deviceId: string, limit?: number): Promise<readonly PostureHistoryRecord[]> {
    await Promise.resolve();
    const n = clampLimit(limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    return this.s
      .all(
        'SELECT * FROM device_posture_history WHERE device_id = ? ORDER BY at DESC, id DESC LIMIT ?',
        [deviceId, n],
      )
      .map(R.postureHistoryFromRow);
  }

  async deleteDevice(deviceId: string): Promise<number> {
    await Promise.resolve();
    return this.s.exec('DELETE FROM device_posture_history WHERE device_id = ?', [deviceId]);
  }
}

class SqliteEnrollmentCodes implements EnrollmentCodeStore {
  constructor(private readonly s: SqliteStore) {}

  async put(record: EnrollmentCodeRecord): Promise<void> {
    await Promise.resolve();
    this.s.exec(
      `INSERT INTO enrollment_codes (code_hash, user_id, email, created_at, expires_at, used_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      [
        R.key('codeHash', record.codeHash),
        R.key('userId', record.userId),
        R.optionalText('email', record.email),
        R.time('createdAt', record.createdAt),
        R.time('expiresAt', record.expiresAt),
        R.optionalTime('usedAt', record.usedAt),
      ],
      {
        fk: `user \`${record.userId}\` does not exist`,
        conflict: 'an enrollment code with this hash already exists',
      },
    );
  }

  async get(codeHash: string): Promise<EnrollmentCodeRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM enrollment_codes WHERE code_hash = ?', [codeHash]);
    return r && R.enrollmentCodeFromRow(r);
  }

  async consume(codeHash: string, at: number): Promise<EnrollmentCodeRecord | undefined> {
    await Promise.resolve();
    const t = R.time('at', at);
    const r = this.s.get(
      `UPDATE enrollment_codes SET used_at = ?
       WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING *`,
      [t, codeHash, t],
    );
    return r && R.enrollmentCodeFromRow(r);
  }

  async deleteExpired(now: number): Promise<number> {
    await Promise.resolve();
    return this.s.exec('DELETE FROM enrollment_codes WHERE expires_at <= ?', [R.time('now', now)]);
  }
}

class SqliteCertificates implements CertificateStore {
  constructor(private readonly s: SqliteStore) {}

  async create(cert: NewCertificate): Promise<CertificateRecord> {
    await Promise.resolve();
    const serial = R.serial(cert.serial);
    const row = this.s.run(
      () =>
        this.s
          .stmt(
            `INSERT INTO certificates (serial, subject, kind, not_before, not_after, revoked_at, revocation_reason,
               der, names_json, issuer_serial)
             VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?) RETURNING *`,
          )
          .get(
            serial,
            R.text('subject', cert.subject),
            R.certificateKind(cert.kind),
            R.time('notBefore', cert.notBefore),
            R.time('notAfter', cert.notAfter),
            R.optionalDer(cert.der),
            R.optionalNameList(cert.names),
            cert.issuerSerial == null ? null : R.serial(cert.issuerSerial),
          ) as Row,
      { conflict: `a certificate with serial \`${serial}\` already exists` },
    );
    return R.certificateFromRow(row);
  }

  async get(serial: string): Promise<CertificateRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM certificates WHERE serial = ?', [serial.toLowerCase()]);
    return r && R.certificateFromRow(r);
  }

  async list(filter: CertificateFilter = {}): Promise<CertificateList> {
    await Promise.resolve();
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.kind !== undefined) {
      where.push('kind = ?');
      params.push(R.certificateKind(filter.kind));
    }
    if (filter.revoked !== undefined)
      where.push(filter.revoked ? 'revoked_at IS NOT NULL' : 'revoked_at IS NULL');
    if (filter.subject !== undefined) {
      where.push('subject = ?');
      params.push(filter.subject);
    }
    if (filter.notExpiredAt !== undefined) {
      where.push('not_after >= ?');
      params.push(R.time('notExpiredAt', filter.notExpiredAt));
    }
    const after = R.decodeCursor(filter.cursor);
    if (after !== undefined) {
      where.push('serial > ?');
      params.push(after);
    }
    const limit =
      filter.limit === undefined ? undefined : clampLimit(filter.limit, 0, MAX_LIST_LIMIT);
    const sql = `SELECT * FROM certificates ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY serial${limit === undefined ? '' : ' LIMIT ?'}`;
    const rows = this.s
      .all(sql, limit === undefined ? params : [...params, limit + 1])
      .map(R.certificateFromRow);
    return certificatePage(rows, limit);
  }

  async revoke(serial: string, at: number, reason: string): Promise<CertificateRecord> {
    await Promise.resolve();
    const r = this.s.get(
      `UPDATE certificates SET revoked_at = coalesce(revoked_at, ?), revocation_reason = coalesce(revocation_reason, ?)
       WHERE serial = ? RETURNING *`,
      [R.time('at', at), R.text('reason', reason, 64), serial.toLowerCase()],
    );
    if (!r) throw new StoreNotFoundError(`certificate \`${serial}\` does not exist`);
    return R.certificateFromRow(r);
  }
}

class SqliteConfigVersions implements ConfigVersionStore {
  constructor(private readonly s: SqliteStore) {}

  async append(input: Parameters<ConfigVersionStore['append']>[0]): Promise<ConfigVersionRecord> {
    await Promise.resolve();
    const content = R.text('content', input.content, R.MAX_CONTENT_BYTES, true);
    const author = R.text('author', input.author, 320);
    const at = R.time('at', input.at);
    const row = this.s.transaction(() => {
      const top = this.s
        .stmt('SELECT coalesce(max(version), 0) AS v FROM config_versions')
        .get() as Row;
      const latest = Number(top.v);
      if (input.expectedLatest !== undefined && input.expectedLatest !== latest) {
        throw new StoreConflictError(
          `the latest config version is ${latest}, not ${input.expectedLatest}: someone else changed it`,
          { help: 'reload the current version and apply your change again' },
        );
      }
      return this.s
        .stmt(
          'INSERT INTO config_versions (version, content, checksum, author, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *',
        )
        .get(latest + 1, content, R.sha256Hex(content), author, at) as Row;
    });
    return R.configVersionFromRow(row);
  }

  async get(version: number): Promise<ConfigVersionRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM config_versions WHERE version = ?', [version]);
    return r && R.configVersionFromRow(r);
  }

  async latest(): Promise<ConfigVersionRecord | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT * FROM config_versions ORDER BY version DESC LIMIT 1');
    return r && R.configVersionFromRow(r);
  }

  async list(limit?: number): Promise<readonly ConfigVersionRecord[]> {
    await Promise.resolve();
    const n = clampLimit(limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    return this.s
      .all('SELECT * FROM config_versions ORDER BY version DESC LIMIT ?', [n])
      .map(R.configVersionFromRow);
  }
}

class SqliteSettings implements SettingsStore {
  constructor(private readonly s: SqliteStore) {}

  async get(key: string): Promise<string | undefined> {
    await Promise.resolve();
    const r = this.s.get('SELECT value FROM settings WHERE key = ?', [key]);
    return r === undefined ? undefined : String(r.value);
  }

  async set(key: string, value: string, at: number): Promise<void> {
    await Promise.resolve();
    this.s.exec(
      `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [R.key('key', key), R.text('value', value, R.MAX_CONTENT_BYTES, true), R.time('at', at)],
    );
  }

  async setIfAbsent(key: string, value: string, at: number): Promise<boolean> {
    await Promise.resolve();
    return (
      this.s.exec(
        'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING',
        [R.key('key', key), R.text('value', value, R.MAX_CONTENT_BYTES, true), R.time('at', at)],
      ) === 1
    );
  }

  async delete(key: string): Promise<boolean> {
    await Promise.resolve();
    return this.s.exec('DELETE FROM settings WHERE key = ?', [key]) === 1;
  }

  async list(prefix = ''): Promise<ReadonlyMap<string, string>> {
    await Promise.resolve();
    const rows = this.s.all(
      'SELECT key, value FROM settings WHERE substr(key, 1, length(?)) = ? ORDER BY key',
      [prefix, prefix],
    );
    return new Map(rows.map((r) => [String(r.key), String(r.value)]));
  }
}

const AUDIT_INSERT = `INSERT INTO audit_records (seq, id, time, kind, user_id, device_id, route, decision, body, prev_hash, hash)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

class SqliteAudit implements AuditStore {
  constructor(private readonly s: SqliteStore) {}

  async appendBatch(
    drafts: readonly AuditDraft[],
    link: AuditLinker,
  ): Promise<readonly AuditRow[]> {
    await Promise.resolve();
    const first = drafts[0];
    if (first === undefined) return [];
    return this.s.transaction(
      () => {
        const existing = this.s.stmt('SELECT seq FROM audit_records WHERE id = ?').get(first.id) as
          Row | undefined;
        if (existing) {
          return (
            this.s
              .stmt('SELECT * FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?')
              .all(existing.seq, drafts.length) as Row[]
          ).map(R.auditFromRow);
        }
        const headRow = this.s.stmt('SELECT seq, hash FROM audit_head WHERE id = 1').get() as Row;
        const head: AuditHead = { seq: Number(headRow.seq), hash: String(headRow.hash) };
        const rows = link(head, drafts);
        R.checkLinkedBatch(head, drafts, rows);
        const insert = this.s.stmt(AUDIT_INSERT);
        for (const r of rows) {
          insert.run(
            r.seq,
            r.id,
            r.time,
            r.kind,
            r.userId,
            r.deviceId,
            r.route,
            r.decision,
            r.body,
            r.prevHash,
            r.hash,
          );
        }
        const last = rows[rows.length - 1];
        if (last)
          this.s
            .stmt('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1')
            .run(last.seq, last.hash);
        return rows;
      },
      { conflict: 'an audit record with this id or sequence number already exists' },
    );
  }

  async head(): Promise<AuditHead> {
    await Promise.resolve();
    const r = this.s.get('SELECT seq, hash FROM audit_head WHERE id = 1');
    return { seq: Number(r?.seq ?? 0), hash: typeof r?.hash === 'string' ? r.hash : '' };
  }

  async range(fromSeq: number, limit: number): Promise<readonly AuditRow[]> {
    await Promise.resolve();
    return this.s
      .all('SELECT * FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?', [fromSeq, limit])
      .map(R.auditFromRow);
  }

  async query(filter: AuditFilter): Promise<readonly AuditRow[]> {
    await Promise.resolve();
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      where.push(sql);
      params.push(v);
    };
    if (filter.userId !== undefined) add('user_id = ?', filter.userId);
    if (filter.deviceId !== undefined) add('device_id = ?', filter.deviceId);
    if (filter.route !== undefined) add('route = ?', filter.route);
    if (filter.decision !== undefined) add('decision = ?', filter.decision);
    if (filter.kind !== undefined) add('kind = ?', filter.kind);
    if (filter.since !== undefined) add('time >= ?', filter.since);
    if (filter.until !== undefined) add('time < ?', filter.until);
    if (filter.afterSeq !== undefined) add('seq > ?', filter.afterSeq);
    if (filter.beforeSeq !== undefined) add('seq < ?', filter.beforeSeq);
    const limit = clampLimit(filter.limit, DEFAULT_LIST_LIMIT, MAX_AUDIT_QUERY_LIMIT);
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const sql = `SELECT * FROM audit_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT ?`;
    return this.s.all(sql, [...params, limit]).map(R.auditFromRow);
  }

  async bounds(): Promise<{ first: number; last: number } | null> {
    await Promise.resolve();
    const r = this.s.get('SELECT min(seq) AS first, max(seq) AS last FROM audit_records');
    if (!r || r.first === null || r.first === undefined) return null;
    return { first: Number(r.first), last: Number(r.last) };
  }

  async addCheckpoint(c: NewAuditCheckpoint): Promise<AuditCheckpointRow> {
    await Promise.resolve();
    const r = this.s.get(
      'INSERT INTO audit_checkpoints (seq, hash, time, kind, key_id, signature) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
      [c.seq, c.hash, c.time, c.kind, c.keyId, c.signature],
    );
    return R.checkpointFromRow(r ?? {});
  }

  async checkpoints(): Promise<readonly AuditCheckpointRow[]> {
    await Promise.resolve();
    return this.s.all('SELECT * FROM audit_checkpoints ORDER BY seq, id').map(R.checkpointFromRow);
  }

  async lastSeqBefore(time: number): Promise<number> {
    await Promise.resolve();
    const r = this.s.get('SELECT min(seq) AS m FROM audit_records WHERE time >= ?', [time]);
    if (r && r.m !== null && r.m !== undefined) return Number(r.m) - 1;
    const b = this.s.get('SELECT max(seq) AS m FROM audit_records');
    return Number(b?.m ?? 0);
  }

  async prune(anchor: NewAuditCheckpoint): Promise<number> {
    await Promise.resolve();
    return this.s.transaction(() => {
      this.s
        .stmt(
          'INSERT INTO audit_checkpoints (seq, hash, time, kind, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(anchor.seq, anchor.hash, anchor.time, anchor.kind, anchor.keyId, anchor.signature);
      const deleted = this.s
        .stmt('DELETE FROM audit_records WHERE seq <= ?')
        .run(anchor.seq).changes;
      this.s.stmt('DELETE FROM audit_checkpoints WHERE seq < ?').run(anchor.seq);
      return deleted;
    });
  }
}
