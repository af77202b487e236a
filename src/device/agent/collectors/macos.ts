/**
 * macOS collectors: each a pure parser of a system command's output, and a collector that runs the
 * command through the injected runner.
 *
 * | attribute          | command                                                     |
 * |--------------------|-------------------------------------------------------------|
 * | os_name/os_version | `sw_vers`                                                   |
 * | kernel             | `uname -r` (the Darwin release)                             |
 * | disk_encrypted     | `fdesetup status`                                           |
 * | firewall           | `/usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate` |
 * | os_patch_age_days  | `softwareupdate --history`                                  |
 * | screen_lock        | `sysadminctl -screenLock status` (as the agent's user)       |
 * | edr_running        | `ps -axco comm`                                             |
 */
import { edrRunning } from './linux/edr.js';
import {
  collected,
  commandFailure,
  daysSince,
  firstLine,
  reason,
  value,
  type Collector,
  type CollectorContext,
  type Outcome,
} from './types.js';

/** `ProductName:\tmacOS` / `ProductVersion:\t14.4.1` / `BuildVersion:\t23E224`. */
export function parseSwVers(text: string): {
  os_name: Outcome<string>;
  os_version: Outcome<string>;
} {
  const kv: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(\w+):\s*(.+?)\s*$/.exec(line);
    if (m && m[1] && m[2]) kv[m[1]] = m[2];
  }
  return {
    os_name: kv.ProductName ? value(kv.ProductName) : reason('sw_vers printed no ProductName'),
    os_version: kv.ProductVersion
      ? value(kv.ProductVersion)
      : reason('sw_vers printed no ProductVersion'),
  };
}

/**
 * `fdesetup status`: `FileVault is On.` is true. `FileVault is Off.`, `Encryption in progress:
 * Percent completed = 42.1` (partly encrypted), `Decryption in progress`, and "Off, but will be
 * enabled after the next restart" are false.
 */
export function parseFdesetupStatus(text: string): Outcome<boolean> {
  if (/Encryption in progress/i.test(text)) return value(false);
  if (/Decryption in progress/i.test(text)) return value(false);
  if (/FileVault is Off/i.test(text)) return value(false);
  if (/FileVault is On/i.test(text)) return value(true);
  return reason(`fdesetup printed \`${firstLine(text, 60)}\``);
}

/** `Firewall is enabled. (State = 1)`; state 1 (on) and 2 (block all) are true, 0 is false. */
export function parseSocketFilterState(text: string): Outcome<boolean> {
  const m = /State\s*=\s*(\d)/.exec(text);
  if (m) return value(m[1] !== '0');
  if (/Firewall is (enabled|blocking)/i.test(text)) return value(true);
  if (/Firewall is disabled/i.test(text)) return value(false);
  return reason(`socketfilterfw printed \`${firstLine(text, 60)}\``);
}

/** The updates that count as OS patches (not the frequent XProtect/MRT/Gatekeeper data files). */
export function isOsUpdate(name: string): boolean {
  if (/XProtect|MRTConfigData|Gatekeeper|Compatibility Data|Font|Printer|Safari/i.test(name))
    return false;
  return /macOS|OS X|Security|Rapid Security Response|Background Security/i.test(name);
}

/**
 * `softwareupdate --history`: a table of name, version and date. Dates are locale dependent:
 * `04/02/2024, 10:15:32` (en_US), `02.04.2024, 10:15:32` (de_DE and others), `02/04/2024 10:15`
 * (en_GB) or ISO `2024-04-02 10:15:32`. Returns the newest OS update, ms (local time).
 */
