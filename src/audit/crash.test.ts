/**
 * Crash safety of the audit log on SQLite, with real processes: kill -9 under load leaves an intact
 * database whose chain verifies and which lacks at most the last batch window of records; SIGTERM
 * drains every record.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../store/open.js';
import { LATEST_SCHEMA_VERSION } from '../store/migrations/index.js';
import { tempDir } from '../store/testing.js';
import { defaultAuditKeyPath, loadAuditSigningKey } from './signing-key.js';
import { verifyAuditLog } from './verify.js';

const CHILD = join(import.meta.dirname, 'testing', 'append-child.ts');
const WINDOW_MS = 100;

interface Child {
  proc: ChildProcess;
  lines: AsyncIterator<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(mode: 'append' | 'open', dataDir: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  return { proc, lines: rl[Symbol.asyncIterator](), exit };
}

async function nextLine(c: Child): Promise<string> {
  const r = await c.lines.next();
  if (r.done) throw new Error('the child ended early');
  return r.value;
}

async function inspect(
  dataDir: string,
): Promise<{ count: number; lastTime: number; verified: boolean; problems: string[] }> {
  const raw = new Database(join(dataDir, 'ztgate.db'));
  try {
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    raw.close();
  }
  const store = await openStore({ kind: 'sqlite', dataDir, create: false });
  try {
    const key = loadAuditSigningKey(defaultAuditKeyPath(dataDir));
    const result = await verifyAuditLog(store.audit, { publicKeys: [key.publicKey] });
    const [last] = await store.audit.query({ order: 'desc', limit: 1 });
    return {
      count: (await store.audit.bounds())?.last ?? 0,
      lastTime: last?.time ?? 0,
      verified: result.ok,
      problems: result.problems.map((p) => p.message),
    };
  } finally {
    await store.close();
  }
}

test('kill -9 under load: the database is intact, the chain verifies, at most the batch window is lost', async (t) => {
  const dataDir = tempDir();
  const child = startChild('append', dataDir);
  assert.equal(await nextLine(child), 'ready');
  let lastCommitted = 0;
  let commits = 0;
  let appendedAt: [number, number][] = [];
  const started = Date.now();
  // run under load for a while, then kill right after a random progress line
  for (;;) {
    const line = await nextLine(child);
    const [kind, a, b] = line.split(' ');
    if (kind === 'commit') {
      lastCommitted = Number(a);
      commits += 1;
    } else if (kind === 'appended') {
      appendedAt.push([Number(a), Number(b)]);
    }
    if (commits >= 5 && Date.now() - started > 900 && kind === 'appended') break;
  }
  child.proc.kill('SIGKILL');
  const killedAt = Date.now();
  const exit = await child.exit;
  assert.equal(exit.signal, 'SIGKILL');

  const db = await inspect(dataDir);
  assert.deepEqual(db.problems, []);
  assert.ok(
    db.count >= lastCommitted,
    `every committed record survived (${db.count} >= ${lastCommitted})`,
  );
  // loss window: from the newest record that survived to the moment of the kill
  const lossMs = killedAt - db.lastTime;
  appendedAt = appendedAt.filter(([, at]) => at >= started + 300);
  const first = appendedAt[0];
  const last = appendedAt[appendedAt.length - 1];
  const rate =
    first && last && last[1] > first[1] ? ((last[0] - first[0]) * 1000) / (last[1] - first[1]) : 0;
  const lostEstimate = Math.max(0, (last?.[0] ?? 0) - db.count);
  t.diagnostic(
    `kill -9: ${db.count} records in the database, ${lastCommitted} reported committed; ` +
      `appending at ~${Math.round(rate)} records/s; newest surviving record ${lossMs} ms before the kill; ` +
      `at least ${lostEstimate} records lost (~${rate ? Math.round((lostEstimate * 1000) / rate) : '?'} ms of appends)`,
  );
  assert.ok(rate > 1000, 'the child was under load');
  // at most one batch window (plus the time to write that batch and scheduling slack on a busy machine)
  assert.ok(
    lossMs <= WINDOW_MS + 250,
    `loss window ${lossMs} ms must stay within the ${WINDOW_MS} ms batch window + slack`,
  );
  assert.ok(lostEstimate <= rate * ((WINDOW_MS + 250) / 1000), `lost ${lostEstimate} records`);
});

test('SIGTERM drains: every appended record is written and the chain verifies', async () => {
  const dataDir = tempDir();
  const child = startChild('append', dataDir);
  assert.equal(await nextLine(child), 'ready');
  let commits = 0;
  while (commits < 3) if ((await nextLine(child)).startsWith('commit ')) commits += 1;
  child.proc.kill('SIGTERM');
  let drained: string | undefined;
  while (!drained) {
    const line = await nextLine(child);
    if (line.startsWith('drained ')) drained = line;
  }
  const exit = await child.exit;
  assert.equal(exit.code, 0);
  const [, appended, committed] = drained.split(' ').map(Number);
  assert.equal(committed, appended);
  const db = await inspect(dataDir);
  assert.deepEqual(db.problems, []);
  assert.equal(db.count, appended, 'nothing appended was lost');
});

test('several processes opening a new SQLite database at once migrate it exactly once', async () => {
  const dataDir = tempDir();
  const children = Array.from({ length: 4 }, () => startChild('open', dataDir));
  const outputs = await Promise.all(children.map((c) => nextLine(c)));
  const exits = await Promise.all(children.map((c) => c.exit));
  assert.deepEqual(
    outputs,
    Array.from({ length: 4 }, () => `schema ${LATEST_SCHEMA_VERSION}`),
  );
  assert.ok(exits.every((e) => e.code === 0));
  const raw = new Database(join(dataDir, 'ztgate.db'));
  try {
    assert.equal(
      raw.prepare('SELECT count(*) FROM schema_migrations').pluck().get(),
      LATEST_SCHEMA_VERSION,
    );
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  } finally {
    raw.close();
  }
});
