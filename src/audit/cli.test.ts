/**
 * `ztgate audit ...` through its command functions and through a commander program with only the
 * audit commands registered (src/cli/main.ts wires them into the real program).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Command, CommanderError } from 'commander';
import {
  auditExport,
  auditQuery,
  auditTail,
  auditVerify,
  parseTimeOption,
  registerAuditCommands,
} from '../cli/audit.js';
import { ExitRequest, reportError, type Io } from '../cli/output.js';
import { openStore } from '../store/open.js';
import { tempDir } from '../store/testing.js';
import Database from 'better-sqlite3';
import { defaultAuditKeyPath, loadAuditSigningKey } from './signing-key.js';
import { AuditWriter } from './writer.js';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

function fakeIo(): Io & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (s: string) => void (io.out += s),
    stderr: (s: string) => void (io.err += s),
    stdin: () => Promise.resolve(''),
  };
  return io;
}

/** What main() does, for a program holding only the audit commands. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = fakeIo();
  const program = new Command('ztgate')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerAuditCommands(program, io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: 0, out: io.out, err: io.err };
  } catch (err) {
    if (err instanceof ExitRequest) return { code: err.exitCode, out: io.out, err: io.err };
    if (err instanceof CommanderError)
      return { code: err.exitCode === 0 ? 0 : 2, out: io.out, err: io.err };
    return { code: reportError(err, io, 'text'), out: io.out, err: io.err };
  }
}

describe('ztgate audit', () => {
  const dataDir = join(tempDir(), 'data');
  const base = { dataDir, store: 'sqlite' };

  before(async () => {
    const store = await openStore({ kind: 'sqlite', dataDir });
    const w = new AuditWriter(store.audit, {
      batchWindowMs: 1,
      signingKey: loadAuditSigningKey(defaultAuditKeyPath(dataDir), { create: true }),
      checkpointEveryRecords: 5,
      maxBatch: 5,
    });
    for (let i = 1; i <= 12; i++) {
      w.append({
        kind: 'access',
        time: T0 + i * 60_000,
        actor: { user: i % 2 ? 'alice' : 'bob', device: 'laptop-1' },
        route: 'app.localhost',
        method: 'GET',
        path: `/doc/${i}`,
        decision: i % 4 === 0 ? 'deny' : 'allow',
        policy: 'engineering',
        mode: 'enforce',
      });
    }
    w.append({
      kind: 'admin',
      time: T0 + 13 * 60_000,
      actor: { user: 'root' },
      action: 'user.disabled',
      resource: 'user:bob',
      before: { disabled: false },
      after: { disabled: true },
    });
    await w.close();
    await store.close();
  });

  test('query: table by default, newest first, with filters and a cursor hint', async () => {
    const io = fakeIo();
    assert.equal(await auditQuery({ ...base, user: 'bob', limit: 2, format: 'table' }, io), 0);
    const lines = io.out.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      /^TIME\s+SEQ\s+KIND\s+DECISION\s+USER\s+DEVICE\s+ROUTE\s+REQUEST\s+POLICY$/,
    );
    assert.match(
      lines[1] ?? '',
      /^2026-11-22T10:12:00\.000Z\s+12\s+access\s+deny\s+bob\s+laptop-1\s+app\.localhost\s+GET \/doc\/12\s+engineering$/,
    );
    assert.equal(lines.length, 3);
    assert.match(io.err, /more records: add `--cursor d10`/);
  });

  test('query --format json through the command line, with a time range', async () => {
    const r = await run([
      'audit',
      'query',
      '--data-dir',
      dataDir,
      '--format',
      'json',
      '--since',
      '2026-11-22T10:03:00Z',
      '--until',
      '2026-11-22T10:05:00Z',
    ]);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { records: { seq: number }[]; next_cursor: string | null };
    assert.deepEqual(
      doc.records.map((x) => x.seq),
      [4, 3],
    );
    assert.equal(doc.next_cursor, null);
  });

  test('usage errors exit 2; a missing database exits 1 with one clear message', async () => {
    assert.equal((await run(['audit', 'query', '--data-dir', dataDir, '--format', 'xml'])).code, 2);
    assert.equal(
      (await run(['audit', 'query', '--data-dir', dataDir, '--since', 'yesterday'])).code,
      2,
    );
    assert.equal((await run(['audit', 'query', '--data-dir', dataDir, '--limit', '0'])).code, 2);
    const missing = await run(['audit', 'query', '--data-dir', join(tempDir(), 'none')]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.err,
      /^error ZT_STORE_UNAVAILABLE: there is no database at `.+ztgate\.db`\n {2}help: /,
    );
    assert.ok(!missing.err.includes('    at '), 'no stack trace');
    const badStore = await run(['audit', 'query', '--data-dir', dataDir, '--store', 'mysql://x']);
    assert.equal(badStore.code, 1);
    assert.match(badStore.err, /ZT_STORE_INVALID_OPTIONS/);
  });

  test('tail prints the last records; -f follows new ones until interrupted', async () => {
    const io = fakeIo();
    await auditTail({ ...base, lines: 2, follow: false, format: 'text' }, io);
    assert.deepEqual(
      io.out
        .trimEnd()
        .split('\n')
        .map((l) => l.split('  ')[1]),
      ['12', '13'],
    );
    const follow = fakeIo();
    const ac = new AbortController();
    const done = auditTail(
      { ...base, lines: 1, follow: true, format: 'json', pollMs: 10 },
      follow,
      ac.signal,
    );
    const store = await openStore({ kind: 'sqlite', dataDir });
    const w = new AuditWriter(store.audit, { batchWindowMs: 1 });
    w.append({ kind: 'logout', actor: { user: 'alice' } });
    await w.close();
    await store.close();
    while (!follow.out.includes('"kind":"logout"')) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    assert.equal(await done, 0);
    const seqs = follow.out
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.deepEqual(seqs, [13, 14]);
  });

  test('export as JSON Lines and as syslog lines', async () => {
    const io = fakeIo();
    await auditExport({ ...base, decision: 'deny', format: 'jsonl' }, io);
    const lines = io.out.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { seq: number }).seq),
      [4, 8, 12],
    );
    const sys = await run([
      'audit',
      'export',
      '--data-dir',
      dataDir,
      '--format',
      'syslog',
      '--kind',
      'admin',
    ]);
    assert.equal(sys.code, 0);
    assert.match(
      sys.out,
      /^<110>1 2026-11-22T10:13:00\.000Z \S+ ztgate \d+ admin \[ztgate@32473 seq="13" hash="[0-9a-f]{64}" kind="admin" user="root"\] \{.*"action":"user\.disabled"/,
    );
  });

  test('verify passes on an intact log and exits 1 naming the bad record', async () => {
    const ok = await run(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(
      ok.out,
      /^audit log verified: 14 records \(1\.\.14\), \d+ signed checkpoints, the last at record \d+/,
    );

    const raw = new Database(join(dataDir, 'ztgate.db'));
    const row = raw.prepare('SELECT body FROM audit_records WHERE seq = 6').get() as {
      body: string;
    };
    raw
      .prepare('UPDATE audit_records SET body = ? WHERE seq = 6')
      .run(row.body.replace('"allow"', '"deny"'));
    raw.close();
    const broken = await run(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(broken.code, 1);
    assert.equal(
      broken.err,
      'error ZT_AUDIT_CHAIN_BROKEN: record 6: its content does not match its hash (modified)\n',
    );
    const io = fakeIo();
    await assert.rejects(
      auditVerify({ ...base, format: 'json' }, io),
      (e: unknown) => e instanceof ExitRequest && e.exitCode === 1,
    );
    const doc = JSON.parse(io.out) as { ok: boolean; problems: { kind: string; seq: number }[] };
    assert.equal(doc.ok, false);
    assert.deepEqual(
      doc.problems.map((p) => [p.kind, p.seq]),
      [['modified', 6]],
    );

    // put it back: the original content matches its hash again
    const fix = new Database(join(dataDir, 'ztgate.db'));
    fix.prepare('UPDATE audit_records SET body = ? WHERE seq = 6').run(row.body);
    fix.close();
    assert.equal((await run(['audit', 'verify', '--data-dir', dataDir])).code, 0);
  });

  test('verify without the key fails closed on signed checkpoints; --public-key supplies it', async () => {
    const other = tempDir();
    const r = await run([
      'audit',
      'verify',
      '--data-dir',
      dataDir,
      '--key',
      join(other, 'missing.pem'),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.err, /ZT_AUDIT_KEY_INVALID/);
    const wrong = loadAuditSigningKey(join(other, 'wrong.pem'), { create: true });
    assert.ok(wrong);
    const w = await run([
      'audit',
      'verify',
      '--data-dir',
      dataDir,
      '--key',
      join(other, 'wrong.pem'),
    ]);
    assert.equal(w.code, 1);
    assert.match(
      w.err,
      /is signed by key `[0-9a-f]{16}`, which was not given\n {2}help: give the signing key/,
    );
    const both = await run([
      'audit',
      'verify',
      '--data-dir',
      dataDir,
      '--key',
      join(other, 'wrong.pem'),
      '--public-key',
      defaultAuditKeyPath(dataDir),
    ]);
    assert.equal(both.code, 0, both.err);
  });

  test('times are ISO 8601 or a duration ago', () => {
    assert.equal(parseTimeOption('2026-11-22T10:00:00Z'), T0);
    assert.equal(parseTimeOption('1h', T0), T0 - 3_600_000);
    assert.throws(() => parseTimeOption('noon'));
  });
});