export function parseSoftwareUpdateHistory(
  text: string,
  locale: 'mdy' | 'dmy' = 'mdy',
): number | undefined {
  let best: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    let t: number | undefined;
    let name: string;
    const iso = /^(.*?)\s+(\d{4})-(\d{2})-(\d{2})[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(
      line,
    );
    const dotted =
      /^(.*?)\s+(\d{1,2})\.(\d{1,2})\.(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(line);
    const slashed =
      /^(.*?)\s+(\d{1,2})\/(\d{1,2})\/(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(line);
    if (iso) {
      name = iso[1] ?? '';
      t = new Date(
        +(iso[2] ?? 0),
        +(iso[3] ?? 1) - 1,
        +(iso[4] ?? 1),
        +(iso[5] ?? 0),
        +(iso[6] ?? 0),
        +(iso[7] ?? 0),
      ).getTime();
    } else if (dotted) {
      name = dotted[1] ?? '';
      t = new Date(
        +(dotted[4] ?? 0),
        +(dotted[3] ?? 1) - 1,
        +(dotted[2] ?? 1),
        +(dotted[5] ?? 0),
        +(dotted[6] ?? 0),
        +(dotted[7] ?? 0),
      ).getTime();
    } else if (slashed) {
      name = slashed[1] ?? '';
      const a = +(slashed[2] ?? 1);
      const b = +(slashed[3] ?? 1);
      // a first part above 12 can only be a day
      const [month, day] = locale === 'dmy' || a > 12 ? [b, a] : [a, b];
      t = new Date(
        +(slashed[4] ?? 0),
        month - 1,
        day,
        +(slashed[5] ?? 0),
        +(slashed[6] ?? 0),
        +(slashed[7] ?? 0),
      ).getTime();
    } else {
      continue;
    }
    if (!isOsUpdate(name.trim())) continue;
    if (Number.isFinite(t) && (best === undefined || t > best)) best = t;
  }
  return best;
}

/** `sysadminctl -screenLock status` (it prints to stderr): `screenLock delay is 300 seconds`, `screenLock is off`, `screenLock is immediate`. */
export function parseSysadminctlScreenLock(text: string): Outcome<boolean> {
  if (/screenLock is off/i.test(text)) return value(false);
  if (/screenLock is immediate/i.test(text)) return value(true);
  const m = /screenLock delay is (\d+) seconds/i.exec(text);
  if (m) return value(true);
  return reason(`sysadminctl printed \`${firstLine(text, 60)}\``);
}

async function runText(
  ctx: CollectorContext,
  cmd: string,
  args: string[],
): Promise<{ text: string } | { reason: string }> {
  const r = await ctx.run(cmd, args, { timeoutMs: ctx.commandTimeoutMs });
  const f = commandFailure(`${cmd.split('/').pop() ?? cmd} ${args.join(' ')}`.trim(), r);
  return f ? { reason: f } : { text: `${r.stdout}\n${r.stderr}` };
}

export const macosCollectors: readonly Collector[] = [
  {
    name: 'macos-os',
    provides: ['os', 'os_name', 'os_version', 'kernel', 'agent_version'],
    async collect(ctx) {
      const sw = await runText(ctx, 'sw_vers', []);
      const os =
        'text' in sw
          ? parseSwVers(sw.text)
          : { os_name: reason(sw.reason), os_version: reason(sw.reason) };
      const kernel = ctx.kernelRelease();
      return collected({
        os: value('macos'),
        ...os,
        kernel: kernel ? value(kernel) : reason('the kernel release is unknown'),
        agent_version: value(ctx.agentVersion),
      });
    },
  },
  {
    name: 'filevault',
    provides: ['disk_encrypted'],
    async collect(ctx) {
      const r = await runText(ctx, 'fdesetup', ['status']);
      return collected({ disk_encrypted: 'text' in r ? parseFdesetupStatus(r.text) : r });
    },
  },
  {
    name: 'application-firewall',
    provides: ['firewall'],
    async collect(ctx) {
      const r = await runText(ctx, '/usr/libexec/ApplicationFirewall/socketfilterfw', [
        '--getglobalstate',
      ]);
      return collected({ firewall: 'text' in r ? parseSocketFilterState(r.text) : r });
    },
  },
  {
    name: 'softwareupdate',
    provides: ['os_patch_age_days'],
    async collect(ctx) {
      const r = await runText(ctx, 'softwareupdate', ['--history']);
      if (!('text' in r)) return collected({ os_patch_age_days: r });
      const t = parseSoftwareUpdateHistory(r.text);
      return collected({
        os_patch_age_days:
          t === undefined
            ? reason('softwareupdate lists no macOS or security update')
            : value(daysSince(t, ctx.now())),
      });
    },
  },
  {
    name: 'macos-screen-lock',
    provides: ['screen_lock'],
    async collect(ctx) {
      const r = await runText(ctx, 'sysadminctl', ['-screenLock', 'status']);
      return collected({ screen_lock: 'text' in r ? parseSysadminctlScreenLock(r.text) : r });
    },
  },
  {
    name: 'macos-edr',
    provides: ['edr_running'],
    async collect(ctx) {
      if (ctx.edrProcesses.length === 0)
        return collected({
          edr_running: reason('no EDR process names are configured (`devices.edr_processes`)'),
        });
      const r = await runText(ctx, 'ps', ['-axco', 'comm']);
      return collected({
        edr_running: 'text' in r ? value(edrRunning(ctx.edrProcesses, r.text.split(/\r?\n/))) : r,
      });
    },
  },
];
