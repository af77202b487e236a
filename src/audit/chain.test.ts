/**
 * The hash chain, checkpoints, verification, retention and reading, on a real SQLite store.
 * Each tamper test changes the database behind ztgate's back, as an attacker with file access would.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sqliteTestBackend, tempDir, type TestDatabase } from '../store/testing.js';
import type { Store } from '../store/store.js';
import { chainHash } from './chain.js';
import { queryAudit, scanAudit, tailAudit } from './query.js';
import { applyRetention } from './retention.js';
import {
  exportPublicKeyPem,
  loadAuditPublicKey,
  loadAuditSigningKey,
  type AuditSigningKey,
} from './signing-key.js';
import { verifyAuditLog, type VerifyProblemKind } from './verify.js';
import { WorkerAuditTarget } from './worker-target.js';
import { AuditWriter } from './writer.js';
import { openStore } from '../store/open.js';

const T0 = Date.UTC(2026, 0, 1);
const keyDir = tempDir();
const key = loadAuditSigningKey(join(keyDir, 'audit-signing-key.pem'), { create: true });
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Log {
  db: TestDatabase;
  store: Store;
}

/** A log of `n` records (seq i has time T0 + i seconds), checkpointed every `every` records. */
async function makeLog(n: number, every = 10, signingKey: AuditSigningKey = key): Promise<Log> {
  const db = await sqliteTestBackend.createDatabase();
  const store = await db.open();
  cleanups.push(async () => {
    await store.close();
    await db.drop();
  });
  const w = new AuditWriter(store.audit, {
    batchWindowMs: 1,
    maxBatch: 7,
    signingKey,
    checkpointEveryRecords: every,
  });
  for (let i = 1; i <= n; i++) {
    w.append({
      kind: i % 5 === 0 ? 'login' : 'access',
      time: T0 + i * 1000,
      actor: { user: i % 2 ? 'alice' : 'bob', device: `d${i % 3}` },
      route: i % 4 ? 'app.localhost' : 'wiki.localhost',
      decision: i % 3 ? 'allow' : 'deny',
      path: `/p/${i}`,
    });
  }
  await w.close();
  return { db, store };
}

async function problems(
  store: Store,
  keys = [key.publicKey],
): Promise<[VerifyProblemKind, number][]> {
  const r = await verifyAuditLog(store.audit, { publicKeys: keys, pageSize: 8 });
  return r.problems.map((p) => [p.kind, p.seq]);
}

async function messages(store: Store): Promise<string[]> {
  return (await verifyAuditLog(store.audit, { publicKeys: [key.publicKey] })).problems.map(
    (p) => p.message,
  );
}

