/**
 * The audit chain on PostgreSQL: two processes' worth of writers (two pools) appending to one
 * database keep one linear chain; the chain continues across restarts; a writer whose connections
 * are terminated recovers by itself. Fails under CI when PostgreSQL is unreachable, skips otherwise.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  PG_ADMIN_URL,
  postgresTestBackend,
  postgresUnreachable,
  tempDir,
} from '../store/testing.js';
import { loadAuditSigningKey } from './signing-key.js';
import { verifyAuditLog } from './verify.js';
import { AuditWriter } from './writer.js';
import { queryAudit } from './query.js';
import { applyRetention } from './retention.js';

const unreachable = await postgresUnreachable();
const key = loadAuditSigningKey(join(tempDir(), 'audit-signing-key.pem'), { create: true });

if (unreachable !== undefined && process.env.CI) {
  test('PostgreSQL is reachable for the audit tests', () => {
    assert.fail(`PostgreSQL is not reachable at ${PG_ADMIN_URL} (${unreachable}); CI must run it`);
  });
} else {
  describe(
    'audit on postgres',
    { skip: unreachable && `PostgreSQL is not reachable at ${PG_ADMIN_URL} (${unreachable})` },
    () => {
      test('two replicas appending at once keep one verifiable chain', async () => {
        const db = await postgresTestBackend.createDatabase();
        const [a, b] = await Promise.all([db.open(), db.open()]);
        assert.ok(a && b);
        try {
          const wa = new AuditWriter(a.audit, {
            batchWindowMs: 2,
            maxBatch: 50,
            signingKey: key,
            checkpointEveryRecords: 100,
          });
          const wb = new AuditWriter(b.audit, {
            batchWindowMs: 3,
            maxBatch: 70,
            signingKey: key,
            checkpointEveryRecords: 100,
          });
          for (let i = 0; i < 600; i++) {
            wa.append({ kind: 'access', actor: { user: 'a' }, path: `/a/${i}` });
            wb.append({ kind: 'access', actor: { user: 'b' }, path: `/b/${i}` });
            if (i % 100 === 0) await new Promise((r) => setImmediate(r));
          }
          // values a client controls cannot make a batch impossible to write (NUL, huge strings)
          wa.append({
            kind: 'access',
            actor: { user: 'nul\0user\uD800', device: '\uDC00x' },
            route: 'r'.repeat(10_000),
            path: '/\0',
          });
          await Promise.all([wa.close(), wb.close()]);
          const r = await verifyAuditLog(a.audit, { publicKeys: [key.publicKey] });
          assert.deepEqual(r.problems, []);
          assert.equal(r.records, 1201);
          assert.ok(r.checkpoints > 2);
          // each replica's records stay in its own order
          const aPaths = (
            await queryAudit(b.audit, { user: 'a', order: 'asc', limit: 1000 })
          ).records.map((x) => x.path);
          assert.deepEqual(
            aPaths,
            Array.from({ length: 600 }, (_, i) => `/a/${i}`),
          );
          // the chain continues after a restart, and retention anchors it
          await a.close();
          const again = await db.open();
          const w = new AuditWriter(again.audit, { batchWindowMs: 1, signingKey: key });
          w.append({ kind: 'logout', actor: { user: 'a' } });
          await w.close();
          const pruned = await applyRetention(again.audit, {
            maxAgeMs: 0,
            signingKey: key,
            now: () => Date.now() + 1,
          });
          assert.equal(pruned.deleted, 1202);
          const w2 = new AuditWriter(again.audit, { batchWindowMs: 1, signingKey: key });
          w2.append({ kind: 'login', actor: { user: 'a' } });
          await w2.close();
          const after = await verifyAuditLog(again.audit, { publicKeys: [key.publicKey] });
          assert.deepEqual(after.problems, []);
          assert.deepEqual([after.first, after.last], [1203, 1203]);
          await again.close();
        } finally {
          await a.close();
          await b.close();
          await db.drop();
        }
      });

      test('a writer whose connections are terminated keeps its records and recovers by itself', async () => {
        const db = await postgresTestBackend.createDatabase();
        const store = await db.open();
        try {
          const w = new AuditWriter(store.audit, { batchWindowMs: 5, maxRetryDelayMs: 50 });
          for (let i = 0; i < 50; i++) w.append({ kind: 'access', path: `/${i}` });
          await w.drain();
          await db.breakConnection();
          for (let i = 50; i < 100; i++) w.append({ kind: 'access', path: `/${i}` });
          await new Promise((r) => setTimeout(r, 100));
          assert.ok(w.backlog > 0, 'records wait while the database is away');
          assert.equal(await store.ping(), false);
          await db.restoreConnection();
          await w.drain({ timeoutMs: 10_000 });
          await w.close();
          const r = await verifyAuditLog(store.audit, { publicKeys: [] });
          assert.deepEqual(r.problems, []);
          assert.equal(r.records, 100);
        } finally {
          await store.close();
          await db.drop();
        }
      });
    },
  );
}
