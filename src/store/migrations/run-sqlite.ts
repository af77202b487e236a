/**
 * Applies migrations to a SQLite database inside one `BEGIN IMMEDIATE` transaction: the first
 * process to get the write lock migrates, the others wait (busy timeout), then find nothing to do.
 */
import type Database from 'better-sqlite3';
import { StoreError, StoreMigrationError } from '../store.js';
import { migrationChecksum, migrations, type Migration } from './index.js';

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at INTEGER NOT NULL
)`;

interface AppliedRow {
  version: number;
  checksum: string;
}

/** Returns the schema version after migrating. */
export function migrateSqlite(
  db: Database.Database,
  now: number,
  list: readonly Migration[] = migrations,
): number {
  const run = db.transaction(() => {
    db.exec(CREATE_TABLE);
    const applied = new Map<number, string>();
    for (const r of db
      .prepare('SELECT version, checksum FROM schema_migrations')
      .all() as AppliedRow[]) {
      applied.set(r.version, r.checksum);
    }
    checkApplied(applied, list, (m) => m.sqlite);
    const insert = db.prepare(
      'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)',
    );
    for (const m of list) {
      if (applied.has(m.version)) continue;
      try {
        db.exec(m.sqlite);
      } catch (err) {
        throw new StoreMigrationError(
          `migration ${m.version} (${m.name}) failed: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      insert.run(m.version, m.name, migrationChecksum(m.sqlite), now);
    }
    return list.length;
  });
  return run.immediate();
}

/** Shared by both runners: refuses a newer schema and a migration edited after it was applied. */
export function checkApplied(
  applied: ReadonlyMap<number, string>,
  list: readonly Migration[],
  sqlOf: (m: Migration) => string,
): void {
  const known = new Map(list.map((m) => [m.version, m]));
  for (const [version, checksum] of applied) {
    const m = known.get(version);
    if (!m) {
      throw new StoreError(
        'ZT_STORE_SCHEMA_TOO_NEW',
        `the database has schema version ${version}, newer than this ztgate knows (${list.length})`,
        { help: 'run a ztgate at least as new as the one that last opened this database' },
      );
    }
    if (migrationChecksum(sqlOf(m)) !== checksum) {
      throw new StoreMigrationError(
        `migration ${version} (${m.name}) differs from the one applied to this database`,
        { help: 'released migrations must never change; add a new migration instead' },
      );
    }
  }
}
