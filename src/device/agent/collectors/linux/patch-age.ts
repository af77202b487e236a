/**
 * Days since the last operating system update was installed.
 *
 * Debian and Ubuntu: the newest of (a) the end of the last apt run that upgraded packages, from
 * `/var/log/apt/history.log` and its rotations (`history.log.1`, `history.log.2.gz`, ...), and
 * (b) the last unattended-upgrades run (`/var/lib/apt/periodic/upgrade-stamp` and
 * `unattended-upgrades-stamp`): when it runs and finds nothing to install, nothing is pending.
 * RPM systems: the newest package install time (`rpm -qa --qf '%{INSTALLTIME}\n'`, or the
 * `rpm -qa --last` listing).
 *
 * apt's history has no record of which upgrade was a security one, so this is the age of the
 * last update of any kind: a device patched yesterday has 1, whatever was patched.
 */
import {
  commandFailure,
  collected,
  daysSince,
  reason,
  value,
  type Collector,
  type CollectorContext,
  type Outcome,
} from '../types.js';

export interface AptHistoryEntry {
  /** local time of End-Date (or Start-Date), ms */
  readonly at: number;
  readonly upgraded: boolean;
  readonly commandLine: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})\s+(\d{2}):(\d{2}):(\d{2})$/;

/** apt writes local times without a zone; they are read in the machine's zone. */
function localTime(text: string): number | undefined {
  const m = DATE.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const t = new Date(y, mo - 1, d, h, mi, s).getTime();
  return Number.isFinite(t) ? t : undefined;
}

export function parseAptHistory(text: string): AptHistoryEntry[] {
  const out: AptHistoryEntry[] = [];
  for (const block of text.split(/\r?\n\s*\r?\n/)) {
    let start: number | undefined;
    let end: number | undefined;
    let upgraded = false;
    let commandLine = '';
    for (const line of block.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const key = line.slice(0, i).trim();
      const val = line.slice(i + 1).trim();
      if (key === 'Start-Date') start = localTime(val);
      else if (key === 'End-Date') end = localTime(val);
      else if (key === 'Upgrade' && val !== '') upgraded = true;
      else if (key === 'Commandline') commandLine = val;
    }
    const at = end ?? start;
    if (at !== undefined) out.push({ at, upgraded, commandLine });
  }
  return out;
}

/** The time of the last apt run that upgraded something, or undefined. */
export function lastAptUpgrade(entries: readonly AptHistoryEntry[]): number | undefined {
  let best: number | undefined;
  for (const e of entries) if (e.upgraded && (best === undefined || e.at > best)) best = e.at;
  return best;
}

/** `%{INSTALLTIME}` lines (Unix seconds): the newest, in ms. */
export function parseRpmInstallTimes(text: string): number | undefined {
  let best: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(\d{9,11})\b/.exec(line);
    if (!m) continue;
    const t = Number(m[1]) * 1000;
    if (best === undefined || t > best) best = t;
  }
  return best;
}

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

/**
 * `rpm -qa --last` in the C locale: `name-version  Tue 14 Nov 2023 10:22:01 AM UTC` (newer rpm) or
 * `name-version  Tue Nov 14 10:22:01 2023` (older). Returns the newest time, ms (UTC zones only
 * are exact; others are read as local time).
 */
export function parseRpmLast(text: string): number | undefined {
  let best: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    let t: number | undefined;
    const a =
      /\s(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?: (AM|PM))?(?: ([A-Z]{2,5}))?\s*$/.exec(
        line,
      );
    const b = /\s([A-Z][a-z]{2}) +(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2}) (\d{4})\s*$/.exec(line);
    if (a) {
      const [, d, mon, y, h, mi, s, ampm, zone] = a;
      let hour = Number(h);
      if (ampm === 'PM' && hour < 12) hour += 12;
      if (ampm === 'AM' && hour === 12) hour = 0;
      const month = MONTHS[(mon ?? '').toLowerCase()];
      if (month === undefined) continue;
      t =
        zone === 'UTC' || zone === 'GMT'
          ? Date.UTC(Number(y), month, Number(d), hour, Number(mi), Number(s))
          : new Date(Number(y), month, Number(d), hour, Number(mi), Number(s)).getTime();
    } else if (b) {
      const [, mon, d, h, mi, s, y] = b;
      const month = MONTHS[(mon ?? '').toLowerCase()];
      if (month === undefined) continue;
      t = new Date(Number(y), month, Number(d), Number(h), Number(mi), Number(s)).getTime();
    }
    if (t !== undefined && Number.isFinite(t) && (best === undefined || t > best)) best = t;
  }
  return best;
}

const APT_STAMPS = [
  '/var/lib/apt/periodic/upgrade-stamp',
  '/var/lib/apt/periodic/unattended-upgrades-stamp',
];

async function aptLastUpdate(ctx: CollectorContext): Promise<{ at?: number; why: string }> {
  let best: number | undefined;
  for (const stamp of APT_STAMPS) {
    const t = await ctx.fs.mtime(stamp);
    if (t !== undefined && (best === undefined || t > best)) best = t;
  }
  const names = (await ctx.fs.readDir('/var/log/apt')) ?? [];
  const logs = names
    .map((n) => ({ n, i: /^history\.log(?:\.(\d{1,3}))?(\.gz)?$/.exec(n) }))
    .filter((x) => x.i)
    .sort((x, y) => Number(x.i?.[1] ?? 0) - Number(y.i?.[1] ?? 0))
    .slice(0, 16);
  for (const { n } of logs) {
    const data = await ctx.fs.readFile(`/var/log/apt/${n}`, 8 * 1024 * 1024);
    if (!data) continue;
    const t = lastAptUpgrade(parseAptHistory(data.toString('utf8')));
    if (t !== undefined) {
      if (best === undefined || t > best) best = t;
      break; // rotations are older
    }
  }
  if (best !== undefined) return { at: best, why: '' };
  return {
    why:
      logs.length === 0
        ? 'no apt history log and no unattended-upgrades stamp'
        : 'the apt history records no upgrade',
  };
}

export async function linuxPatchAge(ctx: CollectorContext): Promise<Outcome<number>> {
  const isDpkg = (await ctx.fs.readDir('/var/lib/dpkg')) !== undefined;
  if (isDpkg) {
    const apt = await aptLastUpdate(ctx);
    return apt.at !== undefined ? value(daysSince(apt.at, ctx.now())) : reason(apt.why);
  }
  const r = await ctx.run('rpm', ['-qa', '--qf', '%{INSTALLTIME}\\n'], {
    timeoutMs: ctx.commandTimeoutMs,
  });
  const failure = commandFailure('rpm -qa', r);
  if (failure) return reason(`neither dpkg nor rpm: ${failure}`);
  const t = parseRpmInstallTimes(r.stdout);
  return t !== undefined
    ? value(daysSince(t, ctx.now()))
    : reason('rpm lists no installed package');
}

export const linuxPatchAgeCollector: Collector = {
  name: 'patch-age',
  provides: ['os_patch_age_days'],
  async collect(ctx) {
    return collected({ os_patch_age_days: await linuxPatchAge(ctx) });
  },
};
