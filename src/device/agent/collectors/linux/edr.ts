/**
 * Is one of the configured EDR/antivirus processes running? Process names come from
 * `/proc/<pid>/comm`, which the kernel truncates to 15 characters, so configured names are compared
 * on their first 15 characters. With no names configured (`devices.edr_processes`), the attribute
 * is absent: the agent cannot guess which EDR a site runs.
 */
import {
  collected,
  reason,
  value,
  type Collector,
  type CollectorContext,
  type Outcome,
} from '../types.js';

const COMM_LENGTH = 15;
const MAX_PROCESSES = 32_768;

/** Whether any of `wanted` is among `running` (names compared as the kernel truncates them). */
export function edrRunning(wanted: readonly string[], running: Iterable<string>): boolean {
  const names = new Set(wanted.map((n) => n.slice(0, COMM_LENGTH)));
  for (const r of running) if (names.has(r.trim().slice(0, COMM_LENGTH))) return true;
  return false;
}

export async function linuxProcessNames(ctx: CollectorContext): Promise<string[] | undefined> {
  const entries = await ctx.fs.readDir('/proc');
  if (!entries) return undefined;
  const out: string[] = [];
  for (const pid of entries.filter((e) => /^\d+$/.test(e)).slice(0, MAX_PROCESSES)) {
    const comm = await ctx.fs.readFile(`/proc/${pid}/comm`, 64);
    if (comm) out.push(comm.toString('utf8').trim());
  }
  return out;
}

export async function linuxEdr(ctx: CollectorContext): Promise<Outcome<boolean>> {
  if (ctx.edrProcesses.length === 0)
    return reason('no EDR process names are configured (`devices.edr_processes`)');
  const names = await linuxProcessNames(ctx);
  if (!names) return reason('/proc cannot be read');
  return value(edrRunning(ctx.edrProcesses, names));
}

export const linuxEdrCollector: Collector = {
  name: 'edr',
  provides: ['edr_running'],
  async collect(ctx) {
    return collected({ edr_running: await linuxEdr(ctx) });
  },
};
