import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { FakeAuditStore, deferred } from './testing/fake-audit-store.js';
import { AuditWriter } from './writer.js';
import { verifyAuditLog } from './verify.js';
import { keyIdOf, type AuditSigningKey } from './signing-key.js';
import { sign } from 'node:crypto';

function nextCommit(w: AuditWriter): Promise<number> {
  return new Promise((resolve) => {
    const off = w.onCommit((info) => {
      off();
      resolve(info.count);
    });
  });
}

function testKey(): AuditSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    sign: (m) => sign(null, Buffer.from(m), privateKey).toString('base64'),
  };
}

test('append returns at once; records appended within the window are written as one batch', async () => {
  const store = new FakeAuditStore();
  const w = new AuditWriter(store, { batchWindowMs: 30 });
  const committed = nextCommit(w);
  for (let i = 0; i < 50; i++) w.append({ kind: 'access', decision: 'allow' });
  assert.equal(store.rows.length, 0, 'nothing is written synchronously');
  assert.equal(w.backlog, 50);
  assert.equal(await committed, 50);
  assert.deepEqual(store.batchSizes, [50]);
  assert.deepEqual(
    store.rows.map((r) => r.seq),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  await w.close();
});

test('a full batch is written without waiting for the window', async () => {
  const store = new FakeAuditStore();
  const w = new AuditWriter(store, { batchWindowMs: 60_000, maxBatch: 10 });
  const committed = nextCommit(w);
  for (let i = 0; i < 25; i++) w.append({ kind: 'login' });
  assert.equal(await committed, 10);
  await w.drain();
  assert.deepEqual(store.batchSizes, [10, 10, 5]);
  await w.close();
});

test('fail closed: a full backlog makes append throw ZT_AUDIT_BACKLOG_FULL, and it recovers by itself', async () => {
  const store = new FakeAuditStore();
  const gate = deferred();
  store.gate = gate.promise;
  const w = new AuditWriter(store, { batchWindowMs: 1, backlogLimit: 20, maxBatch: 5 });
  for (let i = 0; i < 20; i++) w.append({ kind: 'access' });
  assert.equal(w.overloaded, true);
  assert.throws(() => w.append({ kind: 'access' }), { code: 'ZT_AUDIT_BACKLOG_FULL' });
  store.gate = null;
  gate.resolve();
  await w.drain();
  assert.equal(w.overloaded, false);
  w.append({ kind: 'access' });
  await w.close();
  assert.equal(store.rows.length, 21);
  assert.equal(w.stats().dropped, 0);
});

test('drop_oldest: a full backlog discards the oldest queued records and warns', async () => {
  const store = new FakeAuditStore();
  const gate = deferred();
  store.gate = gate.promise;
  const warnings: string[] = [];
  const w = new AuditWriter(store, {
    batchWindowMs: 1,
    backlogLimit: 10,
    maxBatch: 4,
    onBacklogFull: 'drop_oldest',
    onWarning: (code) => warnings.push(code),
  });
  const first = nextCommit(w);
  for (let i = 0; i < 4; i++) w.append({ kind: 'access', path: `/${i}` });
  await new Promise((r) => setTimeout(r, 10)); // the first batch of 4 is now in flight, held by the gate
  for (let i = 4; i < 20; i++) w.append({ kind: 'access', path: `/${i}` });
  assert.equal(w.backlog, 10);
  store.gate = null;
  gate.resolve();
  await first;
  await w.close();
  const paths = store.rows.map((r) => (JSON.parse(r.body) as { path: string }).path);
  assert.deepEqual(paths, ['/0', '/1', '/2', '/3', '/14', '/15', '/16', '/17', '/18', '/19']);
  assert.equal(w.stats().dropped, 10);
  assert.ok(warnings.includes('ZT_AUDIT_RECORDS_DROPPED'));
});

test('a failing store keeps the batch and retries in order; nothing is lost or duplicated', async () => {
  const store = new FakeAuditStore();
  store.failures = 3;
  const warnings: string[] = [];
  const w = new AuditWriter(store, {
    batchWindowMs: 1,
    maxRetryDelayMs: 20,
    onWarning: (c) => warnings.push(c),
  });
  for (let i = 0; i < 30; i++) w.append({ kind: 'access', path: `/${i}` });
  await w.drain();
  assert.deepEqual(
    store.rows.map((r) => (JSON.parse(r.body) as { path: string }).path),
    Array.from({ length: 30 }, (_, i) => `/${i}`),
  );
  assert.equal(w.stats().failedBatches, 3);
  assert.equal(warnings.filter((c) => c === 'ZT_AUDIT_WRITE_FAILED').length, 3);
  await w.close();
});

test('drain gives up after its timeout when the store stays down', async () => {
  const store = new FakeAuditStore();
  store.failures = 1_000_000;
  const w = new AuditWriter(store, { batchWindowMs: 1, maxRetryDelayMs: 10 });
  w.append({ kind: 'access' });
  await assert.rejects(w.drain({ timeoutMs: 100 }), { code: 'ZT_AUDIT_WRITE_FAILED' });
  store.failures = 0;
  await w.close();
  assert.equal(store.rows.length, 1);
});

test('after close, append is refused', async () => {
  const w = new AuditWriter(new FakeAuditStore());
  await w.close();
  assert.throws(() => w.append({ kind: 'access' }), { code: 'ZT_AUDIT_WRITER_CLOSED' });
});

test('checkpoints are written every N records and at shutdown, and verify', async () => {
  const store = new FakeAuditStore();
  const key = testKey();
  const w = new AuditWriter(store, {
    batchWindowMs: 1,
    maxBatch: 10,
    signingKey: key,
    checkpointEveryRecords: 20,
  });
  for (let i = 0; i < 45; i++)
    w.append({ kind: 'admin', action: 'user.updated', before: { a: i }, after: { a: i + 1 } });
  await w.close();
  assert.deepEqual(
    store.cps.map((c) => [c.seq, c.kind]),
    [
      [20, 'periodic'],
      [40, 'periodic'],
      [45, 'shutdown'],
    ],
  );
  const result = await verifyAuditLog(store, { publicKeys: [key.publicKey] });
  assert.deepEqual(result.problems, []);
  assert.equal(result.records, 45);
  assert.equal(result.checkpoints, 3);
});
