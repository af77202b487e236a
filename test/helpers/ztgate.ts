/**
 * Runs the real `ztgate` program (bin/ztgate.js over the compiled dist/) as a child process, the
 * way users run it. `npm test` builds dist/ first; run `npm run build` before running a single
 * test file by hand.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'ztgate.js');

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function ztgate(
  args: readonly string[],
  options: {
    cwd?: string;
    env?: Record<string, string | undefined>;
    stdin?: string;
    timeoutMs?: number;
  } = {},
): Promise<RunResult> {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it)');
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: options.cwd ?? root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** A temporary directory with the given files; removed by the returned cleanup. */
export function tempFiles(files: Record<string, string>): {
  dir: string;
  path: (name: string) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'ztgate-test-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return {
    dir,
    path: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A free TCP port on 127.0.0.1 (bound and released: another process could take it meanwhile). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningZtgate {
  readonly pid: number;
  /** every line written to stderr so far */
  readonly stderrLines: string[];
  readonly stdout: () => string;
  /** waits for a stderr line matching `pattern` */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  signal(name: NodeJS.Signals): void;
  /** resolves with the exit code (or the signal name) */
  readonly exited: Promise<number | string>;
}

/**
 * Starts a long-running `ztgate` command (serve, quickstart) and resolves once a stderr line
 * matches `ready` (default: the server's start line). The process is killed if the test forgets it.
 */
export async function startZtgate(
  args: readonly string[],
  options: {
    cwd?: string;
    env?: Record<string, string | undefined>;
    ready?: RegExp;
    timeoutMs?: number;
  } = {},
): Promise<RunningZtgate> {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it)');
  }
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let out = '';
  let partial = '';
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters) {
        if (w.pattern.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const kill = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  const waitFor = (pattern: RegExp, timeoutMs = 20_000): Promise<string> => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const w = { pattern, resolve };
      waiters.add(w);
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(
          new Error(
            `ztgate did not log ${String(pattern)} in ${timeoutMs} ms:\n${lines.join('\n')}`,
          ),
        );
      }, timeoutMs);
      void exited.then((code) => {
        if (!waiters.has(w)) return;
        waiters.delete(w);
        clearTimeout(timer);
        reject(new Error(`ztgate exited (${String(code)}):\n${lines.join('\n')}\n${out}`));
      });
      const done = w.resolve;
      w.resolve = (line) => {
        clearTimeout(timer);
        done(line);
      };
    });
  };
  await waitFor(options.ready ?? /"code":"ZT_SERVE_STARTED"/, options.timeoutMs ?? 30_000);
  return {
    pid: child.pid ?? 0,
    stderrLines: lines,
    stdout: () => out,
    waitFor,
    signal: (name) => child.kill(name),
    exited,
  };
}
