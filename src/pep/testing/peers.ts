/**
 * TEST AND BENCHMARK HELPER: real nginx and Caddy processes for interop tests and the benchmark, each with its own config,
 * prefix and temp paths in a temporary directory, on a free 127.0.0.1 port. `stop()` kills the
 * process and removes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open: ${log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Peer {
  readonly port: number;
  readonly dir: string;
  readonly pid: number | undefined;
  log(): string;
  stop(): Promise<void>;
}

async function start(
  command: string,
  args: (dir: string) => string[],
  files: (dir: string) => Record<string, string>,
  port: number,
  env: (dir: string) => Record<string, string> = () => ({}),
): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), `ztgate-${command}-`));
  for (const [name, content] of Object.entries(files(dir))) writeFileSync(join(dir, name), content);
  let output = '';
  const child = spawn(command, args(dir), {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env(dir) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const log = () => {
    let errorLog = '';
    try {
      errorLog = readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      // no file log
    }
    return `${output}${errorLog}`.slice(-4000);
  };
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGTERM: an nginx master stops its workers (SIGKILL would orphan them)
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, dir, pid: child.pid, log, stop };
}

/**
 * nginx with `daemon off`, its pid and temp paths under its directory. `server` is the body of the
 * `http {}` block's server(s); `{{dir}}` in it is replaced.
 */
export async function startNginx(
  http: (dir: string, port: number) => string,
  options: { workers?: number } = {},
): Promise<Peer> {
  const port = await freePort();
  const workers = options.workers ?? 1;
  return start(
    'nginx',
    (dir) => ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')],
    (dir) => {
      for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, t));
      return {
        'nginx.conf': [
          'daemon off;',
          workers === 1 ? 'master_process off;' : 'master_process on;',
          `worker_processes ${workers};`,
          `pid ${join(dir, 'nginx.pid')};`,
          `error_log ${join(dir, 'error.log')} warn;`,
          'events { worker_connections 4096; }',
          'http {',
          '  access_log off;',
          `  client_body_temp_path ${join(dir, 'body')};`,
          `  proxy_temp_path ${join(dir, 'proxy')};`,
          `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
          `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
          `  scgi_temp_path ${join(dir, 'scgi')};`,
          http(dir, port),
          '}',
          '',
        ].join('\n'),
      };
    },
    port,
  );
}

/** Caddy with `admin off` and `auto_https off`; `site` is the rest of the Caddyfile. */
export async function startCaddy(site: (port: number) => string): Promise<Peer> {
  const port = await freePort();
  return start(
    'caddy',
    (dir) => ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'],
    () => ({
      Caddyfile: `{\n\tadmin off\n\tauto_https off\n}\n\n${site(port)}\n`,
    }),
    port,
    (dir) => ({ XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') }),
  );
}
