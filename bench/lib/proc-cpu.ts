/**
 * CPU time used by a process and all its descendants (threads included), read from /proc: what
 * a server spent per request during a load phase, whatever else ran on the machine. Linux only;
 * undefined elsewhere. Resolution: one clock tick (10 ms), negligible over a phase of seconds.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_US = 10_000; // sysconf(_SC_CLK_TCK) = 100 on Linux

interface Stat {
  readonly ppid: number;
  /** utime + stime, in ticks */
  readonly ticks: number;
}

function readStats(): Map<number, Stat> {
  const out = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      // the command may contain spaces and parentheses: fields start after the last `)`
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** CPU microseconds used so far by `pid` and its descendants (live ones). */
export function treeCpuUs(pid: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const stats = readStats();
  if (!stats.has(pid)) return undefined;
  let total = 0;
  const queue = [pid];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const p = queue.pop() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    total += stats.get(p)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) queue.push(child);
  }
  return total * TICK_US;
}
