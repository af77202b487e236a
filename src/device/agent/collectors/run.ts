/**
 * Running collectors: each in its own time budget, none able to throw or hang the agent; and the
 * real command runner and file reader for the machine the agent runs on.
 */
import { spawn } from 'node:child_process';
import { open, readdir, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { PostureValue } from '../../../pdp/input.js';
import { checkAgentAttribute } from '../../posture/report.js';
import type {
  Collected,
  Collector,
  CollectorContext,
  CommandResult,
  CommandRunner,
  HostFs,
  RunOptions,
} from './types.js';

export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
export const DEFAULT_COLLECTOR_TIMEOUT_MS = 15_000;
const MAX_OUTPUT_BYTES = 1024 * 1024;

export interface CollectionResult extends Collected {
  /** per collector: how long it took, ms */
  readonly timings: Readonly<Record<string, number>>;
}

function timeout(ms: number): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Runs every collector concurrently, each bounded by `timeoutMs`. A collector that throws or
 * times out leaves all its attributes unavailable with the reason. Values that break the posture
 * schema are dropped and recorded too, so the server never refuses a report for a collector bug.
 */
export async function runCollectors(
  collectors: readonly Collector[],
  ctx: CollectorContext,
  timeoutMs = DEFAULT_COLLECTOR_TIMEOUT_MS,
): Promise<CollectionResult> {
  const attributes: Record<string, PostureValue> = {};
  const unavailable: Record<string, string> = {};
  const timings: Record<string, number> = {};
  await Promise.all(
    collectors.map(async (c) => {
      const started = Date.now();
      const t = timeout(timeoutMs);
      let result: Collected;
      try {
        result = await Promise.race([c.collect(ctx), t.promise]);
      } catch (err) {
        const why = `collector \`${c.name}\` failed: ${err instanceof Error ? err.message : String(err)}`;
        result = {
          attributes: {},
          unavailable: Object.fromEntries(c.provides.map((p) => [p, why])),
        };
      } finally {
        t.cancel();
      }
      timings[c.name] = Date.now() - started;
      for (const name of c.provides) {
        if (Object.hasOwn(result.attributes, name)) {
          const v = result.attributes[name] as PostureValue;
          const bad = checkAgentAttribute(name, v);
          if (bad) unavailable[name] = `collector \`${c.name}\` produced an invalid value: ${bad}`;
          else attributes[name] = v;
        } else {
          unavailable[name] = result.unavailable[name] ?? `collector \`${c.name}\` gave no value`;
        }
      }
    }),
  );
  for (const name of Object.keys(unavailable)) {
    const r = unavailable[name] as string;
    if (r.length > 200) unavailable[name] = `${r.slice(0, 199)}…`;
  }
  return { attributes, unavailable, timings };
}

/** Runs a program (never through a shell) with `LC_ALL=C`, bounded in time and output. Never throws. */
export const nodeCommandRunner: CommandRunner = (command, args, options: RunOptions = {}) =>
  new Promise<CommandResult>((resolve) => {
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const env: Record<string, string> = {
      PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/bin:/bin`,
      LC_ALL: 'C',
      LANG: 'C',
      ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
      ...(process.platform === 'win32' && process.env.SystemRoot
        ? { SystemRoot: process.env.SystemRoot }
        : {}),
      ...options.env,
    };
    let stdout = '';
    let stderr = '';
    let size = 0;
    let settled = false;
    const finish = (r: CommandResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, [...args], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      resolve({
        code: null,
        stdout: '',
        stderr: '',
        error: `could not start: ${(err as Error).message}`,
      });
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ code: null, stdout, stderr, error: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    const take = (which: 'out' | 'err') => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        child.kill('SIGKILL');
        finish({ code: null, stdout, stderr, error: 'printed more output than accepted' });
        return;
      }
      if (which === 'out') stdout += chunk.toString('utf8');
      else stderr += chunk.toString('utf8');
    };
    child.stdout?.on('data', take('out'));
    child.stderr?.on('data', take('err'));
    child.on('error', (err: NodeJS.ErrnoException) =>
      finish({
        code: null,
        stdout,
        stderr,
        error: err.code === 'ENOENT' ? 'is not installed' : `could not run: ${err.message}`,
      }),
    );
    child.on('close', (code) => finish({ code, stdout, stderr }));
  });

/** Reads real files, bounded; `.gz` files are decompressed (bounded too). Never throws. */
export const nodeHostFs: HostFs = {
  async readFile(path, maxBytes = 4 * 1024 * 1024) {
    try {
      const handle = await open(path, 'r');
      try {
        const buf = Buffer.alloc(maxBytes);
        let total = 0;
        while (total < maxBytes) {
          const { bytesRead } = await handle.read(buf, total, maxBytes - total, null);
          if (bytesRead === 0) break;
          total += bytesRead;
        }
        const data = buf.subarray(0, total);
        return path.endsWith('.gz') ? gunzipSync(data, { maxOutputLength: maxBytes * 4 }) : data;
      } finally {
        await handle.close();
      }
    } catch {
      return undefined;
    }
  },
  async readDir(path) {
    try {
      return await readdir(path);
    } catch {
      return undefined;
    }
  },
  async mtime(path) {
    try {
      return (await stat(path)).mtimeMs;
    } catch {
      return undefined;
    }
  },
};
