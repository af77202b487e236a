/**
 * Windows collectors: pure parsers of PowerShell's JSON (locale independent: enums come out as
 * numbers) and of `manage-bde -status` text (English and German), and collectors that run them.
 *
 * | attribute          | command (PowerShell, `ConvertTo-Json`)                              |
 * |--------------------|---------------------------------------------------------------------|
 * | os_name/os_version | `Get-CimInstance Win32_OperatingSystem`                             |
 * | disk_encrypted     | `Get-BitLockerVolume` (fallback: `manage-bde -status C:`)           |
 * | firewall           | `Get-NetFirewallProfile`                                            |
 * | edr_running        | `Get-MpComputerStatus` (Defender) and the configured EDR processes  |
 * | os_patch_age_days  | `Get-HotFix`                                                        |
 */
import { edrRunning } from './linux/edr.js';
import {
  collected,
  commandFailure,
  daysSince,
  reason,
  value,
  type Collector,
  type CollectorContext,
  type Outcome,
} from './types.js';

function parseJsonList(text: string): Record<string, unknown>[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
  const list = Array.isArray(v) ? v : [v];
  return list.every((x) => x !== null && typeof x === 'object')
    ? (list as Record<string, unknown>[])
    : undefined;
}

/** PowerShell enums come out as numbers; `Select-Object` with string casts gives names. */
function enumName(v: unknown, names: readonly string[]): string | undefined {
  if (typeof v === 'number') return names[v];
  if (typeof v === 'string') return v;
  return undefined;
}

const VOLUME_STATUS = [
  'FullyDecrypted',
  'FullyEncrypted',
  'EncryptionInProgress',
  'DecryptionInProgress',
  'EncryptionPaused',
  'DecryptionPaused',
];
const PROTECTION_STATUS = ['Off', 'On', 'Unknown'];
const VOLUME_TYPE = ['OperatingSystem', 'FixedData', 'Data'];

/**
 * `Get-BitLockerVolume | Select-Object MountPoint,VolumeType,VolumeStatus,ProtectionStatus,EncryptionPercentage | ConvertTo-Json`:
 * the system volume (`VolumeType` OperatingSystem, else the `systemDrive` mount point) must be
 * `FullyEncrypted` with protection `On`. Encryption in progress or paused, or protection suspended,
 * is false.
 */
export function parseBitLockerVolumes(json: string, systemDrive = 'C:'): Outcome<boolean> {
  const list = parseJsonList(json);
  if (!list) return reason('Get-BitLockerVolume printed something that is not JSON objects');
  const os =
    list.find((v) => enumName(v.VolumeType, VOLUME_TYPE) === 'OperatingSystem') ??
    list.find(
      (v) =>
        typeof v.MountPoint === 'string' &&
        v.MountPoint.toUpperCase() === systemDrive.toUpperCase(),
    );
  if (!os) return reason('Get-BitLockerVolume lists no operating system volume');
  const status = enumName(os.VolumeStatus, VOLUME_STATUS);
  const protection = enumName(os.ProtectionStatus, PROTECTION_STATUS);
  if (status === undefined || protection === undefined)
    return reason('Get-BitLockerVolume gave no VolumeStatus or ProtectionStatus');
  return value(status === 'FullyEncrypted' && protection === 'On');
}

/**
 * `manage-bde -status C:` text, English or German. Fully encrypted with protection on is true;
 * anything else (decrypted, in progress, protection off/suspended) is false.
 */
export function parseManageBde(text: string): Outcome<boolean> {
  const field = (labels: RegExp): string | undefined => {
    for (const line of text.split(/\r?\n/)) {
      const m = /^\s*([^:]+?):\s*(.+?)\s*$/.exec(line);
      if (m && m[1] && m[2] && labels.test(m[1])) return m[2];
    }
    return undefined;
  };
  const conversion = field(/^(Conversion Status|Konvertierungsstatus|État de la conversion)$/i);
  const protection = field(/^(Protection Status|Schutzstatus|État de la protection)$/i);
  if (conversion === undefined || protection === undefined)
    return reason('manage-bde printed no conversion or protection status (unknown language?)');
  const full =
    /^(Fully Encrypted|Vollständig verschlüsselt|Chiffrement entièrement effectué|Entièrement chiffré)$/i.test(
      conversion,
    );
  const on = /(Protection On|Der Schutz ist aktiviert|Schutz aktiviert|Protection activée)/i.test(
    protection,
  );
  return value(full && on);
}

