/**
 * The cluster store: PostgreSQL through a `pg` Pool, shared by every replica.
 *
 * Fail closed and recover by itself: a connection that breaks (server restart, network cut,
 * `pg_terminate_backend`) is discarded by the pool and the call fails with `ZT_STORE_UNAVAILABLE`;
 * the next call opens a fresh connection. Nothing is cached, so a replica never serves stale state
 * from a store it cannot reach.
 *
 * Audit appends from several replicas are serialized by a row lock on the single-row `audit_head`
 * table, taken in the same transaction as the insert: the chain stays linear across processes.
 */
import pg from 'pg';
import * as R from '../records.js';
import {
  DEFAULT_LIST_LIMIT,
  MAX_AUDIT_QUERY_LIMIT,
  MAX_LIST_LIMIT,
  StoreConflictError,
  StoreError,
  StoreInvalidRecordError,
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
import { migratePostgres } from '../migrations/run-postgres.js';

export interface PostgresStoreOptions {
  readonly kind: 'postgres';
  /** `postgres://user@host:5432/db` */
  readonly url: string;
  /** default 10 */
  readonly poolSize?: number;
  /** how long to wait for a connection before failing with `ZT_STORE_UNAVAILABLE`; default 3000 ms */
  readonly connectTimeoutMs?: number;
  /** server-side statement timeout; default 10000 ms */
  readonly statementTimeoutMs?: number;
  readonly now?: () => number;
}

type Row = Record<string, unknown>;
type Params = readonly unknown[];
type Queryable = Pick<pg.PoolClient, 'query'>;
interface Context {
  readonly fk?: string;
  readonly conflict?: string;
}

/** Lock key serializing config version appends. */
const CONFIG_LOCK_KEY = '8245963117006118914';

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(options);
  try {
    await migratePostgres(store.pool, store.now);
  } catch (err) {
    await store.close();
    throw store.translate(err);
  }
  return store;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;
  readonly now: () => number;
  readonly users: UserStore;
  readonly groups: GroupStore;
  readonly sessions: SessionStore;
  readonly devices: DeviceStore;
  readonly enrollmentCodes: EnrollmentCodeStore;
  readonly certificates: CertificateStore;
  readonly configVersions: ConfigVersionStore;
  readonly settings: SettingsStore;
  readonly audit: AuditStore;
  private closed = false;
  /** the last connection-level error, for diagnostics; never contains credentials */
  lastError: string | null = null;

  constructor(options: PostgresStoreOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new StoreError('ZT_STORE_INVALID_OPTIONS', 'the PostgreSQL URL is malformed');
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      throw new StoreError(
        'ZT_STORE_INVALID_OPTIONS',
        `a PostgreSQL URL starts with \`postgres://\`, not \`${url.protocol}//\``,
      );
    }
    this.now = options.now ?? Date.now;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      application_name: 'ztgate',
    });
    // An idle connection that dies (server restart, pg_terminate_backend) is removed by the pool;
    // without a listener the error would crash the process.
    this.pool.on('error', (err) => {
      this.lastError = err.message;
    });
    this.users = new PgUsers(this);
    this.groups = new PgGroups(this);
    this.sessions = new PgSessions(this);
    this.devices = new PgDevices(this);
    this.enrollmentCodes = new PgEnrollmentCodes(this);
    this.certificates = new PgCertificates(this);
    this.configVersions = new PgConfigVersions(this);
    this.settings = new PgSettings(this);
    this.audit = new PgAudit(this);
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('ZT_STORE_CLOSED', 'the store is closed');
  }

  async all(sql: string, params: Params = [], context?: Context): Promise<Row[]> {
    this.checkOpen();
    try {
      const res = await this.pool.query<Row>(sql, params as unknown[]);
      return res.rows;
    } catch (err) {
      throw this.translate(err, context);
    }
  }

  async get(sql: string, params: Params = [], context?: Context): Promise<Row | undefined> {
    return (await this.all(sql, params, context))[0];
  }

  async exec(sql: string, params: Params = [], context?: Context): Promise<number> {
    this.checkOpen();
    try {
      const res = await this.pool.query(sql, params as unknown[]);
      return res.rowCount ?? 0;
    } catch (err) {
      throw this.translate(err, context);
    }
  }

  /** Runs `work` in a transaction on one connection; a broken connection is discarded. */
  async transaction<T>(work: (c: Queryable) => Promise<T>, context?: Context): Promise<T> {
    this.checkOpen();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.translate(err, context);
    }
    let discard: Error | undefined;
    try {
      await client.query('BEGIN');
      const out = await work(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        discard = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw this.translate(err, context);
    } finally {
      client.release(discard);
    }
  }

  translate(err: unknown, context?: Context): Error {
    if (err instanceof StoreError) return err;
    const code = (err as { code?: unknown } | null)?.code;
    const message = err instanceof Error ? err.message : String(err);
    if (typeof code === 'string') {
      if (code === '23505') {
        return new StoreConflictError(
          context?.conflict ?? 'a record with this key already exists',
          { cause: err },
        );
      }
      if (code === '23503') {
        return new StoreNotFoundError(context?.fk ?? 'a referenced record does not exist', {
          cause: err,
        });
      }
      if (code === '40001' || code === '40P01') {
        return new StoreConflictError('a concurrent change won; try again', { cause: err });
      }
      if (code === '22P02' || code === '22003' || code === '23514' || code === '22021') {
        return new StoreInvalidRecordError(`the database refused a value: ${message}`, {
          cause: err,
        });
      }
      if (
        code.startsWith('08') ||
        code.startsWith('57P') ||
        code.startsWith('53') ||
        code === '3D000' ||
        code === '55000' ||
        code === '57014' ||
        /^E[A-Z]+$/.test(code)
      ) {
        this.lastError = message;
        return new StoreUnavailableError(`PostgreSQL is not available: ${message}`, { cause: err });
      }
    }
    if (/connection|terminated|timeout|ECONN|socket|Client has encountered/i.test(message)) {
      this.lastError = message;
      return new StoreUnavailableError(`PostgreSQL is not available: ${message}`, { cause: err });
    }
    if (/Cannot use a pool after calling end/.test(message)) {
      return new StoreError('ZT_STORE_CLOSED', 'the store is closed', { cause: err });
    }
    return new StoreError('ZT_STORE_FAILED', `PostgreSQL reported an error: ${message}`, {
      cause: err,
    });
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      return false;
    }
  }

  async schemaVersion(): Promise<number> {
    const r = await this.get('SELECT max(version) AS v FROM schema_migrations');
    return Number(r?.v ?? 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

function page<T>(rows: readonly T[], limit: number, keyOf: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: last === undefined ? null : R.encodeCursor(keyOf(last)) };
}

function one<T>(row: Row | undefined, map: (r: Row) => T, missing: () => Error): T {
  if (!row) throw missing();
  return map(row);
}

// -----------------------------------------------------------------------------------------------

class PgUsers implements UserStore {
  constructor(private readonly s: PostgresStore) {}

  async create(user: Parameters<UserStore['create']>[0]): Promise<UserRecord> {
    const email = R.email(user.email);
    const at = R.time('at', user.at);
    const row = await this.s.get(
      `INSERT INTO users (id, email, email_key, display_name, groups_json, disabled, password_hash, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $8) RETURNING *`,
      [
        R.key('id', user.id),
        email,
        emailKey(email),
        R.text('displayName', user.displayName ?? '', undefined, true),
        JSON.stringify(R.names('groups', user.groups ?? [])),
        user.disabled === true,
        R.optionalText('passwordHash', user.passwordHash),
        at,
      ],
      { conflict: `a user with id \`${user.id}\` or email \`${email}\` already exists` },
    );
    return R.userFromRow(row ?? {});
  }

  async get(id: string): Promise<UserRecord | undefined> {
    const r = await this.s.get('SELECT * FROM users WHERE id = $1', [id]);
    return r && R.userFromRow(r);
  }

  async getByEmail(email: string): Promise<UserRecord | undefined> {
    const r = await this.s.get('SELECT * FROM users WHERE email_key = $1', [emailKey(email)]);
    return r && R.userFromRow(r);
  }

  async list(options: ListOptions = {}): Promise<Page<UserRecord>> {
    const limit = clampLimit(options.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const after = R.decodeCursor(options.cursor) ?? '';
    const rows = (
      await this.s.all(
        'SELECT * FROM users WHERE email_key COLLATE "C" > $1 ORDER BY email_key COLLATE "C" LIMIT $2',
        [after, limit + 1],
      )
    ).map(R.userFromRow);
    return page(rows, limit, (u) => emailKey(u.email));
  }

  async listByGroup(group: string): Promise<readonly UserRecord[]> {
    const rows = await this.s.all(
      'SELECT * FROM users WHERE groups_json @> jsonb_build_array($1::text) ORDER BY email_key COLLATE "C"',
      [group],
    );
    return rows.map(R.userFromRow);
  }

  async update(id: string, patch: Parameters<UserStore['update']>[1]): Promise<UserRecord> {
    const email = patch.email === undefined ? undefined : R.email(patch.email);
    const row = await this.s.get(
      `UPDATE users SET
         email = coalesce($1, email), email_key = coalesce($2, email_key),
         display_name = coalesce($3, display_name), groups_json = coalesce($4::jsonb, groups_json),
         disabled = coalesce($5, disabled),
         password_hash = CASE WHEN $6 THEN $7 ELSE password_hash END,
         updated_at = $8
       WHERE id = $9 RETURNING *`,
      [
        email ?? null,
        email === undefined ? null : emailKey(email),
        patch.displayName === undefined
          ? null
          : R.text('displayName', patch.displayName, undefined, true),
        patch.groups === undefined ? null : JSON.stringify(R.names('groups', patch.groups)),
        patch.disabled ?? null,
        patch.passwordHash !== undefined,
        patch.passwordHash === undefined
          ? null
          : R.optionalText('passwordHash', patch.passwordHash),
        R.time('at', patch.at),
        id,
      ],
      { conflict: `a user with email \`${email ?? ''}\` already exists` },
    );
    return one(row, R.userFromRow, () => new StoreNotFoundError(`user \`${id}\` does not exist`));
  }

  async delete(id: string): Promise<boolean> {
    return (await this.s.exec('DELETE FROM users WHERE id = $1', [id])) === 1;
  }
}

class PgGroups implements GroupStore {
  constructor(private readonly s: PostgresStore) {}

  async create(group: Parameters<GroupStore['create']>[0]): Promise<GroupRecord> {
    const row = await this.s.get(
      'INSERT INTO groups (name, description, created_at) VALUES ($1, $2, $3) RETURNING *',
      [
        R.key('name', group.name),
        R.text('description', group.description ?? '', undefined, true),
        R.time('at', group.at),
      ],
      { conflict: `group \`${group.name}\` already exists` },
    );
    return R.groupFromRow(row ?? {});
  }

  async get(name: string): Promise<GroupRecord | undefined> {
    const r = await this.s.get('SELECT * FROM groups WHERE name = $1', [name]);
    return r && R.groupFromRow(r);
  }

  async list(): Promise<readonly GroupRecord[]> {
    return (await this.s.all('SELECT * FROM groups ORDER BY name COLLATE "C"')).map(R.groupFromRow);
  }

  async delete(name: string): Promise<boolean> {
    return (await this.s.exec('DELETE FROM groups WHERE name = $1', [name])) === 1;
  }
}

class PgSessions implements SessionStore {
  constructor(private readonly s: PostgresStore) {}

  async create(session: Parameters<SessionStore['create']>[0]): Promise<SessionRecord> {
    const deviceId = session.deviceId ?? null;
    const row = await this.s.get(
      `INSERT INTO sessions (id_hash, user_id, device_id, created_at, last_seen_at, expires_at,
         idle_expires_at, mfa_methods_json, mfa_at, revoked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, NULL) RETURNING *`,
      [
        R.key('idHash', session.idHash),
        R.key('userId', session.userId),
        deviceId === null ? null : R.key('deviceId', deviceId),
        R.time('createdAt', session.createdAt),
        R.time('lastSeenAt', session.lastSeenAt),
        R.time('expiresAt', session.expiresAt),
        R.time('idleExpiresAt', session.idleExpiresAt),
        JSON.stringify(R.names('mfaMethods', session.mfaMethods ?? [])),
        R.optionalTime('mfaAt', session.mfaAt),
      ],
      {
        fk: `user \`${session.userId}\`${deviceId === null ? '' : ` or device \`${deviceId}\``} does not exist`,
        conflict: 'a session with this id already exists',
      },
    );
    return R.sessionFromRow(row ?? {});
  }

  async get(idHash: string): Promise<SessionRecord | undefined> {
    const r = await this.s.get('SELECT * FROM sessions WHERE id_hash = $1', [idHash]);
    return r && R.sessionFromRow(r);
  }

  async listByUser(userId: string): Promise<readonly SessionRecord[]> {
    const rows = await this.s.all(
      'SELECT * FROM sessions WHERE user_id = $1 ORDER BY created_at, id_hash COLLATE "C"',
      [userId],
    );
    return rows.map(R.sessionFromRow);
  }

  async touch(idHash: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean> {
    const n = await this.s.exec(
      'UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id_hash = $3 AND revoked_at IS NULL',
      [R.time('lastSeenAt', lastSeenAt), R.time('idleExpiresAt', idleExpiresAt), idHash],
    );
    return n === 1;
  }

  async recordMfa(idHash: string, methods: readonly string[], at: number): Promise<SessionRecord> {
    const r = await this.s.get(
      'UPDATE sessions SET mfa_methods_json = $1::jsonb, mfa_at = $2 WHERE id_hash = $3 RETURNING *',
      [JSON.stringify(R.names('methods', methods)), R.time('at', at), idHash],
    );
    return one(r, R.sessionFromRow, () => new StoreNotFoundError('the session does not exist'));
  }

  async revoke(idHash: string, at: number): Promise<boolean> {
    const n = await this.s.exec(
      'UPDATE sessions SET revoked_at = $1 WHERE id_hash = $2 AND revoked_at IS NULL',
      [R.time('at', at), idHash],
    );
    return n === 1;
  }

  async revokeAllForUser(userId: string, at: number): Promise<number> {
    return this.s.exec(
      'UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL',
      [R.time('at', at), userId],
    );
  }

  async deleteExpired(now: number): Promise<number> {
    return this.s.exec('DELETE FROM sessions WHERE expires_at < $1 OR idle_expires_at < $1', [now]);
  }
}

/** Lock class for per-device posture history appends (`pg_advisory_xact_lock(class, hashtext(id))`). */
const HISTORY_LOCK_CLASS = 824596311;

class PgDevices implements DeviceStore {
  readonly history: DevicePostureHistoryStore;

  constructor(private readonly s: PostgresStore) {
    this.history = new PgPostureHistory(s);
  }

  async create(device: Parameters<DeviceStore['create']>[0]): Promise<DeviceRecord> {
    const at = R.time('enrolledAt', device.enrolledAt);
    const row = await this.s.get(
      `INSERT INTO devices (id, user_id, hostname, os, enrolled_at, last_report_at, certificate_serial,
         certificate_fingerprint, previous_certificate_serial, state, posture_json, updated_at, version)
       VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, NULL, $8, $9::jsonb, $5, 1) RETURNING *`,
      [
        R.key('id', device.id),
        R.key('userId', device.userId),
        R.text('hostname', device.hostname, undefined, true),
        R.text('os', device.os, undefined, true),
        at,
        device.certificateSerial == null ? null : R.serial(device.certificateSerial),
        device.certificateFingerprint == null ? null : R.fingerprint(device.certificateFingerprint),
        R.deviceState(device.state ?? 'pending'),
        R.jsonObject('posture', device.posture ?? {}),
      ],
      {
        fk: `user \`${device.userId}\` does not exist`,
        conflict: `device \`${device.id}\` or its certificate already exists`,
      },
    );
    return R.deviceFromRow(row ?? {});
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const r = await this.s.get('SELECT * FROM devices WHERE id = $1', [id]);
    return r && R.deviceFromRow(r);
  }

  async getByCertificateSerial(serial: string): Promise<DeviceRecord | undefined> {
    const r = await this.s.get(
      'SELECT * FROM devices WHERE certificate_serial = $1 ORDER BY id COLLATE "C" LIMIT 1',
      [serial.toLowerCase()],
    );
    return r && R.deviceFromRow(r);
  }

  async getByCertificateFingerprint(fingerprint: string): Promise<DeviceRecord | undefined> {
    const r = await this.s.get('SELECT * FROM devices WHERE certificate_fingerprint = $1', [
      R.fingerprintKey(fingerprint),
    ]);
    return r && R.deviceFromRow(r);
  }

  async listByUser(userId: string): Promise<readonly DeviceRecord[]> {
    const rows = await this.s.all(
      'SELECT * FROM devices WHERE user_id = $1 ORDER BY id COLLATE "C"',
      [userId],
    );
    return rows.map(R.deviceFromRow);
  }

  async listByHostname(
    hostname: string,
    options: Parameters<DeviceStore['listByHostname']>[1] = {},
  ): Promise<readonly DeviceRecord[]> {
    const limit = clampLimit(options.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const state = options.state === undefined ? null : R.deviceState(options.state);
    // lower() only folds ASCII here as in SQLite for the host names ztgate accepts (ASCII)
    const rows = await this.s.all(
      `SELECT * FROM devices WHERE lower(hostname) = lower($1) AND ($2::text IS NULL OR state = $2)
       ORDER BY id COLLATE "C" LIMIT $3`,
      [hostname, state, limit],
    );
    return rows.map(R.deviceFromRow);
  }

  async list(options: ListOptions = {}): Promise<Page<DeviceRecord>> {
    const limit = clampLimit(options.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const after = R.decodeCursor(options.cursor) ?? '';
    const rows = (
      await this.s.all(
        'SELECT * FROM devices WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2',
        [after, limit + 1],
      )
    ).map(R.deviceFromRow);
    return page(rows, limit, (d) => d.id);
  }

  /**
   * Every change goes through here: it moves `version` on. `set` and `guard` number their
   * parameters from $1; the guard's follow the set's and the id.
   */
  private async update(
    id: string,
    set: string,
    params: Params,
    guard?: { readonly sql: string; readonly params: Params; readonly conflict: string },
  ): Promise<DeviceRecord> {
    const idParam = params.length + 1;
    const r = await this.s.get(
      `UPDATE devices SET ${set}, version = version + 1 WHERE id = $${idParam}${guard ? ` AND ${guard.sql}` : ''} RETURNING *`,
      [...params, id, ...(guard?.params ?? [])],
      { conflict: 'another device already holds this certificate' },
    );
    if (r) return R.deviceFromRow(r);
    // Nothing matched: the device is gone, or (with a guard) it moved on. A row deleted in between
    // reads as gone, which is what a retry would find too.
    if (guard && (await this.s.get('SELECT 1 FROM devices WHERE id = $1', [id]))) {
      throw new StoreConflictError(guard.conflict, { help: 'read the device again and retry' });
    }
    throw new StoreNotFoundError(`device \`${id}\` does not exist`);
  }

  async reportPosture(
    id: string,
    posture: Parameters<DeviceStore['reportPosture']>[1],
    at: number,
  ): Promise<DeviceRecord> {
    const t = R.time('at', at);
    return this.update(id, 'posture_json = $1::jsonb, last_report_at = $2, updated_at = $2', [
      R.jsonObject('posture', posture),
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
    const t = R.time('at', at);
    const version = R.positive('expectedVersion', expectedVersion);
    return this.update(
      id,
      'posture_json = $1::jsonb, last_report_at = CASE WHEN $2 THEN $3 ELSE last_report_at END, updated_at = $3',
      [R.jsonObject('posture', posture), options.touchReport, t],
      {
        sql: 'version = $5',
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
    return this.update(id, 'state = $1, updated_at = $2', [R.deviceState(state), R.time('at', at)]);
  }

  async setCertificate(
    id: string,
    certificate: DeviceCertificate | null,
    at: number,
    options: Parameters<DeviceStore['setCertificate']>[3] = {},
  ): Promise<DeviceRecord> {
    const serial = certificate === null ? null : R.serial(certificate.serial);
    const fingerprint =
      certificate?.fingerprint == null ? null : R.fingerprint(certificate.fingerprint);
    const expected = options.expectedSerial;
    return this.update(
      id,
      `previous_certificate_serial = CASE WHEN certificate_serial IS NOT NULL
         AND certificate_serial IS DISTINCT FROM $1::text THEN certificate_serial ELSE previous_certificate_serial END,
       certificate_serial = $1::text, certificate_fingerprint = $2, updated_at = $3`,
      [serial, fingerprint, R.time('at', at)],
      expected === undefined
        ? undefined
        : {
            sql: 'certificate_serial IS NOT DISTINCT FROM $5::text',
            params: [expected === null ? null : expected.toLowerCase()],
            conflict: `the certificate of device \`${id}\` changed meanwhile`,
          },
    );
  }

  async delete(id: string): Promise<boolean> {
    return (await this.s.exec('DELETE FROM devices WHERE id = $1', [id])) === 1;
  }
}

class PgPostureHistory implements DevicePostureHistoryStore {
  constructor(private readonly s: PostgresStore) {}

  async append(entry: PostureHistoryRecord, keep: number): Promise<void> {
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
    await this.s.transaction(
      async (c) => {
        // appends of one device queue here, so the trim below sees every earlier entry
        await c.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [
          HISTORY_LOCK_CLASS,
          deviceId,
        ]);
        await c.query(
          `INSERT INTO device_posture_history (device_id, at, source, seq, attributes_json, unavailable_json, tier, changes_json)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8::jsonb)`,
          params,
        );
        await c.query(
          `DELETE FROM device_posture_history WHERE device_id = $1 AND id NOT IN (
             SELECT id FROM device_posture_history WHERE device_id = $1 ORDER BY at DESC, id DESC LIMIT $2)`,
          [deviceId, n],
        );
      },
      { fk: `device \`${deviceId}\` does not exist` },
    );
  }

  async list(deviceId: string, limit?: number): Promise<readonly PostureHistoryRecord[]> {
    const n = clampLimit(limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const rows = await this.s.all(
      'SELECT * FROM device_posture_history WHERE device_id = $1 ORDER BY at DESC, id DESC LIMIT $2',
      [deviceId, n],
    );
    return rows.map(R.postureHistoryFromRow);
  }

  async deleteDevice(deviceId: string): Promise<number> {
    return this.s.exec('DELETE FROM device_posture_history WHERE device_id = $1', [deviceId]);
  }
}

class PgEnrollmentCodes implements EnrollmentCodeStore {
  constructor(private readonly s: PostgresStore) {}

  async put(record: EnrollmentCodeRecord): Promise<void> {
    await this.s.exec(
      `INSERT INTO enrollment_codes (code_hash, user_id, email, created_at, expires_at, used_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
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
    const r = await this.s.get('SELECT * FROM enrollment_codes WHERE code_hash = $1', [codeHash]);
    return r && R.enrollmentCodeFromRow(r);
  }

  async consume(codeHash: string, at: number): Promise<EnrollmentCodeRecord | undefined> {
    // A concurrent consumer waits for the row lock, then re-checks `used_at IS NULL` on the
    // committed row (READ COMMITTED re-evaluation) and matches nothing: one winner.
    const r = await this.s.get(
      `UPDATE enrollment_codes SET used_at = $2
       WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING *`,
      [codeHash, R.time('at', at)],
    );
    return r && R.enrollmentCodeFromRow(r);
  }

  async deleteExpired(now: number): Promise<number> {
    return this.s.exec('DELETE FROM enrollment_codes WHERE expires_at <= $1', [R.time('now', now)]);
  }
}

class PgCertificates implements CertificateStore {
  constructor(private readonly s: PostgresStore) {}

  async create(cert: NewCertificate): Promise<CertificateRecord> {
    const serial = R.serial(cert.serial);
    const row = await this.s.get(
      `INSERT INTO certificates (serial, subject, kind, not_before, not_after, revoked_at, revocation_reason,
         der, names_json, issuer_serial)
       VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7::jsonb, $8) RETURNING *`,
      [
        serial,
        R.text('subject', cert.subject),
        R.certificateKind(cert.kind),
        R.time('notBefore', cert.notBefore),
        R.time('notAfter', cert.notAfter),
        R.optionalDer(cert.der),
        R.optionalNameList(cert.names),
        cert.issuerSerial == null ? null : R.serial(cert.issuerSerial),
      ],
      { conflict: `a certificate with serial \`${serial}\` already exists` },
    );
    return R.certificateFromRow(row ?? {});
  }

  async get(serial: string): Promise<CertificateRecord | undefined> {
    const r = await this.s.get('SELECT * FROM certificates WHERE serial = $1', [
      serial.toLowerCase(),
    ]);
    return r && R.certificateFromRow(r);
  }

  async list(filter: CertificateFilter = {}): Promise<CertificateList> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.kind !== undefined) add('kind = ?', R.certificateKind(filter.kind));
    if (filter.revoked !== undefined)
      where.push(filter.revoked ? 'revoked_at IS NOT NULL' : 'revoked_at IS NULL');
    if (filter.subject !== undefined) add('subject = ?', filter.subject);
    if (filter.notExpiredAt !== undefined)
      add('not_after >= ?', R.time('notExpiredAt', filter.notExpiredAt));
    const after = R.decodeCursor(filter.cursor);
    if (after !== undefined) add('serial COLLATE "C" > ?', after);
    const limit =
      filter.limit === undefined ? undefined : clampLimit(filter.limit, 0, MAX_LIST_LIMIT);
    if (limit !== undefined) params.push(limit + 1);
    const rows = await this.s.all(
      `SELECT * FROM certificates ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY serial COLLATE "C"${limit === undefined ? '' : ` LIMIT $${params.length}`}`,
      params,
    );
    return certificatePage(rows.map(R.certificateFromRow), limit);
  }

  async revoke(serial: string, at: number, reason: string): Promise<CertificateRecord> {
    const r = await this.s.get(
      `UPDATE certificates SET revoked_at = coalesce(revoked_at, $1), revocation_reason = coalesce(revocation_reason, $2)
       WHERE serial = $3 RETURNING *`,
      [R.time('at', at), R.text('reason', reason, 64), serial.toLowerCase()],
    );
    return one(
      r,
      R.certificateFromRow,
      () => new StoreNotFoundError(`certificate \`${serial}\` does not exist`),
    );
  }
}

class PgConfigVersions implements ConfigVersionStore {
  constructor(private readonly s: PostgresStore) {}

  async append(input: Parameters<ConfigVersionStore['append']>[0]): Promise<ConfigVersionRecord> {
    const content = R.text('content', input.content, R.MAX_CONTENT_BYTES, true);
    const author = R.text('author', input.author, 320);
    const at = R.time('at', input.at);
    const row = await this.s.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [CONFIG_LOCK_KEY]);
      const top = await c.query<{ v: string | number }>(
        'SELECT coalesce(max(version), 0) AS v FROM config_versions',
      );
      const latest = Number(top.rows[0]?.v ?? 0);
      if (input.expectedLatest !== undefined && input.expectedLatest !== latest) {
        throw new StoreConflictError(
          `the latest config version is ${latest}, not ${input.expectedLatest}: someone else changed it`,
          { help: 'reload the current version and apply your change again' },
        );
      }
      const res = await c.query<Row>(
        'INSERT INTO config_versions (version, content, checksum, author, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [latest + 1, content, R.sha256Hex(content), author, at],
      );
      return res.rows[0];
    });
    return R.configVersionFromRow(row ?? {});
  }

  async get(version: number): Promise<ConfigVersionRecord | undefined> {
    if (!Number.isSafeInteger(version)) return undefined;
    const r = await this.s.get('SELECT * FROM config_versions WHERE version = $1', [version]);
    return r && R.configVersionFromRow(r);
  }

  async latest(): Promise<ConfigVersionRecord | undefined> {
    const r = await this.s.get('SELECT * FROM config_versions ORDER BY version DESC LIMIT 1');
    return r && R.configVersionFromRow(r);
  }

  async list(limit?: number): Promise<readonly ConfigVersionRecord[]> {
    const n = clampLimit(limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
    const rows = await this.s.all('SELECT * FROM config_versions ORDER BY version DESC LIMIT $1', [
      n,
    ]);
    return rows.map(R.configVersionFromRow);
  }
}

