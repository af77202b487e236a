/**
 * `ztgate serve` with `workers: N` (or `auto`): N server processes share the listener (node:cluster;
 * JavaScript runs on one thread per process, so this is how the server uses every core).
 *
 * The primary process serves nothing. Before forking it does what the workers would otherwise race
 * on: checks the config, creates the data directory's keys and the CA, applies migrations and
 * imports the config file's routes and policies as the version in force. Then it
 *
 * - relays change events between workers when the store is SQLite (PostgreSQL workers hear each
 *   other over LISTEN/NOTIFY, like replicas);
 * - on SIGHUP checks the config file, imports it, then tells every worker to reload (a config with
 *   errors is refused before any worker sees it);
 * - on SIGTERM/SIGINT tells every worker to drain and exits when all have (0 when all drained);
 * - replaces a worker that died, after a second.
 */
import cluster, { type Worker } from 'node:cluster';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigManager } from '../../admin/config/config-manager.js';
import { defaultAuditKeyPath, loadAuditSigningKey } from '../../audit/signing-key.js';
import type { Config } from '../../config/schema.js';
import { loadIdentityKey } from '../../identity/secret-box.js';
import { ZtError } from '../../shared/errors.js';
import { LocalEventBus } from '../../store/events/local-events.js';
import { RelayEventBus, type EventRelay } from '../../store/events/relay-events.js';
import { openStore, storeOptionsFromUrl } from '../../store/open.js';
import { describeError, type ServeLog } from './log.js';
import { ensureCa, loadServeConfig, type RunningServer } from './server.js';

/** Messages between the primary and its workers. */
type ClusterMessage =
  | { readonly ztgate: 'event'; readonly payload: string }
  | { readonly ztgate: 'ready' }
  | { readonly ztgate: 'reload' };

function isClusterMessage(m: unknown): m is ClusterMessage {
  return (
    typeof m === 'object' && m !== null && typeof (m as { ztgate?: unknown }).ztgate === 'string'
  );
}

export function workerCount(config: Config, flag: string | undefined): number {
  const value = flag ?? config.workers;
  if (value === 'auto') return Math.max(1, Math.min(64, availableParallelism()));
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new ZtError(
      'ZT_CLI_USAGE',
      `--workers ${String(value)} is not a number from 1 to 64 or \`auto\``,
    );
  }
  return n;
}

/** What workers would race on, done once: keys, CA, migrations, the config version in force. */
async function prepare(
  configPath: string,
  env: Readonly<Record<string, string | undefined>>,
  log: ServeLog,
): Promise<void> {
  const checked = loadServeConfig(configPath, env);
  const config = checked.loaded.config;
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  loadIdentityKey(config.data_dir, { create: true });
  loadAuditSigningKey(defaultAuditKeyPath(config.data_dir), { create: true });
  const store = await openStore(
    storeOptionsFromUrl(config.store, config.data_dir, { create: true }),
  );
  try {
    await ensureCa(config, store, log);
    await ConfigManager.open({
      versions: store.configVersions,
      settings: store.settings,
      file: checked.loaded,
      onWarning: (code, message) => log.warn(code, message),
    });
  } finally {
    await store.close();
  }
}

/** Runs the primary until every worker has stopped; resolves with the exit code. */
export async function runPrimary(o: {
  readonly configPath: string;
  readonly workers: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: ServeLog;
}): Promise<number> {
  const { log } = o;
  await prepare(o.configPath, o.env, log);
  const workers = new Set<Worker>();
  let stopping = false;
  let ready = 0;
  let failed = false;

  const broadcast = (from: Worker | undefined, message: ClusterMessage): void => {
    for (const w of workers) if (w !== from && w.isConnected()) w.send(message);
  };
  const fork = (): void => {
    const w = cluster.fork({ ZT_CLUSTER_WORKER: '1' });
    workers.add(w);
    w.on('message', (m: unknown) => {
      if (!isClusterMessage(m)) return;
      if (m.ztgate === 'event') broadcast(w, m);
      if (m.ztgate === 'ready' && ++ready === o.workers) {
        log.info('ZT_SERVE_STARTED', `ztgate is serving with ${o.workers} worker processes`, {
          workers: o.workers,
        });
      }
    });
    w.on('exit', (code, signal) => {
      workers.delete(w);
      if (stopping) return;
      failed = true;
      log.error(
        'ZT_SERVE_WORKER_EXITED',
        `worker ${w.process.pid ?? '?'} exited (${signal ?? code}); starting another`,
      );
      setTimeout(() => {
        if (!stopping) fork();
      }, 1_000).unref();
    });
  };

  for (let i = 0; i < o.workers; i++) fork();
  // SQLite: commands publish on the data directory's socket; the primary listens and relays
  const config = loadServeConfig(o.configPath, o.env).loaded.config;
  const storeOptions = storeOptionsFromUrl(config.store, config.data_dir);
  const local =
    storeOptions.kind === 'sqlite'
      ? await LocalEventBus.open({
          dataDir: storeOptions.dataDir,
          listen: true,
          onWarning: (code, message) => log.warn(code, message),
        })
      : undefined;
  local?.subscribe((envelope) =>
    broadcast(undefined, { ztgate: 'event', payload: JSON.stringify(envelope) }),
  );

  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info('ZT_SERVE_STOPPING', `${signal} received: draining ${workers.size} workers`);
      const done = (code: number): void => {
        void (local?.close() ?? Promise.resolve()).finally(() => resolve(code));
      };
      if (workers.size === 0) done(failed ? 1 : 0);
      let clean = true;
      for (const w of workers) {
        w.on('exit', (code) => {
          if (code !== 0) clean = false;
          if (workers.size === 0) done(clean ? 0 : 1);
        });
        w.process.kill('SIGTERM');
      }
    };
    const reload = (): void => {
      void (async () => {
        try {
          await prepare(o.configPath, o.env, log);
          broadcast(undefined, { ztgate: 'reload' });
        } catch (err) {
          log.error(
            'ZT_SERVE_RELOAD_REFUSED',
            `the new configuration was refused; the running one stays:\n${describeError(err)}`,
          );
        }
      })();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', reload);
  });
}

/** The worker side: the event relay through the primary, and reload requests from it. */
export function workerRelay(): EventRelay {
  return {
    send: (payload) => {
      if (process.send) process.send({ ztgate: 'event', payload } satisfies ClusterMessage);
    },
    onMessage: (handler) => {
      const listener = (m: unknown): void => {
        if (isClusterMessage(m) && m.ztgate === 'event') handler(m.payload);
      };
      process.on('message', listener);
      return () => process.off('message', listener);
    },
  };
}

export function workerEventBus(): RelayEventBus {
  return new RelayEventBus(workerRelay());
}

/** Tells the primary this worker serves; reloads when the primary says so. */
export function attachWorker(server: RunningServer, log: ServeLog): void {
  process.on('message', (m: unknown) => {
    if (!isClusterMessage(m) || m.ztgate !== 'reload') return;
    server
      .reload()
      .catch((err: unknown) =>
        log.error('ZT_SERVE_RELOAD_REFUSED', err instanceof Error ? err.message : String(err)),
      );
  });
  // Ctrl-C and hang-ups reach every process of the terminal's group: the primary decides
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  if (process.send) process.send({ ztgate: 'ready' } satisfies ClusterMessage);
}

export const isClusterWorker = (): boolean =>
  cluster.isWorker && process.env.ZT_CLUSTER_WORKER === '1';
