/**
 * The real server for bench:proxy's variant (f): `ztgate serve` (dist/, as users run it) with two
 * workers on SQLite, a route to the benchmark upstream under the engineering policy, and a session
 * cookie of a signed-in user with MFA made directly in the store. Everything else is the product's
 * default: the session cache, the decision cache, signed assertions, the access log (to a file)
 * and the audit log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import { signedInCookie } from '../../test/helpers/sessions.js';

export interface RealServer {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly cookie: string;
  stop(): Promise<void>;
}

export async function startRealServe(o: {
  readonly dir: string;
  readonly port: number;
  readonly upstreamPort: number;
  readonly workers: number;
}): Promise<RealServer> {
  const root = join(import.meta.dirname, '..', '..');
  const bin = join(root, 'bin', 'ztgate.js');
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first');
  }
  const config = join(o.dir, 'serve.yaml');
  writeFileSync(
    config,
    `data_dir: ./serve-data
listen: 127.0.0.1:${o.port}
public_url: https://auth.localhost
workers: ${o.workers}
proxy:
  access_log: ./serve-access.log
routes:
  - from: https://app.localhost
    to: http://127.0.0.1:${o.upstreamPort}
    policy: engineering
    identity_headers: true
policies:
  engineering:
    allow:
      - groups: [engineering]
        mfa: { max_age: 12h }
    deny:
      - risk: { min: 90 }
`,
  );
  const proc = spawn(process.execPath, [bin, 'serve', '--config', config], {
    cwd: o.dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`ztgate serve did not start:\n${log}`)), 60_000);
    proc.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-8000);
      if (/"code":"ZT_SERVE_STARTED"/.test(log)) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (code) => reject(new Error(`ztgate serve exited (${code}):\n${log}`)));
  });
  const dataDir = join(o.dir, 'serve-data');
  const store = await openStore({ kind: 'sqlite', dataDir });
  let cookie: string;
  try {
    cookie = await signedInCookie(store, dataDir, 'bench@example.com', {
      groups: ['engineering'],
      mfa: ['totp'],
    });
  } finally {
    await store.close();
  }
  return {
    proc,
    port: o.port,
    cookie,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}
