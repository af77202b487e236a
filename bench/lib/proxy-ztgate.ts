/**
 * Variant (d) of the proxy benchmark: ztgate's proxy in `--workers` node:cluster workers sharing
 * one port, enforcing a realistic policy (group, MFA age, method, managed device with posture, a
 * risk deny rule) with identities resolved in memory by the static identity double (as a session
 * cache would), device facts from memory, a signed assertion on every forwarded request, identity
 * headers, the access log serialized (to /dev/null, batched as the default writer does) and the
 * audit log on: every decision is appended to a hash-chained SQLite audit log whose database work
 * runs in a worker thread (one database per worker, as one chain has one writer).
 *
 * Options: --port, --workers (2), --identities (0: only the benchmark's own token), --cert,
 * --key, --upstream, --token, --audit-dir, --audit worker|inline|off (worker).
 *
 * Protocol: prints `{"ready":true}` when every worker listens; on a `stats` line on stdin prints
 * one JSON line with each worker's memory and the number of distinct identities it has resolved.
 * SIGTERM (or the end of stdin) stops it.
 */
import cluster, { type Worker } from 'node:cluster';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { WorkerStats } from './proxy-ztgate-worker.js';

if (cluster.isPrimary) {
  const { values } = parseArgs({
    options: { workers: { type: 'string', default: '2' } },
    strict: false,
  });
  const n = Number(values.workers);
  const mib = (b: number) => Number((b / 2 ** 20).toFixed(1));
  const workers: Worker[] = [];
  let ready = 0;
  let pending: { stats: WorkerStats[]; left: number } | undefined;
  for (let i = 0; i < n; i++) {
    const w = cluster.fork({ ZTGATE_BENCH_WORKER: String(i) });
    workers.push(w);
    w.on('message', (m: { ready?: boolean; stats?: WorkerStats }) => {
      if (m.ready && ++ready === n) process.stdout.write('{"ready":true}\n');
      if (m.stats && pending) {
        pending.stats.push(m.stats);
        if (--pending.left === 0) {
          const primary = { pid: process.pid, rss_mib: mib(process.memoryUsage().rss) };
          process.stdout.write(`${JSON.stringify({ primary, workers: pending.stats })}\n`);
          pending = undefined;
        }
      }
    });
  }
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'stats') return;
    pending = { stats: [], left: workers.length };
    for (const w of workers) w.send('stats');
  });
  const stop = () => {
    for (const w of workers) w.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
} else {
  // The worker's modules are loaded only here: the primary stays small.
  await import('./proxy-ztgate-worker.js');
}
