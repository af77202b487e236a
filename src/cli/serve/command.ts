/**
 * `ztgate serve --config FILE`: runs the server until SIGTERM or SIGINT (drain, then exit 0);
 * SIGHUP reloads the config file. Start-up errors print like every other command's (file:line:col
 * for config problems) and exit 1.
 */
import type { Command } from 'commander';
import { defaultConfigPath } from '../../config/load.js';
import { ExitRequest, reportError, type Io } from '../output.js';
import { configOption } from '../user.js';
import { createServeLog, describeError } from './log.js';
import {
  attachWorker,
  isClusterWorker,
  runPrimary,
  workerCount,
  workerEventBus,
} from './cluster.js';
import { loadServeConfig, startServer, type RunningServer } from './server.js';

/** Runs `server` until a stop signal; resolves with the exit code. */
export function runUntilSignal(
  server: RunningServer,
  io: Io,
  drainMs: number | undefined,
  options: { readonly worker?: boolean } = {},
): Promise<number> {
  const log = createServeLog((line) => io.stderr(`${line}\n`));
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn('ZT_SERVE_STOPPING', `${signal} again: stopping now without waiting`);
        resolve(1);
        return;
      }
      stopping = true;
      log.info('ZT_SERVE_STOPPING', `${signal} received`);
      server.close(drainMs).then(
        () => resolve(0),
        (err: unknown) => {
          log.error('ZT_SERVE_STOPPING', `stopping failed: ${String(err)}`);
          resolve(1);
        },
      );
    };
    const reload = (): void => {
      server.reload().catch((err: unknown) => {
        log.error(
          'ZT_SERVE_RELOAD_REFUSED',
          `the new configuration was refused; the running one stays:\n${describeError(err)}`,
        );
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    // a cluster worker stops and reloads when its primary says so (cluster.ts)
    if (options.worker) return;
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', reload);
  });
}

export function registerServeCommand(program: Command, io: Io): void {
  program
    .command('serve')
    .description(
      'run the server: the identity-aware proxy, forward auth, sign-in, device trust, PKI and audit',
    )
    .addOption(configOption())
    .option(
      '--drain <seconds>',
      'on SIGTERM, how long running requests may finish (default: proxy.drain_timeout, 10 s)',
    )
    .option(
      '--workers <n>',
      'server processes sharing the listener, or `auto` (default: `workers:`)',
    )
    .action(async (opts: { config?: string; drain?: string; workers?: string }) => {
      const drainMs =
        opts.drain === undefined ? undefined : Math.max(0, Number(opts.drain) || 0) * 1000;
      const configPath = opts.config ?? defaultConfigPath(process.env);
      const log = createServeLog((line) => io.stderr(`${line}\n`));
      const worker = isClusterWorker();
      let server: RunningServer;
      try {
        if (!worker) {
          const n = workerCount(
            loadServeConfig(configPath, process.env).loaded.config,
            opts.workers,
          );
          if (n > 1) {
            const code = await runPrimary({ configPath, workers: n, env: process.env, log });
            if (code !== 0) throw new ExitRequest(code);
            return;
          }
        }
        server = await startServer({
          configPath,
          log,
          ...(worker ? { eventBus: workerEventBus, startedCode: 'ZT_SERVE_WORKER_STARTED' } : {}),
        });
      } catch (err) {
        if (err instanceof ExitRequest) throw err;
        throw new ExitRequest(reportError(err, io, 'text'));
      }
      if (worker) attachWorker(server, log);
      const code = await runUntilSignal(server, io, drainMs, { worker });
      // the IPC channel to the primary would keep a drained worker alive
      if (worker) process.disconnect();
      if (code !== 0) throw new ExitRequest(code);
    });
}
