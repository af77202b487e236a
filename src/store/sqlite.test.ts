import assert from 'node:assert/strict';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from './open.js';
import { registerStoreContract } from './store.contract.js';
import { sqliteTestBackend, tempDir } from './testing.js';

registerStoreContract(sqliteTestBackend);

test('sqlite: the database file is created with mode 0600 in WAL mode; a looser file is tightened', async () => {
  const dataDir = join(tempDir(), 'data');
  const store = await openStore({ kind: 'sqlite', dataDir });
  const path = join(dataDir, 'ztgate.db');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  await store.close();
  const raw = new Database(path);
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  raw.close();
  chmodSync(path, 0o644);
  const again = await openStore({ kind: 'sqlite', dataDir });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  await again.close();
});

test('sqlite: with create: false a missing database is ZT_STORE_UNAVAILABLE and nothing is created', async () => {
  const dataDir = join(tempDir(), 'nothing-here');
  await assert.rejects(openStore({ kind: 'sqlite', dataDir, create: false }), {
    code: 'ZT_STORE_UNAVAILABLE',
  });
  assert.equal(existsSync(dataDir), false);
});
