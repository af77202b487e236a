/**
 * Test backends for the store contract suite and for the audit tests that run on both databases.
 * Each test database is private: a temporary directory for SQLite, a uniquely named database
 * (`ztgate_test_<hex>`) created through the `test` database for PostgreSQL and dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import { migratePostgres } from './migrations/run-postgres.js';
import { migrateSqlite } from './migrations/run-sqlite.js';
import { openStore } from './open.js';
import type { Store } from './store.js';

export interface TestDatabase {
  /** a new store (a new connection or pool) on this database */
  open(): Promise<Store>;
  /** makes the database unreachable for stores already open, as an outage would */
  breakConnection(): Promise<void>;
  restoreConnection(): Promise<void>;
  /** applies the migrations up to `version` only, as an older ztgate would have (upgrade tests) */
  migrateTo(version: number): Promise<void>;
  /** runs raw SQL against the database behind the store's back (tamper tests) */
  exec(sql: string): Promise<void>;
  /** one value from raw SQL */
  scalar(sql: string): Promise<unknown>;
  drop(): Promise<void>;
}

export interface TestBackend {
  readonly name: 'sqlite' | 'postgres';
  createDatabase(): Promise<TestDatabase>;
}

const tempDirs: string[] = [];
let cleanupRegistered = false;

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = 'ztgate-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.on('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

export const sqliteTestBackend: TestBackend = {
  name: 'sqlite',
  createDatabase(): Promise<TestDatabase> {
    const root = tempDir();
    const dataDir = join(root, 'data');
    const path = join(dataDir, 'ztgate.db');
    const raw = <T>(work: (db: Database.Database) => T): T => {
      const db = new Database(path, { timeout: 5000 });
      try {
        return work(db);
      } finally {
        db.close();
      }
    };
    return Promise.resolve({
      open: () => openStore({ kind: 'sqlite', dataDir }),
      breakConnection: () => {
        renameSync(dataDir, `${dataDir}.away`);
        return Promise.resolve();
      },
      restoreConnection: () => {
        renameSync(`${dataDir}.away`, dataDir);
        return Promise.resolve();
      },
      migrateTo: (version) => {
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
        raw((db) => migrateSqlite(db, Date.now(), migrations.slice(0, version)));
        return Promise.resolve();
      },
      exec: (sql) => {
        raw((db) => db.exec(sql));
        return Promise.resolve();
      },
      scalar: (sql) => Promise.resolve(raw((db) => db.prepare(sql).pluck().get())),
      drop: () => {
        rmSync(root, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
};

/** The database through which test databases are created; `ZTGATE_TEST_PG_URL` overrides it. */
export const PG_ADMIN_URL =
  process.env.ZTGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function pgUrlFor(database: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Undefined when PostgreSQL answers, else the reason it does not. */
export async function postgresUnreachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message || String(err) : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function withAdmin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export const postgresTestBackend: TestBackend = {
  name: 'postgres',
  async createDatabase(): Promise<TestDatabase> {
    const name = `ztgate_test_${randomBytes(6).toString('hex')}`;
    await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
    const url = pgUrlFor(name);
    const onDb = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await work(client);
      } finally {
        await client.end();
      }
    };
    const terminate = (c: pg.Client) =>
      c.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
    return {
      open: () => openStore({ kind: 'postgres', url, poolSize: 4, connectTimeoutMs: 2000 }),
      breakConnection: () =>
        withAdmin(async (c) => {
          await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
          await terminate(c);
        }),
      restoreConnection: () =>
        withAdmin(async (c) => {
          await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
        }),
      migrateTo: async (version) => {
        const pool = new pg.Pool({ connectionString: url, max: 1 });
        try {
          await migratePostgres(pool, Date.now, migrations.slice(0, version));
        } finally {
          await pool.end();
        }
      },
      exec: (sql) => onDb(async (c) => void (await c.query(sql))),
      scalar: (sql) =>
        onDb(async (c) => {
          const res = await c.query({ text: sql, rowMode: 'array' });
          return (res.rows[0] as unknown[] | undefined)?.[0];
        }),
      drop: () =>
        withAdmin(async (c) => {
          await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => undefined);
          await terminate(c);
          await c.query(`DROP DATABASE IF EXISTS ${name}`);
        }),
    };
  },
};

/** Terminates every backend connection to a test database (the connections come back by themselves). */
export async function terminatePostgresConnections(url: string): Promise<number> {
  const name = new URL(url).pathname.slice(1);
  return withAdmin(async (c) => {
    const res = await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    return res.rowCount ?? 0;
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns whether it became true. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 5000,
  stepMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