describe('verify', () => {
  test('an untouched log verifies, across pages and batches', async () => {
    const { store } = await makeLog(30);
    const r = await verifyAuditLog(store.audit, { publicKeys: [key.publicKey], pageSize: 8 });
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.records, 30);
    assert.deepEqual([r.first, r.last], [1, 30]);
    assert.ok(r.checkpoints >= 3, 'periodic checkpoints after batches and one at shutdown');
    assert.equal(r.lastCheckpoint?.seq, 30);
  });

  test('values a client controls (NUL, huge strings) are written and verify', async () => {
    const { store } = await makeLog(2);
    const w = new AuditWriter(store.audit, { batchWindowMs: 1 });
    w.append({
      kind: 'access',
      actor: { user: 'a\0b', device: 'd\uD800' },
      route: 'x'.repeat(5000),
      path: '/\0',
    });
    await w.close();
    assert.deepEqual(await problems(store), []);
    const [rec] = (await queryAudit(store.audit, { user: 'a\uFFFDb' })).records;
    assert.equal(rec?.actor?.user, 'a\0b');
  });

  test('the chain continues across a restart of the writer', async () => {
    const { db, store } = await makeLog(5);
    await store.close();
    const again = await db.open();
    cleanups.push(() => again.close());
    const w = new AuditWriter(again.audit, { batchWindowMs: 1, signingKey: key });
    w.append({ kind: 'logout', actor: { user: 'alice' } });
    await w.close();
    const r = await verifyAuditLog(again.audit, { publicKeys: [key.publicKey] });
    assert.deepEqual(r.problems, []);
    assert.equal(r.last, 6);
  });

  test('a modified record is named', async () => {
    const { db, store } = await makeLog(20);
    await db.exec(
      `UPDATE audit_records SET body = replace(body, '"/p/7"', '"/p/x"') WHERE seq = 7`,
    );
    assert.deepEqual(await problems(store), [['modified', 7]]);
    assert.match(
      (await messages(store))[0] ?? '',
      /^record 7: its content does not match its hash \(modified\)$/,
    );
  });

  test('a modified and re-hashed record breaks the next link and its checkpoint', async () => {
    const { db, store } = await makeLog(20);
    const c = (await store.audit.checkpoints())[0]?.seq ?? 0;
    const [row] = await store.audit.range(c, 1);
    assert.ok(row && c > 0 && c < 20);
    const forged = row.body.replace(`/p/${c}"`, '/p/X"');
    await db.exec(
      `UPDATE audit_records SET body = '${forged}', hash = '${chainHash(row.prevHash, forged)}' WHERE seq = ${c}`,
    );
    assert.deepEqual(await problems(store), [
      ['checkpoint_mismatch', c],
      ['bad_link', c + 1],
    ]);
  });

  test('a deleted record is named', async () => {
    const { db, store } = await makeLog(20);
    await db.exec('DELETE FROM audit_records WHERE seq = 12');
    assert.deepEqual(await problems(store), [['deleted', 12]]);
    assert.deepEqual(await messages(store), ['record 12 is missing (deleted)']);
  });

  test('reordered records are named', async () => {
    const { db, store } = await makeLog(20);
    await db.exec(`
      UPDATE audit_records SET seq = -1 WHERE seq = 14;
      UPDATE audit_records SET seq = 14 WHERE seq = 15;
      UPDATE audit_records SET seq = 15 WHERE seq = -1;`);
    const p = await problems(store);
    assert.deepEqual(p[0], ['reordered', 14]);
    assert.match((await messages(store))[0] ?? '', /^record 14: its content says it is record 15/);
  });

  test('an inserted record is detected where it was inserted', async () => {
    const { db, store } = await makeLog(12, 100);
    // shift records 6.. up by one and forge a record 6 that links to record 5
    await db.exec(
      'UPDATE audit_records SET seq = -seq WHERE seq >= 6; UPDATE audit_records SET seq = -seq + 1 WHERE seq < 0;',
    );
    const [five] = await store.audit.range(5, 1);
    assert.ok(five);
    const body = five.body.replace('"seq":5', '"seq":6').replace(/"id":"[^"]+"/, '"id":"forged"');
    await db.exec(
      `INSERT INTO audit_records (seq, id, time, kind, user_id, device_id, route, decision, body, prev_hash, hash)
       SELECT 6, 'forged', time, kind, user_id, device_id, route, decision, '${body}', '${five.hash}', '${chainHash(five.hash, body)}'
       FROM audit_records WHERE seq = 5`,
    );
    assert.deepEqual((await problems(store))[0], ['reordered', 7]);
  });

  test('a truncated tail is detected against the last checkpoint', async () => {
    const { db, store } = await makeLog(25, 10);
    await db.exec('DELETE FROM audit_records WHERE seq > 18; UPDATE audit_head SET seq = 18');
    assert.deepEqual(await problems(store), [['truncated', 19]]);
    assert.match(
      (await messages(store))[0] ?? '',
      /^records 19\.\.25 are missing at the end of the log: signed checkpoint #\d+ \(.+\) vouches for 25 records \(truncated\)$/,
    );
  });

  test('a deleted start without an anchor, a forged checkpoint and an unknown key are reported', async () => {
    const { db, store } = await makeLog(20);
    await db.exec('DELETE FROM audit_records WHERE seq <= 3');
    assert.deepEqual(await problems(store), [['anchor_missing', 3]]);
    await db.exec(
      "UPDATE audit_checkpoints SET seq = 3, signature = 'AAAA' WHERE id = (SELECT min(id) FROM audit_checkpoints)",
    );
    assert.deepEqual(await problems(store), [
      ['bad_signature', 3],
      ['anchor_missing', 3],
    ]);
    const other = loadAuditSigningKey(join(tempDir(), 'k.pem'), { create: true });
    const p = await problems(store, [other.publicKey]);
    assert.ok(p.some(([k]) => k === 'unknown_key'));
  });

  test('an index column changed without the content is reported', async () => {
    const { db, store } = await makeLog(10);
    await db.exec("UPDATE audit_records SET decision = 'allow' WHERE seq = 3");
    assert.deepEqual(await problems(store), [['modified', 3]]);
  });
});