class PgSettings implements SettingsStore {
  constructor(private readonly s: PostgresStore) {}

  async get(key: string): Promise<string | undefined> {
    const r = await this.s.get('SELECT value FROM settings WHERE key = $1', [key]);
    return r === undefined ? undefined : String(r.value);
  }

  async set(key: string, value: string, at: number): Promise<void> {
    await this.s.exec(
      `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [R.key('key', key), R.text('value', value, R.MAX_CONTENT_BYTES, true), R.time('at', at)],
    );
  }

  async setIfAbsent(key: string, value: string, at: number): Promise<boolean> {
    const n = await this.s.exec(
      'INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING',
      [R.key('key', key), R.text('value', value, R.MAX_CONTENT_BYTES, true), R.time('at', at)],
    );
    return n === 1;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.s.exec('DELETE FROM settings WHERE key = $1', [key])) === 1;
  }

  async list(prefix = ''): Promise<ReadonlyMap<string, string>> {
    const rows = await this.s.all(
      'SELECT key, value FROM settings WHERE starts_with(key, $1) ORDER BY key COLLATE "C"',
      [prefix],
    );
    return new Map(rows.map((r) => [String(r.key), String(r.value)]));
  }
}

/**
 * A batch goes to the server as one JSON array parameter: JSON.stringify and the server's JSON
 * parser are several times faster than encoding eleven PostgreSQL arrays of thousands of strings.
 */
const AUDIT_COLUMNS =
  'seq, id, time, kind, user_id, device_id, route, decision, body, prev_hash, hash';
const AUDIT_INSERT = `INSERT INTO audit_records (${AUDIT_COLUMNS})
  SELECT ${AUDIT_COLUMNS} FROM json_populate_recordset(NULL::audit_records, $1::json)`;

class PgAudit implements AuditStore {
  constructor(private readonly s: PostgresStore) {}

  async appendBatch(
    drafts: readonly AuditDraft[],
    link: AuditLinker,
  ): Promise<readonly AuditRow[]> {
    const first = drafts[0];
    if (first === undefined) return [];
    return this.s.transaction(
      async (c) => {
        // The head row lock serializes every writer of every replica; taken before the retry check
        // so that a commit still in flight from a previous attempt is seen.
        const headRes = await c.query<{ seq: string; hash: string }>(
          'SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE',
        );
        const headRow = headRes.rows[0];
        if (!headRow) throw new StoreError('ZT_STORE_FAILED', 'the audit head row is missing');
        const existing = await c.query<{ seq: string }>(
          'SELECT seq FROM audit_records WHERE id = $1',
          [first.id],
        );
        const existingSeq = existing.rows[0]?.seq;
        if (existingSeq !== undefined) {
          const res = await c.query<Row>(
            'SELECT * FROM audit_records WHERE seq >= $1 ORDER BY seq LIMIT $2',
            [existingSeq, drafts.length],
          );
          return res.rows.map(R.auditFromRow);
        }
        const head: AuditHead = { seq: Number(headRow.seq), hash: headRow.hash };
        const rows = link(head, drafts);
        R.checkLinkedBatch(head, drafts, rows);
        const payload = JSON.stringify(
          rows.map((r) => ({
            seq: r.seq,
            id: r.id,
            time: r.time,
            kind: r.kind,
            user_id: r.userId,
            device_id: r.deviceId,
            route: r.route,
            decision: r.decision,
            body: r.body,
            prev_hash: r.prevHash,
            hash: r.hash,
          })),
        );
        await c.query(AUDIT_INSERT, [payload]);
        const last = rows[rows.length - 1];
        if (last)
          await c.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [
            last.seq,
            last.hash,
          ]);
        return rows;
      },
      { conflict: 'an audit record with this id or sequence number already exists' },
    );
  }

  async head(): Promise<AuditHead> {
    const r = await this.s.get('SELECT seq, hash FROM audit_head WHERE id = 1');
    return { seq: Number(r?.seq ?? 0), hash: typeof r?.hash === 'string' ? r.hash : '' };
  }

  async range(fromSeq: number, limit: number): Promise<readonly AuditRow[]> {
    const rows = await this.s.all(
      'SELECT * FROM audit_records WHERE seq >= $1 ORDER BY seq LIMIT $2',
      [fromSeq, limit],
    );
    return rows.map(R.auditFromRow);
  }

  async query(filter: AuditFilter): Promise<readonly AuditRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
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
    params.push(limit);
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const rows = await this.s.all(
      `SELECT * FROM audit_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT $${params.length}`,
      params,
    );
    return rows.map(R.auditFromRow);
  }

  async bounds(): Promise<{ first: number; last: number } | null> {
    const r = await this.s.get('SELECT min(seq) AS first, max(seq) AS last FROM audit_records');
    if (!r || r.first === null || r.first === undefined) return null;
    return { first: Number(r.first), last: Number(r.last) };
  }

  async addCheckpoint(c: NewAuditCheckpoint): Promise<AuditCheckpointRow> {
    const r = await this.s.get(
      'INSERT INTO audit_checkpoints (seq, hash, time, kind, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
      [c.seq, c.hash, c.time, c.kind, c.keyId, c.signature],
    );
    return R.checkpointFromRow(r ?? {});
  }

  async checkpoints(): Promise<readonly AuditCheckpointRow[]> {
    return (await this.s.all('SELECT * FROM audit_checkpoints ORDER BY seq, id')).map(
      R.checkpointFromRow,
    );
  }

  async lastSeqBefore(time: number): Promise<number> {
    const r = await this.s.get('SELECT min(seq) AS m FROM audit_records WHERE time >= $1', [time]);
    if (r && r.m !== null && r.m !== undefined) return Number(r.m) - 1;
    const b = await this.s.get('SELECT max(seq) AS m FROM audit_records');
    return Number(b?.m ?? 0);
  }

  async prune(anchor: NewAuditCheckpoint): Promise<number> {
    return this.s.transaction(async (c) => {
      await c.query('SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE');
      await c.query(
        'INSERT INTO audit_checkpoints (seq, hash, time, kind, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)',
        [anchor.seq, anchor.hash, anchor.time, anchor.kind, anchor.keyId, anchor.signature],
      );
      const del = await c.query('DELETE FROM audit_records WHERE seq <= $1', [anchor.seq]);
      await c.query('DELETE FROM audit_checkpoints WHERE seq < $1', [anchor.seq]);
      return del.rowCount ?? 0;
    });
  }
}
