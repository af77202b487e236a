/**
 * A child process for the crash tests, run as `node --import tsx append-child.ts MODE DATA_DIR`.
 *
 * MODE `append`: opens the SQLite store under DATA_DIR and appends audit records in a loop with the
 * default writer settings (100 ms window, writes from a worker thread). After each committed batch it prints
 * `commit <committed> <appended> <ms>`; every 10 ms it prints `appended <appended> <ms>`. On SIGTERM
 * it stops appending, drains, prints `drained <appended> <committed>` and exits 0.
 *
 * MODE `open`: opens (and so migrates) the store, prints `schema <version>` and exits.
 */
import { openStore } from '../../store/open.js';
import { defaultAuditKeyPath, loadAuditSigningKey } from '../signing-key.js';
import { WorkerAuditTarget } from '../worker-target.js';
import { AuditWriter } from '../writer.js';

const [mode, dataDir] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: append-child.ts append|open DATA_DIR');
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const store = await openStore({ kind: 'sqlite', dataDir });
if (mode === 'open') {
  out(`schema ${await store.schemaVersion()}`);
  await store.close();
} else {
  // as a server runs it: the database work in a worker thread, the default 100 ms window
  const writer = new AuditWriter(new WorkerAuditTarget({ kind: 'sqlite', dataDir }), {
    signingKey: loadAuditSigningKey(defaultAuditKeyPath(dataDir), { create: true }),
  });
  let appended = 0;
  let refused = 0;
  writer.onCommit((info) => out(`commit ${info.committed} ${appended} ${Date.now()}`));
  const perTick = Number(process.env.ZTGATE_TEST_APPEND_PER_TICK ?? 40);
  const loop = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      try {
        writer.append({
          kind: 'access',
          request_id: `r${appended}`,
          actor: { user: `user${appended % 100}`, device: `dev${appended % 7}` },
          route: 'app.localhost',
          method: 'GET',
          path: `/item/${appended}`,
          decision: appended % 10 === 0 ? 'deny' : 'allow',
          policy: 'engineering',
          mode: 'enforce',
          latency_us: 120,
        });
        appended += 1;
      } catch {
        refused += 1;
      }
    }
  }, 1);
  const progress = setInterval(() => out(`appended ${appended} ${Date.now()}`), 10);
  process.on('SIGTERM', () => {
    clearInterval(loop);
    clearInterval(progress);
    void (async () => {
      await writer.close();
      out(`drained ${appended} ${writer.stats().committed} ${refused}`);
      await store.close();
      process.exit(0);
    })();
  });
  out('ready');
}