describe('retention', () => {
  test('old records are deleted behind a signed anchor and the log still verifies', async () => {
    const { store } = await makeLog(30, 10);
    const r = await applyRetention(store.audit, {
      maxAgeMs: 20_500,
      signingKey: key,
      now: () => T0 + 30_000,
    });
    assert.deepEqual(r, { deleted: 9, anchorSeq: 9 });
    assert.deepEqual(await store.audit.bounds(), { first: 10, last: 30 });
    assert.deepEqual(await problems(store), []);
    assert.ok((await store.audit.checkpoints()).some((c) => c.kind === 'anchor' && c.seq === 9));
    assert.deepEqual(
      await applyRetention(store.audit, {
        maxAgeMs: 20_500,
        signingKey: key,
        now: () => T0 + 30_000,
      }),
      {
        deleted: 0,
        anchorSeq: 0,
      },
    );
    const w = new AuditWriter(store.audit, { batchWindowMs: 1, signingKey: key });
    w.append({ kind: 'access' });
    await w.close();
    assert.deepEqual(await problems(store), []);
  });

  test('retention deletes everything when everything is old, and verify still holds', async () => {
    const { store } = await makeLog(5, 100);
    await applyRetention(store.audit, { maxAgeMs: 1, signingKey: key, now: () => T0 + 1e9 });
    assert.equal(await store.audit.bounds(), null);
    assert.deepEqual(await problems(store), []);
  });

  test('retention refuses to anchor over a broken chain', async () => {
    const { db, store } = await makeLog(10);
    await db.exec(`UPDATE audit_records SET body = replace(body, '/p/2', '/p/Z') WHERE seq = 2`);
    await assert.rejects(
      applyRetention(store.audit, { maxAgeMs: 1000, signingKey: key, now: () => T0 + 8000 }),
      { code: 'ZT_AUDIT_CHAIN_BROKEN' },
    );
  });
});

describe('signing key', () => {
  test('created with mode 0600, loaded again as the same key; a public key file verifies', () => {
    const dir = tempDir();
    const path = join(dir, 'sub', 'audit-signing-key.pem');
    const a = loadAuditSigningKey(path, { create: true });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const b = loadAuditSigningKey(path);
    assert.equal(a.keyId, b.keyId);
    const pub = join(dir, 'pub.pem');
    writeFileSync(pub, exportPublicKeyPem(a.publicKey));
    assert.equal(
      loadAuditPublicKey(pub).export({ type: 'spki', format: 'pem' }),
      exportPublicKeyPem(a.publicKey),
    );
    assert.equal(loadAuditPublicKey(path).asymmetricKeyType, 'ed25519');
  });

  test('a key file readable by group or others is refused; a missing or bad one is ZT_AUDIT_KEY_INVALID', () => {
    const dir = tempDir();
    const path = join(dir, 'k.pem');
    loadAuditSigningKey(path, { create: true });
    chmodSync(path, 0o640);
    assert.throws(() => loadAuditSigningKey(path), { code: 'ZT_AUDIT_KEY_PERMISSIONS' });
    chmodSync(path, 0o600);
    assert.throws(() => loadAuditSigningKey(join(dir, 'missing.pem')), {
      code: 'ZT_AUDIT_KEY_INVALID',
    });
    const bad = join(dir, 'bad.pem');
    writeFileSync(bad, 'not a key', { mode: 0o600 });
    assert.throws(() => loadAuditSigningKey(bad), { code: 'ZT_AUDIT_KEY_INVALID' });
    assert.ok(readFileSync(path, 'utf8').startsWith('-----BEGIN PRIVATE KEY-----'));
  });
});

