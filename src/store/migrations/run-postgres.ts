/**
 * Applies migrations to PostgreSQL under a session advisory lock: replicas starting together queue
 * on the lock, the first one migrates (each migration in its own transaction) and the others find
 * nothing left to do. The lock is released when the connection ends, even if the process dies.
 */
import type { Pool } from 'pg';
import { StoreError, StoreMigrationError } from '../store.js';
import { migrationChecksum, migrations, type Migration } from './index.js';
import { checkApplied } from './run-sqlite.js';

/** `ztgate.migrations` as a stable 63-bit advisory lock key. */
export const MIGRATION_LOCK_KEY = '8245963117006118913';

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

export async function migratePostgres(
  pool: Pool,
  now: () => number,
  list: readonly Migration[] = migrations,
): Promise<number> {
  const client = await pool.connect();
  let broken: unknown;
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(CREATE_TABLE);
      const res = await client.query<{ version: number; checksum: string }>(
        'SELECT version, checksum FROM schema_migrations',
      );
      const applied = new Map(res.rows.map((r) => [Number(r.version), r.checksum]));
      checkApplied(applied, list, (m) => m.postgres);
      for (const m of list) {
        if (applied.has(m.version)) continue;
        try {
          await client.query('BEGIN');
          await client.query(m.postgres);
          await client.query(
            'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)',
            [m.version, m.name, migrationChecksum(m.postgres), now()],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          if (err instanceof StoreError) throw err;
          throw new StoreMigrationError(
            `migration ${m.version} (${m.name}) failed: ${err instanceof Error ? err.message : String(err)}`,
            { cause: err },
          );
        }
      }
      return list.length;
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY])
        .catch((err: unknown) => {
          broken = err;
        });
    }
  } catch (err) {
    broken = err;
    throw err;
  } finally {
    client.release(broken instanceof Error ? broken : undefined);
  }
}
