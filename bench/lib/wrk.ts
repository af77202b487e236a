/**
 * Runs wrk (HTTP/1.1 keep-alive load generator) against a URL and reads its results through a Lua
 * `done()` hook that prints exact numbers (requests, duration, latency percentiles in µs, errors),
 * rather than parsing wrk's rounded text report.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** latency percentiles in µs */
  readonly p50_us: number;
  readonly p90_us: number;
  readonly p99_us: number;
  readonly max_us: number;
  /** non-2xx/3xx responses, socket errors and timeouts */
  readonly errors: number;
}

export interface WrkOptions {
  readonly url: string;
  readonly connections: number;
  readonly threads: number;
  readonly seconds: number;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Lua for each request instead of fixed headers: the body of `request = function() ... end`,
   * with `counter` (this thread's counter, starting at the thread index) and `step` (threads).
   */
  readonly requestLua?: string;
  /** added to every thread's counter (continue where a previous run stopped) */
  readonly counterStart?: number;
}

const DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.status + e.timeout))
end
`;

function luaString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ztgate-wrk-'));
  const script = join(dir, 'bench.lua');
  const headers = Object.entries(options.headers)
    .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`)
    .join('\n');
  const perRequest =
    options.requestLua === undefined
      ? ''
      : `
local thread_index = 0
setup = function(thread)
  thread:set("offset", thread_index)
  thread_index = thread_index + 1
end
init = function(args)
  counter = (tonumber(offset) or 0) + ${options.counterStart ?? 0}
  step = ${options.threads}
end
request = function()
${options.requestLua}
end
`;
  writeFileSync(script, `${headers}\n${perRequest}\n${DONE}`);
  return new Promise((resolve, reject) => {
    execFile(
      'wrk',
      [
        '-t',
        String(options.threads),
        '-c',
        String(options.connections),
        '-d',
        `${options.seconds}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        options.url,
      ],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        rmSync(dir, { recursive: true, force: true });
        const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
        if (err || !line) {
          reject(new Error(`wrk failed: ${err?.message ?? ''} ${stderr} ${stdout}`));
          return;
        }
        const r = JSON.parse(line.slice(8)) as {
          requests: number;
          duration_us: number;
          p50: number;
          p90: number;
          p99: number;
          max: number;
          errors: number;
        };
        const seconds = r.duration_us / 1e6;
        resolve({
          requests: r.requests,
          seconds,
          rps: r.requests / seconds,
          p50_us: r.p50,
          p90_us: r.p90,
          p99_us: r.p99,
          max_us: r.max,
          errors: r.errors,
        });
      },
    );
  });
}