describe('query and tail', () => {
  test('filters, newest first by default, cursors page without overlap', async () => {
    const { store } = await makeLog(30);
    const page = await queryAudit(store.audit, { user: 'alice', decision: 'deny', limit: 2 });
    assert.deepEqual(
      page.records.map((r) => r.seq),
      [27, 21],
    );
    const next = await queryAudit(store.audit, {
      user: 'alice',
      decision: 'deny',
      limit: 2,
      cursor: page.nextCursor ?? '',
    });
    assert.deepEqual(
      next.records.map((r) => r.seq),
      [15, 9],
    );
    const rest = await queryAudit(store.audit, {
      user: 'alice',
      decision: 'deny',
      limit: 2,
      cursor: next.nextCursor ?? '',
    });
    assert.deepEqual(
      rest.records.map((r) => r.seq),
      [3],
    );
    assert.equal(rest.nextCursor, null);
    const timed = await queryAudit(store.audit, {
      since: T0 + 5000,
      until: T0 + 8000,
      order: 'asc',
    });
    assert.deepEqual(
      timed.records.map((r) => r.seq),
      [5, 6, 7],
    );
    assert.deepEqual(
      (await queryAudit(store.audit, { device: 'd0', route: 'wiki.localhost' })).records.map(
        (r) => r.seq,
      ),
      [24, 12],
    );
    assert.deepEqual(
      (await queryAudit(store.audit, { kind: 'login', limit: 1 })).records.map((r) => r.seq),
      [30],
    );
    const r = page.records[0];
    assert.equal(r?.actor?.user, 'alice');
    assert.equal(r?.time, new Date(T0 + 27_000).toISOString());
    await assert.rejects(queryAudit(store.audit, { cursor: 'zz' }), {
      code: 'ZT_AUDIT_QUERY_INVALID',
    });
    await assert.rejects(queryAudit(store.audit, { since: 5, until: 5 }), {
      code: 'ZT_AUDIT_QUERY_INVALID',
    });
    let n = 0;
    for await (const rec of scanAudit(store.audit, { user: 'bob' }, 4)) {
      n += 1;
      assert.equal(rec.actor?.user, 'bob');
    }
    assert.equal(n, 15);
  });

  test('tail shows the last records, then follows new ones until aborted', async () => {
    const { store } = await makeLog(12);
    const ac = new AbortController();
    const w = new AuditWriter(store.audit, { batchWindowMs: 1 });
    const seen: number[] = [];
    for await (const r of tailAudit(store.audit, {
      last: 3,
      follow: true,
      pollMs: 10,
      signal: ac.signal,
    })) {
      seen.push(r.seq);
      if (r.seq === 12) {
        w.append({ kind: 'logout' });
        w.append({ kind: 'logout' });
      }
      if (r.seq === 14) ac.abort();
    }
    await w.close();
    assert.deepEqual(seen, [10, 11, 12, 13, 14]);
  });
});

describe('worker thread target', () => {
  test('a writer whose database work runs in a worker thread keeps the chain, across restarts', async () => {
    const dataDir = join(tempDir(), 'data');
    const options = { kind: 'sqlite', dataDir } as const;
    for (let run = 0; run < 2; run++) {
      const w = new AuditWriter(new WorkerAuditTarget(options), {
        batchWindowMs: 5,
        maxBatch: 100,
        signingKey: key,
        checkpointEveryRecords: 250,
      });
      const commits: number[] = [];
      w.onCommit((c) => commits.push(c.lastSeq));
      for (let i = 0; i < 500; i++) w.append({ kind: 'access', path: `/${run}/${i}` });
      await w.close();
      assert.equal(commits[commits.length - 1], 500 * (run + 1));
    }
    const store = await openStore(options);
    try {
      const r = await verifyAuditLog(store.audit, { publicKeys: [key.publicKey] });
      assert.deepEqual(r.problems, []);
      assert.equal(r.records, 1000);
      assert.ok(r.checkpoints >= 4);
    } finally {
      await store.close();
    }
  });

  test('a worker that cannot open the store fails the batch, which is retried', async () => {
    const warnings: string[] = [];
    const w = new AuditWriter(
      new WorkerAuditTarget({ kind: 'sqlite', dataDir: join(tempDir(), 'missing'), create: false }),
      {
        batchWindowMs: 1,
        maxRetryDelayMs: 20,
        onWarning: (c) => warnings.push(c),
      },
    );
    w.append({ kind: 'access' });
    await assert.rejects(w.drain({ timeoutMs: 1000 }), { code: 'ZT_AUDIT_WRITE_FAILED' });
    assert.ok(warnings.includes('ZT_AUDIT_WRITE_FAILED'));
    assert.match(w.stats().lastError ?? '', /no database/);
    await assert.rejects(w.close({ timeoutMs: 10 }));
  });
});
