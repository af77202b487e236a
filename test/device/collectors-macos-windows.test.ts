/** The macOS and Windows parsers against recorded outputs, and their collectors through a fake runner. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectorsFor, runCollectors } from '../../src/device/agent/collectors/index.js';
import {
  isOsUpdate,
  parseFdesetupStatus,
  parseSocketFilterState,
  parseSoftwareUpdateHistory,
  parseSwVers,
  parseSysadminctlScreenLock,
} from '../../src/device/agent/collectors/macos.js';
import {
  parseBitLockerVolumes,
  parseDefenderStatus,
  parseFirewallProfiles,
  parseHotFixes,
  parseManageBde,
  parsePsDate,
  parseWindowsOs,
} from '../../src/device/agent/collectors/windows.js';
import { fakeContext, fixture } from './helpers.js';

const local = (y: number, mo: number, d: number, h: number, mi: number, s: number): number =>
  new Date(y, mo - 1, d, h, mi, s).getTime();

describe('macOS parsers', () => {
  test('sw_vers: current and old product names', () => {
    assert.deepEqual(parseSwVers(fixture('macos/sw_vers-sonoma.txt')), {
      os_name: { value: 'macOS' },
      os_version: { value: '14.4.1' },
    });
    assert.deepEqual(parseSwVers(fixture('macos/sw_vers-catalina.txt')), {
      os_name: { value: 'Mac OS X' },
      os_version: { value: '10.15.7' },
    });
    assert.ok('reason' in parseSwVers('').os_name);
  });

  test('fdesetup: on, off, encrypting (partial), decrypting, deferred', () => {
    assert.deepEqual(parseFdesetupStatus(fixture('macos/fdesetup-on.txt')), { value: true });
    assert.deepEqual(parseFdesetupStatus(fixture('macos/fdesetup-off.txt')), { value: false });
    assert.deepEqual(parseFdesetupStatus(fixture('macos/fdesetup-encrypting.txt')), {
      value: false,
    });
    assert.deepEqual(parseFdesetupStatus(fixture('macos/fdesetup-decrypting.txt')), {
      value: false,
    });
    assert.deepEqual(parseFdesetupStatus(fixture('macos/fdesetup-deferred.txt')), { value: false });
    assert.ok('reason' in parseFdesetupStatus('Error: must be run as root'));
  });

  test('socketfilterfw: enabled, disabled, block all', () => {
    assert.deepEqual(parseSocketFilterState(fixture('macos/socketfilterfw-enabled.txt')), {
      value: true,
    });
    assert.deepEqual(parseSocketFilterState(fixture('macos/socketfilterfw-disabled.txt')), {
      value: false,
    });
    assert.deepEqual(parseSocketFilterState(fixture('macos/socketfilterfw-block-all.txt')), {
      value: true,
    });
  });

  test('softwareupdate history: US, German and British dates; data files do not count', () => {
    assert.equal(
      parseSoftwareUpdateHistory(fixture('macos/softwareupdate-history-en.txt')),
      local(2026, 11, 5, 18, 20, 13),
    );
    assert.equal(
      parseSoftwareUpdateHistory(fixture('macos/softwareupdate-history-de.txt')),
      local(2026, 11, 5, 18, 20, 13),
    );
    assert.equal(
      parseSoftwareUpdateHistory(fixture('macos/softwareupdate-history-gb.txt'), 'dmy'),
      local(2026, 10, 28, 19, 2, 0),
    );
    assert.equal(
      parseSoftwareUpdateHistory(fixture('macos/softwareupdate-history-data-only.txt')),
      undefined,
    );
    assert.equal(isOsUpdate('Background Security Improvement (a)'), true);
    assert.equal(isOsUpdate('XProtectPlistConfigData'), false);
  });

  test('sysadminctl screen lock: delay, immediate, off', () => {
    assert.deepEqual(parseSysadminctlScreenLock(fixture('macos/sysadminctl-delay.txt')), {
      value: true,
    });
    assert.deepEqual(parseSysadminctlScreenLock(fixture('macos/sysadminctl-immediate.txt')), {
      value: true,
    });
    assert.deepEqual(parseSysadminctlScreenLock(fixture('macos/sysadminctl-off.txt')), {
      value: false,
    });
  });

  test('the macOS collectors run those commands', async () => {
    const ctx = fakeContext({
      platform: 'macos',
      now: local(2026, 11, 22, 12, 0, 0),
      kernel: '23.4.0',
      edr: ['falcond'],
      commands: {
        sw_vers: fixture('macos/sw_vers-sonoma.txt'),
        'fdesetup status': fixture('macos/fdesetup-encrypting.txt'),
        '/usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate': fixture(
          'macos/socketfilterfw-enabled.txt',
        ),
        'softwareupdate --history': fixture('macos/softwareupdate-history-en.txt'),
        'sysadminctl -screenLock status': {
          code: 0,
          stdout: '',
          stderr: fixture('macos/sysadminctl-delay.txt'),
        },
        'ps -axco comm': 'COMM\nlaunchd\nfalcond\nWindowServer\n',
      },
    });
    const r = await runCollectors(collectorsFor('macos'), ctx);
    assert.deepEqual(r.attributes, {
      os: 'macos',
      os_name: 'macOS',
      os_version: '14.4.1',
      kernel: '23.4.0',
      agent_version: '0.1.0',
      disk_encrypted: false,
      firewall: true,
      os_patch_age_days: 16,
      screen_lock: true,
      edr_running: true,
    });
    assert.deepEqual(r.unavailable, {});
  });
});

describe('Windows parsers', () => {
  test('BitLocker JSON: encrypted, two volumes, decrypted, in progress (partial), suspended, enum names', () => {
    assert.deepEqual(parseBitLockerVolumes(fixture('windows/bitlocker-encrypted.json')), {
      value: true,
    });
    assert.deepEqual(parseBitLockerVolumes(fixture('windows/bitlocker-two-volumes.json')), {
      value: true,
    });
    assert.deepEqual(parseBitLockerVolumes(fixture('windows/bitlocker-decrypted.json')), {
      value: false,
    });
    assert.deepEqual(parseBitLockerVolumes(fixture('windows/bitlocker-in-progress.json')), {
      value: false,
    });
    assert.deepEqual(parseBitLockerVolumes(fixture('windows/bitlocker-suspended.json')), {
      value: false,
    });
    assert.deepEqual(parseBitLockerVolumes(fixture('windows/bitlocker-names.json')), {
      value: true,
    });
    assert.ok('reason' in parseBitLockerVolumes('Get-BitLockerVolume : Access denied'));
  });

  test('manage-bde text: English and German, on, partial and off', () => {
    assert.deepEqual(parseManageBde(fixture('windows/manage-bde-en-on.txt')), { value: true });
    assert.deepEqual(parseManageBde(fixture('windows/manage-bde-en-partial.txt')), {
      value: false,
    });
    assert.deepEqual(parseManageBde(fixture('windows/manage-bde-de-on.txt')), { value: true });
    assert.deepEqual(parseManageBde(fixture('windows/manage-bde-de-off.txt')), { value: false });
    assert.ok(
      'reason' in parseManageBde('ERROR: An attempt to access a required resource was denied.'),
    );
  });

  test('firewall profiles: all on, one off, inbound allowed by default', () => {
    assert.deepEqual(parseFirewallProfiles(fixture('windows/firewall-all-on.json')), {
      value: true,
    });
    assert.deepEqual(parseFirewallProfiles(fixture('windows/firewall-public-off.json')), {
      value: false,
    });
    assert.deepEqual(parseFirewallProfiles(fixture('windows/firewall-allow-inbound.json')), {
      value: false,
    });
  });

  test('Defender: on, real-time protection off, passive mode', () => {
    assert.deepEqual(parseDefenderStatus(fixture('windows/defender-on.json')), { value: true });
    assert.deepEqual(parseDefenderStatus(fixture('windows/defender-rtp-off.json')), {
      value: false,
    });
    assert.deepEqual(parseDefenderStatus(fixture('windows/defender-passive.json')), {
      value: false,
    });
  });

  test('hotfixes: Windows PowerShell 5.1 dates and PowerShell 7 ISO dates (localized descriptions)', () => {
    assert.equal(parseHotFixes(fixture('windows/hotfix-ps51.json')), Date.UTC(2026, 10, 13));
    assert.equal(
      parseHotFixes(fixture('windows/hotfix-ps7.json')),
      new Date('2026-11-13T00:00:00').getTime(),
    );
    assert.equal(parsePsDate('/Date(1794528000000)/'), 1794528000000);
    assert.equal(parsePsDate(null), undefined);
  });

  test('the Windows collectors run PowerShell and fall back to manage-bde', async () => {
    const ps = (s: string): string =>
      `powershell.exe -NoProfile -NonInteractive -Command ${s} | ConvertTo-Json -Compress`;
    const ctx = fakeContext({
      platform: 'windows',
      now: Date.UTC(2026, 10, 22, 12),
      kernel: '10.0.22631',
      commands: {
        [ps('Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version')]:
          fixture('windows/win32-os.json'),
        [ps(
          'Get-BitLockerVolume | Select-Object MountPoint,VolumeType,VolumeStatus,ProtectionStatus,EncryptionPercentage',
        )]: {
          code: 1,
          stdout: '',
          stderr: 'Get-BitLockerVolume : The term is not recognized',
        },
        'manage-bde -status C:': fixture('windows/manage-bde-de-on.txt'),
        [ps('Get-NetFirewallProfile | Select-Object Name,Enabled,DefaultInboundAction')]: fixture(
          'windows/firewall-public-off.json',
        ),
        [ps(
          'Get-MpComputerStatus | Select-Object AMServiceEnabled,AntivirusEnabled,RealTimeProtectionEnabled,AMRunningMode',
        )]: fixture('windows/defender-on.json'),
        [ps('Get-HotFix | Select-Object HotFixID,Description,InstalledOn')]: fixture(
          'windows/hotfix-ps51.json',
        ),
      },
    });
    const r = await runCollectors(collectorsFor('windows'), ctx);
    assert.deepEqual(r.attributes, {
      os: 'windows',
      os_name: 'Microsoft Windows 11 Pro',
      os_version: '10.0.22631',
      kernel: '10.0.22631',
      agent_version: '0.1.0',
      disk_encrypted: true,
      firewall: false,
      edr_running: true,
      os_patch_age_days: 9,
    });
    assert.deepEqual(Object.keys(r.unavailable), ['screen_lock']);
    assert.deepEqual(parseWindowsOs('{}').os_name, {
      reason: 'Win32_OperatingSystem gave no Caption',
    });
  });
});
