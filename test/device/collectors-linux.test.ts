/**
 * The Linux collectors against recorded outputs (every variant in fixtures/linux), and for real on
 * this machine: whatever the machine, each attribute is a typed value or a recorded reason, and
 * nothing throws.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  collectorsFor,
  hostContext,
  runCollectors,
} from '../../src/device/agent/collectors/index.js';
import {
  rootEncryptedFromLsblk,
  rootEncryptedFromSysfs,
  rootMount,
  linuxDiskEncryption,
} from '../../src/device/agent/collectors/linux/disk-encryption.js';
import { edrRunning, linuxEdr } from '../../src/device/agent/collectors/linux/edr.js';
import {
  combineFirewall,
  firewalldState,
  iptablesState,
  linuxFirewall,
  nftState,
  ufwState,
} from '../../src/device/agent/collectors/linux/firewall.js';
import {
  osFromRelease,
  parseOsRelease,
  linuxOsCollector,
} from '../../src/device/agent/collectors/linux/os-release.js';
import {
  lastAptUpgrade,
  linuxPatchAge,
  parseAptHistory,
  parseRpmInstallTimes,
  parseRpmLast,
} from '../../src/device/agent/collectors/linux/patch-age.js';
import {
  gnomeScreenLock,
  kdeScreenLock,
  linuxScreenLock,
  parseSessionList,
  parseShowSession,
  pickDesktopSession,
} from '../../src/device/agent/collectors/linux/screen-lock.js';
import type { Collector } from '../../src/device/agent/collectors/types.js';
import { POSTURE_ATTRIBUTES } from '../../src/device/posture/schema.js';
import { fakeContext, fixture } from './helpers.js';

const DAY = 86_400_000;

describe('linux: os-release and kernel', () => {
  test('every distribution variant gives a name and version, quotes removed', () => {
    const cases: [string, string, string][] = [
      ['os-release-debian.txt', 'Debian GNU/Linux', '12'],
      ['os-release-ubuntu.txt', 'Ubuntu', '24.04'],
      ['os-release-fedora.txt', 'Fedora Linux', '40'],
      ['os-release-arch.txt', 'Arch Linux', 'rolling'],
    ];
    for (const [file, name, version] of cases) {
      const os = osFromRelease(parseOsRelease(fixture(`linux/${file}`)));
      assert.deepEqual(os, { os_name: { value: name }, os_version: { value: version } }, file);
    }
  });

  test('escapes in double quotes are undone; a file without NAME gives a reason', () => {
    assert.equal(parseOsRelease('NAME="My \\"Linux\\""\n').NAME, 'My "Linux"');
    const os = osFromRelease(parseOsRelease('# nothing\n'));
    assert.ok('reason' in os.os_name && 'reason' in os.os_version);
  });

  test('the collector reads /etc/os-release, falls back to /usr/lib/os-release, reports the kernel', async () => {
    const ctx = fakeContext({
      files: { '/usr/lib/os-release': fixture('linux/os-release-fedora.txt') },
      kernel: '6.8.9-300.fc40.x86_64',
    });
    const r = await linuxOsCollector.collect(ctx);
    assert.deepEqual(r.attributes, {
      os: 'linux',
      os_name: 'Fedora Linux',
      os_version: '40',
      kernel: '6.8.9-300.fc40.x86_64',
      agent_version: '0.1.0',
    });
    const none = await linuxOsCollector.collect(fakeContext({}));
    assert.match(none.unavailable.os_name ?? '', /os-release/);
  });
});

describe('linux: days since the last update', () => {
  const local = (y: number, mo: number, d: number, h: number, mi: number, s: number): number =>
    new Date(y, mo - 1, d, h, mi, s).getTime();

  test('apt history: the last run that upgraded something (installs and removals do not count)', () => {
    const entries = parseAptHistory(fixture('linux/apt-history.log'));
    assert.equal(entries.length, 4);
    assert.equal(lastAptUpgrade(entries), local(2026, 11, 8, 6, 25, 49));
    assert.equal(
      lastAptUpgrade(parseAptHistory(fixture('linux/apt-history-installs-only.log'))),
      undefined,
    );
  });

  test('the collector reads rotations in order and takes the newest of history and the unattended-upgrades stamps', async () => {
    const now = local(2026, 11, 22, 12, 0, 0);
    const base = {
      now,
      dirs: {
        '/var/lib/dpkg': ['status'],
        '/var/log/apt': ['history.log.1', 'history.log', 'term.log', 'eipp.log.xz'],
      },
      files: {
        '/var/log/apt/history.log': fixture('linux/apt-history.log'),
        '/var/log/apt/history.log.1': fixture('linux/apt-history.log.1'),
      },
    };
    assert.deepEqual(await linuxPatchAge(fakeContext(base)), { value: 14 });
    // only installs in the current log: the rotation has the last upgrade
    const rotated = {
      ...base,
      files: {
        ...base.files,
        '/var/log/apt/history.log': fixture('linux/apt-history-installs-only.log'),
      },
    };
    assert.deepEqual(await linuxPatchAge(fakeContext(rotated)), { value: 81 });
    // unattended-upgrades ran yesterday and found nothing to do: nothing is pending
    const stamped = {
      ...base,
      mtimes: { '/var/lib/apt/periodic/unattended-upgrades-stamp': now - DAY - 1000 },
    };
    assert.deepEqual(await linuxPatchAge(fakeContext(stamped)), { value: 1 });
    // nothing at all
    const empty = await linuxPatchAge(fakeContext({ dirs: { '/var/lib/dpkg': [] } }));
    assert.ok('reason' in empty);
  });

  test('rpm: install times and both `--last` date formats', async () => {
    assert.equal(parseRpmInstallTimes(fixture('linux/rpm-installtime.txt')), 1715682121000);
    assert.equal(parseRpmLast(fixture('linux/rpm-last.txt')), Date.UTC(2024, 4, 14, 10, 22, 1));
    assert.equal(
      parseRpmLast(fixture('linux/rpm-last-old.txt')),
      new Date(2024, 5, 5, 14, 2, 33).getTime(),
    );
    const ctx = fakeContext({
      now: 1715682121000 + 10 * DAY + 5000,
      commands: { 'rpm -qa --qf %{INSTALLTIME}\\n': fixture('linux/rpm-installtime.txt') },
    });
    assert.deepEqual(await linuxPatchAge(ctx), { value: 10 });
    const missing = await linuxPatchAge(fakeContext({}));
    assert.ok('reason' in missing && /rpm/.test(missing.reason));
  });
});

describe('linux: root filesystem encryption', () => {
  test('lsblk variants: LVM on LUKS, btrfs on LUKS (mountpoints), plain, only /home encrypted, no root', () => {
    assert.deepEqual(rootEncryptedFromLsblk(fixture('linux/lsblk-luks-lvm.json')), { value: true });
    assert.deepEqual(rootEncryptedFromLsblk(fixture('linux/lsblk-luks-mountpoints.json')), {
      value: true,
    });
    assert.deepEqual(rootEncryptedFromLsblk(fixture('linux/lsblk-plain.json')), { value: false });
    assert.deepEqual(rootEncryptedFromLsblk(fixture('linux/lsblk-home-only-encrypted.json')), {
      value: false,
    });
    assert.ok('reason' in rootEncryptedFromLsblk(fixture('linux/lsblk-container.json')));
    assert.ok('reason' in rootEncryptedFromLsblk('not json'));
  });

  test('sysfs fallback: /dev/mapper root on LVM whose slave is a CRYPT- device', async () => {
    assert.deepEqual(rootMount(fixture('linux/proc-mounts-mapper.txt')), {
      source: '/dev/mapper/vgubuntu-root',
      fstype: 'ext4',
    });
    const ctx = fakeContext({
      files: {
        '/proc/mounts': fixture('linux/proc-mounts-mapper.txt'),
        '/sys/block/dm-0/dm/name': 'nvme0n1p3_crypt\n',
        '/sys/block/dm-0/dm/uuid': 'CRYPT-LUKS2-3f1e9a2c5b1d4c2e9f3a8d7e6c5b4a39-nvme0n1p3_crypt\n',
        '/sys/block/dm-1/dm/name': 'vgubuntu-root\n',
        '/sys/block/dm-1/dm/uuid': 'LVM-xyzzyxyzzyxyzzyxyzzyxyzzy\n',
      },
      dirs: {
        '/sys/block': ['dm-0', 'dm-1', 'nvme0n1'],
        '/sys/block/dm-1/slaves': ['dm-0'],
        '/sys/block/dm-0/slaves': ['nvme0n1p3'],
      },
    });
    assert.deepEqual(await rootEncryptedFromSysfs(ctx), { value: true });
    // lsblk missing: the collector falls back to sysfs
    assert.deepEqual(await linuxDiskEncryption(ctx), { value: true });
    const overlay = await rootEncryptedFromSysfs(
      fakeContext({ files: { '/proc/mounts': fixture('linux/proc-mounts-overlay.txt') } }),
    );
    assert.ok('reason' in overlay && /overlay/.test(overlay.reason));
  });

  test('the collector prefers lsblk', async () => {
    const ctx = fakeContext({
      commands: { 'lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE': fixture('linux/lsblk-luks-lvm.json') },
    });
    assert.deepEqual(await linuxDiskEncryption(ctx), { value: true });
  });
});

describe('linux: host firewall', () => {
  test('nftables: input policy drop, firewalld reject reached through jumps, Docker-only rules, empty ruleset', () => {
    assert.equal(nftState(fixture('linux/nft-inet-drop.txt')), 'active');
    assert.equal(nftState(fixture('linux/nft-firewalld.txt')), 'active');
    assert.equal(nftState(fixture('linux/nft-docker-only.txt')), 'inactive');
    assert.equal(nftState(fixture('linux/nft-empty.txt')), 'inactive');
    assert.equal(
      nftState(
        'table inet f {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tct state invalid drop\n\t}\n}\n',
      ),
      'inactive',
    );
  });

  test('iptables: ufw chains under a DROP policy, a REJECT rule reached through a user chain, Docker only', () => {
    assert.equal(iptablesState(fixture('linux/iptables-ufw.txt')), 'active');
    assert.equal(iptablesState(fixture('linux/iptables-reject-rule.txt')), 'active');
    assert.equal(iptablesState(fixture('linux/iptables-docker-open.txt')), 'inactive');
    assert.equal(iptablesState(''), 'inactive');
  });

  test('ufw and firewalld status', () => {
    assert.equal(ufwState(fixture('linux/ufw-active.txt')), 'active');
    assert.equal(ufwState(fixture('linux/ufw-inactive.txt')), 'inactive');
    assert.equal(ufwState('ERROR: You need to be root to run this script'), undefined);
    assert.equal(firewalldState('running\n', 0), 'active');
    assert.equal(firewalldState('not running\n', 252), 'inactive');
  });

  test('combination: any active wins, else any answer, else the reasons', async () => {
    assert.deepEqual(combineFirewall(['inactive', 'active']), { value: true });
    assert.deepEqual(combineFirewall([{ reason: 'x' }, 'inactive']), { value: false });
    assert.ok('reason' in combineFirewall([{ reason: 'nft: not root' }]));
    const notRoot = fakeContext({
      commands: {
        'nft list ruleset': {
          code: 1,
          stdout: '',
          stderr: 'Operation not permitted (you must be root)\n',
        },
        'ufw status': fixture('linux/ufw-active.txt'),
      },
    });
    assert.deepEqual(await linuxFirewall(notRoot), { value: true });
    const open = fakeContext({
      commands: {
        'nft list ruleset': fixture('linux/nft-docker-only.txt'),
        'iptables -S': fixture('linux/iptables-docker-open.txt'),
      },
    });
    assert.deepEqual(await linuxFirewall(open), { value: false });
    const none = await linuxFirewall(fakeContext({}));
    assert.ok('reason' in none && /nft list ruleset/.test(none.reason));
  });
});

describe('linux: screen lock', () => {
  const sessions = {
    'loginctl list-sessions --no-legend': fixture('linux/loginctl-list.txt'),
    'loginctl show-session 2 -p Type -p Active -p Remote -p Name -p User -p Desktop': fixture(
      'linux/loginctl-show-2.txt',
    ),
    'loginctl show-session c1 -p Type -p Active -p Remote -p Name -p User -p Desktop': fixture(
      'linux/loginctl-show-c1.txt',
    ),
    'loginctl show-session 5 -p Type -p Active -p Remote -p Name -p User -p Desktop': fixture(
      'linux/loginctl-show-5.txt',
    ),
  };
  const asAlice = (cmd: string): string =>
    `runuser -u alice -- env DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus ${cmd}`;

  test('session parsing picks the active local graphical session', () => {
    assert.deepEqual(parseSessionList(fixture('linux/loginctl-list.txt')), ['2', 'c1', '5']);
    const picked = pickDesktopSession([
      parseShowSession('c1', fixture('linux/loginctl-show-c1.txt')),
      parseShowSession('2', fixture('linux/loginctl-show-2.txt')),
      parseShowSession('5', fixture('linux/loginctl-show-5.txt')),
    ]);
    assert.equal(picked?.id, '2');
    assert.equal(picked?.desktop, 'ubuntu');
  });

  test('GNOME, read as the session user through runuser when the agent is root', async () => {
    const on = fakeContext({
      uid: 0,
      commands: {
        ...sessions,
        [asAlice('gsettings get org.gnome.desktop.screensaver lock-enabled')]: 'true\n',
        [asAlice('gsettings get org.gnome.desktop.session idle-delay')]: 'uint32 300\n',
      },
    });
    assert.deepEqual(await linuxScreenLock(on), { value: true });
    const never = fakeContext({
      uid: 0,
      commands: {
        ...sessions,
        [asAlice('gsettings get org.gnome.desktop.screensaver lock-enabled')]: 'true\n',
        [asAlice('gsettings get org.gnome.desktop.session idle-delay')]: 'uint32 0\n',
      },
    });
    assert.deepEqual(await linuxScreenLock(never), { value: false });
    const off = fakeContext({
      uid: 1000,
      commands: {
        ...sessions,
        'gsettings get org.gnome.desktop.screensaver lock-enabled': 'false\n',
        'gsettings get org.gnome.desktop.session idle-delay': 'uint32 300\n',
      },
    });
    assert.deepEqual(await linuxScreenLock(off), { value: false });
  });

  test('KDE autolock, value parsers, and no desktop at all', async () => {
    assert.deepEqual(kdeScreenLock(''), { value: true });
    assert.deepEqual(kdeScreenLock('false\n'), { value: false });
    assert.deepEqual(gnomeScreenLock('true', '300'), { value: true });
    assert.ok('reason' in gnomeScreenLock('oops', 'uint32 300'));
    const server = fakeContext({
      commands: {
        'loginctl list-sessions --no-legend': fixture('linux/loginctl-list-server.txt'),
        'loginctl show-session 7 -p Type -p Active -p Remote -p Name -p User -p Desktop': fixture(
          'linux/loginctl-show-7.txt',
        ),
      },
    });
    const none = await linuxScreenLock(server);
    assert.ok('reason' in none && /no local graphical session/.test(none.reason));
    const noSystemd = await linuxScreenLock(fakeContext({}));
    assert.ok('reason' in noSystemd);
  });
});

describe('linux: EDR processes', () => {
  test('names are compared as the kernel truncates them (15 characters)', () => {
    assert.equal(edrRunning(['falcon-sensor'], ['systemd', 'falcon-sensor']), true);
    assert.equal(edrRunning(['wdavdaemon-enterprise'], ['wdavdaemon-ente']), true);
    assert.equal(edrRunning(['falcon-sensor'], ['sshd']), false);
  });

  test('reads /proc/*/comm; without configured names the attribute is absent', async () => {
    const ctx = fakeContext({
      edr: ['falcon-sensor'],
      dirs: { '/proc': ['1', '42', 'self', 'sys', '977'] },
      files: {
        '/proc/1/comm': 'systemd\n',
        '/proc/42/comm': 'sshd\n',
        '/proc/977/comm': 'falcon-sensor\n',
      },
    });
    assert.deepEqual(await linuxEdr(ctx), { value: true });
    const stopped = fakeContext({
      edr: ['falcon-sensor'],
      dirs: { '/proc': ['1'] },
      files: { '/proc/1/comm': 'systemd\n' },
    });
    assert.deepEqual(await linuxEdr(stopped), { value: false });
    assert.ok('reason' in (await linuxEdr(fakeContext({}))));
  });
});