/**
 * `Get-NetFirewallProfile | Select-Object Name,Enabled,DefaultInboundAction | ConvertTo-Json`:
 * true when every profile (Domain, Private, Public) is enabled and does not allow inbound by default.
 * `Enabled` is a GpoBoolean (0 False, 1 True, 2 NotConfigured) or a boolean; `DefaultInboundAction`
 * an Action (0 NotConfigured, 2 Allow, 4 Block) or its name.
 */
export function parseFirewallProfiles(json: string): Outcome<boolean> {
  const list = parseJsonList(json);
  if (!list || list.length === 0) return reason('Get-NetFirewallProfile printed no profiles');
  for (const p of list) {
    const enabled = p.Enabled === true || p.Enabled === 1 || p.Enabled === 'True';
    const inbound = p.DefaultInboundAction;
    const allows = inbound === 2 || inbound === 'Allow';
    if (!enabled || allows) return value(false);
  }
  return value(true);
}

/**
 * `Get-MpComputerStatus | Select-Object AMServiceEnabled,AntivirusEnabled,RealTimeProtectionEnabled,AMRunningMode | ConvertTo-Json`:
 * Defender protects when its service and antivirus are enabled, real-time protection is on and it
 * is not in passive mode (another antivirus is primary).
 */
export function parseDefenderStatus(json: string): Outcome<boolean> {
  const list = parseJsonList(json);
  const s = list?.[0];
  if (!s) return reason('Get-MpComputerStatus printed no status');
  if (typeof s.RealTimeProtectionEnabled !== 'boolean')
    return reason('Get-MpComputerStatus gave no RealTimeProtectionEnabled');
  const mode = typeof s.AMRunningMode === 'string' ? s.AMRunningMode : 'Normal';
  return value(
    s.AMServiceEnabled === true &&
      s.AntivirusEnabled === true &&
      s.RealTimeProtectionEnabled === true &&
      /^Normal$/i.test(mode),
  );
}

