/**
 * Audit log benchmark (`npm run bench:audit`, `-- --json` for one JSON summary line).
 *
 * For SQLite and PostgreSQL, in the same run on the same machine:
 * - `chain`: the real writer (hash chain, group commit with the default 100 ms window) fed as fast
 *   as it accepts: sustained committed records/s, and the caller-visible latency of `append()`;
 * - `insert`: the reference, a plain INSERT of the same records one by one (no chain, no batching);
 * - `insert_batched`: plain INSERTs in transactions of the writer's batch size, no chain (what the
 *   chain itself costs).
 * Each phase runs for a few seconds and stops by itself; temporary databases are removed.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { AuditWriter } from '../src/audit/writer.js';
import { WorkerAuditTarget } from '../src/audit/worker-target.js';
import type { AuditEvent } from '../src/audit/record.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { PG_ADMIN_URL, pgUrlFor, postgresUnreachable, tempDir } from '../src/store/testing.js';

const json = process.argv.includes('--json');
const PHASE_MS = Number(process.env.ZTGATE_BENCH_PHASE_MS ?? 3000);
const log = (s: string): void => {
  if (!json) process.stdout.write(`${s}\n`);
};

function event(i: number): AuditEvent {
  return {
    kind: 'access',
    request_id: `req-${i}`,
    actor: { user: `user${i % 1000}`, device: `dev${i % 300}` },
    source_ip: '203.0.113.9',
    route: 'app.localhost',
    method: 'GET',
    path: `/api/items/${i}`,
    decision: i % 10 === 0 ? 'deny' : 'allow',
    policy: 'engineering',
    rule: 'allow[0]',
    reasons: [{ code: 'rule-allowed', rule: 'allow[0]' }],
    mode: 'enforce',
    latency_us: 85,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface ChainResult {
  records_per_s: number;
  records: number;
  append_p50_us: number;
  append_p99_us: number;
  append_max_us: number;
  batches: number;
}

/** Feeds the writer as fast as it accepts for PHASE_MS, then drains; rate = committed / elapsed. */
async function chainPhase(target: Store | WorkerAuditTarget): Promise<ChainResult> {
  const writer = new AuditWriter(target instanceof WorkerAuditTarget ? target : target.audit, {
    backlogLimit: 1_000_000,
  });
  const samples = new Float64Array(4_000_000);
  let n = 0;
  let i = 0;
  const highWater = 20_000;
  const start = performance.now();
  let waitCommit: (() => void) | null = null;
  writer.onCommit(() => {
    const w = waitCommit;
    waitCommit = null;
    w?.();
  });
  while (performance.now() - start < PHASE_MS) {
    for (let k = 0; k < 500; k++) {
      const e = event(i++);
      const t0 = performance.now();
      writer.append(e);
      const dt = performance.now() - t0;
      if (n < samples.length) samples[n++] = dt * 1000;
    }
    if (writer.backlog >= highWater) {
      await new Promise<void>((r) => (waitCommit = r));
    } else {
      await new Promise((r) => setImmediate(r));
    }
  }
  await writer.close();
  const elapsed = (performance.now() - start) / 1000;
  const lat = samples.subarray(0, n).sort();
  const stats = writer.stats();
  return {
    records_per_s: Math.round(stats.committed / elapsed),
    records: stats.committed,
    append_p50_us: round(percentile(lat, 50)),
    append_p99_us: round(percentile(lat, 99)),
    append_max_us: round(lat[lat.length - 1] ?? NaN),
    batches: stats.batches,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

const COLS = '(seq, id, time, kind, user_id, device_id, route, decision, body, prev_hash, hash)';

function rowOf(i: number): unknown[] {
  const e = event(i);
  return [
    i,
    `id-${i}`,
    Date.now(),
    'access',
    e.actor?.user,
    e.actor?.device,
    e.route,
    e.decision,
    JSON.stringify(e),
    '',
    '',
  ];
}

function sqliteInsertPhase(
  path: string,
  batch: number,
): { records_per_s: number; records: number } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE ref_audit ${COLS.replace(/, /g, ' TEXT, ').replace(')', ' TEXT)')}`);
  const insert = db.prepare(
    `INSERT INTO ref_audit ${COLS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const many = db.transaction((from: number, count: number) => {
    for (let k = 0; k < count; k++) insert.run(...rowOf(from + k));
  });
  let i = 0;
  const start = performance.now();
  while (performance.now() - start < PHASE_MS) {
    if (batch === 1) insert.run(...rowOf(i));
    else many(i, batch);
    i += batch;
  }
  const elapsed = (performance.now() - start) / 1000;
  db.close();
  return { records_per_s: Math.round(i / elapsed), records: i };
}

async function pgInsertPhase(
  url: string,
  batch: number,
): Promise<{ records_per_s: number; records: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => undefined);
  const table = `ref_audit_${batch}`;
  await pool.query(
    `CREATE TABLE ${table} ${COLS.replace(/, /g, ' TEXT, ').replace(')', ' TEXT)')}`,
  );
  let i = 0;
  const start = performance.now();
  while (performance.now() - start < PHASE_MS) {
    if (batch === 1) {
      await pool.query(
        `INSERT INTO ${table} ${COLS} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        rowOf(i),
      );
    } else {
      const cols: unknown[][] = Array.from({ length: 11 }, () => []);
      for (let k = 0; k < batch; k++) rowOf(i + k).forEach((v, c) => cols[c]?.push(String(v)));
      await pool.query(
        `INSERT INTO ${table} ${COLS} SELECT * FROM unnest(${cols.map((_, c) => `$${c + 1}::text[]`).join(', ')})`,
        cols,
      );
    }
    i += batch;
  }
  const elapsed = (performance.now() - start) / 1000;
  await pool.end();
  return { records_per_s: Math.round(i / elapsed), records: i };
}

function report(name: string, r: ChainResult): void {
  log(
    `${name}: ${r.records_per_s} records/s (${r.records} in ${r.batches} batches), ` +
      `append p50 ${r.append_p50_us} µs, p99 ${r.append_p99_us} µs`,
  );
}

async function main(): Promise<void> {
  const summary: Record<string, unknown> = {
    bench: 'audit',
    phase_ms: PHASE_MS,
    node: process.version,
  };

  // SQLite
  const dir = tempDir('ztgate-bench-');
  try {
    const options = { kind: 'sqlite', dataDir: join(dir, 'data') } as const;
    const store = await openStore(options);
    const chain = await chainPhase(new WorkerAuditTarget(options));
    const inline = await chainPhase(store);
    await store.close();
    const insert = sqliteInsertPhase(join(dir, 'ref1.db'), 1);
    const batched = sqliteInsertPhase(join(dir, 'ref2.db'), 5000);
    summary.sqlite = { chain, chain_same_thread: inline, insert, insert_batched: batched };
    report('sqlite   chain, worker thread', chain);
    report('sqlite   chain, same thread  ', inline);
    log(
      `sqlite   reference: plain INSERT ${insert.records_per_s} records/s; ` +
        `batched INSERT without chain ${batched.records_per_s} records/s`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // PostgreSQL
  const unreachable = await postgresUnreachable();
  if (unreachable !== undefined) {
    summary.postgres = {
      skipped: `PostgreSQL is not reachable at ${PG_ADMIN_URL}: ${unreachable}`,
    };
    log(`postgres skipped: not reachable at ${PG_ADMIN_URL} (${unreachable})`);
  } else {
    const name = `ztgate_bench_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const url = pgUrlFor(name);
      const store = await openStore({ kind: 'postgres', url });
      const chain = await chainPhase(new WorkerAuditTarget({ kind: 'postgres', url }));
      const inline = await chainPhase(store);
      await store.close();
      const insert = await pgInsertPhase(url, 1);
      const batched = await pgInsertPhase(url, 5000);
      summary.postgres = { chain, chain_same_thread: inline, insert, insert_batched: batched };
      report('postgres chain, worker thread', chain);
      report('postgres chain, same thread  ', inline);
      log(
        `postgres reference: plain INSERT ${insert.records_per_s} records/s; ` +
          `batched INSERT without chain ${batched.records_per_s} records/s`,
      );
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
  summary.targets = {
    sqlite_records_per_s: 50_000,
    postgres_records_per_s: 20_000,
    append_p99_us: 50,
  };
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

await main();