describe('collectors never throw and are bounded in time', () => {
  test('a collector that throws or hangs leaves its attributes unavailable with the reason', async () => {
    const throwing: Collector = {
      name: 'boom',
      provides: ['firewall'],
      collect: () => Promise.reject(new Error('kaput')),
    };
    const hanging: Collector = {
      name: 'slow',
      provides: ['screen_lock'],
      collect: () => new Promise(() => undefined),
    };
    const lying: Collector = {
      name: 'liar',
      provides: ['disk_encrypted', 'mdm_compliant'],
      collect: () =>
        Promise.resolve({
          attributes: { disk_encrypted: 'yes', mdm_compliant: true },
          unavailable: {},
        }),
    };
    const r = await runCollectors([throwing, hanging, lying], fakeContext({}), 50);
    assert.deepEqual(r.attributes, {});
    assert.match(r.unavailable.firewall ?? '', /kaput/);
    assert.match(r.unavailable.screen_lock ?? '', /timed out/);
    assert.match(r.unavailable.disk_encrypted ?? '', /invalid value/);
    assert.match(r.unavailable.mdm_compliant ?? '', /signal webhook/);
  });

  test('on recorded outputs every Linux attribute is a value or a reason', async () => {
    const ctx = fakeContext({
      edr: ['falcon-sensor'],
      files: {
        '/etc/os-release': fixture('linux/os-release-ubuntu.txt'),
        '/proc/1/comm': 'falcon-sensor\n',
      },
      dirs: { '/var/lib/dpkg': [], '/var/log/apt': ['history.log'], '/proc': ['1'] },
      commands: {
        'lsblk -J -o NAME,TYPE,MOUNTPOINT,FSTYPE': fixture('linux/lsblk-luks-lvm.json'),
        'nft list ruleset': fixture('linux/nft-inet-drop.txt'),
      },
    });
    const r = await runCollectors(collectorsFor('linux'), ctx);
    assert.deepEqual(r.attributes, {
      os: 'linux',
      os_name: 'Ubuntu',
      os_version: '24.04',
      kernel: '6.1.0-27-amd64',
      agent_version: '0.1.0',
      disk_encrypted: true,
      firewall: true,
      edr_running: true,
    });
    assert.deepEqual(Object.keys(r.unavailable).sort(), ['os_patch_age_days', 'screen_lock']);
  });
});