/** `/Date(1712016000000)/` (Windows PowerShell 5.1), an ISO string (PowerShell 7), or `{value, DateTime}`. */
export function parsePsDate(v: unknown): number | undefined {
  if (v !== null && typeof v === 'object' && 'value' in v) return parsePsDate(v.value);
  if (typeof v !== 'string') return undefined;
  const ms = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(v);
  if (ms) return Number(ms[1]);
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/** `Get-HotFix | Select-Object HotFixID,Description,InstalledOn | ConvertTo-Json`: the newest install. */
export function parseHotFixes(json: string): number | undefined {
  const list = parseJsonList(json);
  if (!list) return undefined;
  let best: number | undefined;
  for (const h of list) {
    const t = parsePsDate(h.InstalledOn);
    if (t !== undefined && (best === undefined || t > best)) best = t;
  }
  return best;
}

/** `Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version | ConvertTo-Json`. */
export function parseWindowsOs(json: string): {
  os_name: Outcome<string>;
  os_version: Outcome<string>;
} {
  const o = parseJsonList(json)?.[0];
  const caption = typeof o?.Caption === 'string' ? o.Caption.trim() : '';
  const version = typeof o?.Version === 'string' ? o.Version.trim() : '';
  return {
    os_name: caption ? value(caption) : reason('Win32_OperatingSystem gave no Caption'),
    os_version: version ? value(version) : reason('Win32_OperatingSystem gave no Version'),
  };
}

async function powershell(
  ctx: CollectorContext,
  script: string,
): Promise<{ text: string } | { reason: string }> {
  const r = await ctx.run(
    'powershell.exe',
    ['-NoProfile', '-NonInteractive', '-Command', `${script} | ConvertTo-Json -Compress`],
    {
      timeoutMs: ctx.commandTimeoutMs * 2,
    },
  );
  const f = commandFailure(script.split(' ')[0] ?? 'powershell', r);
  return f ? { reason: f } : { text: r.stdout };
}

export const windowsCollectors: readonly Collector[] = [
  {
    name: 'windows-os',
    provides: ['os', 'os_name', 'os_version', 'kernel', 'agent_version'],
    async collect(ctx) {
      const r = await powershell(
        ctx,
        'Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version',
      );
      const os =
        'text' in r
          ? parseWindowsOs(r.text)
          : { os_name: reason(r.reason), os_version: reason(r.reason) };
      const kernel = ctx.kernelRelease();
      return collected({
        os: value('windows'),
        ...os,
        kernel: kernel ? value(kernel) : reason('the kernel release is unknown'),
        agent_version: value(ctx.agentVersion),
      });
    },
  },
  {
    name: 'bitlocker',
    provides: ['disk_encrypted'],
    async collect(ctx) {
      const r = await powershell(
        ctx,
        'Get-BitLockerVolume | Select-Object MountPoint,VolumeType,VolumeStatus,ProtectionStatus,EncryptionPercentage',
      );
      if ('text' in r) {
        const out = parseBitLockerVolumes(r.text);
        if ('value' in out) return collected({ disk_encrypted: out });
      }
      const bde = await ctx.run('manage-bde', ['-status', 'C:'], {
        timeoutMs: ctx.commandTimeoutMs,
      });
      const f = commandFailure('manage-bde -status', bde);
      return collected({
        disk_encrypted: f
          ? reason(`${'reason' in r ? r.reason : 'Get-BitLockerVolume unreadable'}; ${f}`)
          : parseManageBde(bde.stdout),
      });
    },
  },
  {
    name: 'windows-firewall',
    provides: ['firewall'],
    async collect(ctx) {
      const r = await powershell(
        ctx,
        'Get-NetFirewallProfile | Select-Object Name,Enabled,DefaultInboundAction',
      );
      return collected({ firewall: 'text' in r ? parseFirewallProfiles(r.text) : r });
    },
  },
  {
    name: 'defender',
    provides: ['edr_running'],
    async collect(ctx) {
      const r = await powershell(
        ctx,
        'Get-MpComputerStatus | Select-Object AMServiceEnabled,AntivirusEnabled,RealTimeProtectionEnabled,AMRunningMode',
      );
      const defender = 'text' in r ? parseDefenderStatus(r.text) : r;
      if ('value' in defender && defender.value) return collected({ edr_running: defender });
      if (ctx.edrProcesses.length > 0) {
        const p = await powershell(ctx, 'Get-Process | Select-Object -ExpandProperty ProcessName');
        if ('text' in p) {
          let names: unknown;
          try {
            names = JSON.parse(p.text);
          } catch {
            names = [];
          }
          const list = Array.isArray(names)
            ? names.filter((n): n is string => typeof n === 'string')
            : [];
          return collected({
            edr_running: value(
              edrRunning(
                ctx.edrProcesses.map((n) => n.replace(/\.exe$/i, '')),
                list,
              ),
            ),
          });
        }
      }
      return collected({ edr_running: defender });
    },
  },
  {
    name: 'hotfix',
    provides: ['os_patch_age_days'],
    async collect(ctx) {
      const r = await powershell(
        ctx,
        'Get-HotFix | Select-Object HotFixID,Description,InstalledOn',
      );
      if (!('text' in r)) return collected({ os_patch_age_days: r });
      const t = parseHotFixes(r.text);
      return collected({
        os_patch_age_days:
          t === undefined
            ? reason('Get-HotFix lists no installed update')
            : value(daysSince(t, ctx.now())),
      });
    },
  },
  {
    name: 'windows-screen-lock',
    provides: ['screen_lock'],
    collect() {
      return Promise.resolve(
        collected({
          screen_lock: reason(
            'the screen lock is not collected on Windows yet (a per-user setting the service cannot read)',
          ),
        }),
      );
    },
  },
];