describe(
  'linux collectors on this machine, for real',
  { skip: process.platform !== 'linux' },
  () => {
    test('each attribute is a typed value or a recorded reason, and nothing throws', async () => {
      const ctx = hostContext({
        platform: 'linux',
        agentVersion: '0.1.0',
        edrProcesses: ['node'],
        commandTimeoutMs: 5000,
      });
      const r = await runCollectors(collectorsFor('linux'), ctx);
      const provided = collectorsFor('linux').flatMap((c) => c.provides);
      for (const name of provided) {
        const has = Object.hasOwn(r.attributes, name);
        const why = r.unavailable[name];
        assert.ok(has !== (why !== undefined), `${name}: exactly one of value or reason`);
        if (has) {
          const spec = POSTURE_ATTRIBUTES[name as keyof typeof POSTURE_ATTRIBUTES];
          assert.equal(typeof r.attributes[name], spec.type, name);
        } else {
          assert.ok(typeof why === 'string' && why.length > 0 && why.length <= 200, name);
        }
      }
      // these cannot fail on Linux
      assert.equal(r.attributes.os, 'linux');
      assert.equal(typeof r.attributes.kernel, 'string');
      // the test runner itself is a `node` process
      assert.equal(r.attributes.edr_running, true);
    });
  },
);
