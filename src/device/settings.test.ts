import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfigText } from '../config/load.js';
import { formatProblem } from '../shared/errors.js';
import { formatKeyPath } from '../shared/source.js';
import { DeviceError } from './errors.js';
import { checkDeviceSettings, deviceSettingsFrom, resolveDeviceSettings } from './settings.js';
import { DevicesConfigSchema } from './settings-schema.js';

const FILE = '/etc/ztgate/ztgate.yaml';

/** Loads a config (which must pass the config schema) and checks its `devices:` section. */
function check(text: string): ReturnType<typeof checkDeviceSettings> {
  const { config, locate } = loadConfigText(text, FILE, { env: {} });
  return checkDeviceSettings(config.devices, locate);
}

describe('checkDeviceSettings on a loaded config', () => {
  test('a valid section gives settings and no problems', () => {
    const r = check(
      [
        'devices:',
        '  report_interval: 30s',
        '  tiers:',
        '    high: {managed: true, posture: {disk_encrypted: true, os_patch_age_days: {max: 14}}}',
        '    basic: {managed: true}',
        '  webhooks:',
        '    - name: intune',
        '      secret_file: intune.secret',
        '      device: {pointer: /device/id}',
        '      map:',
        '        mdm_compliant: {pointer: /complianceState, equals: compliant}',
        '        intune.owner: {pointer: /ownerType, type: string}',
        '',
      ].join('\n'),
    );
    assert.deepEqual(r.problems, []);
    assert.equal(r.settings?.reportIntervalMs, 30_000);
    assert.deepEqual(
      r.settings?.tiers.map((t) => t.name),
      ['high', 'basic'],
    );
    assert.equal(r.settings?.webhooks[0]?.secretFile, '/etc/ztgate/intune.secret');
  });

  test('the defaults of an absent section are the default settings', () => {
    const r = check('');
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.settings, resolveDeviceSettings({}));
  });

  test('what needs the posture schema is reported at its line, every problem at once', () => {
    const text = [
      'devices:', // 1
      '  tiers:', // 2
      '    high:', // 3
      '      posture:', // 4
      '        Disk-Encrypted: true', // 5
      '        firewall: true', // 6
      '  webhooks:', // 7
      '    - name: custom', // 8
      '      secret_file: /s', // 9
      '      device: {pointer: /id}', // 10
      '      map: {}', // 11
      '    - name: mdm', // 12
      '      secret_file: /s', // 13
      '      device: {pointer: /id}', // 14
      '      map:', // 15
      '        firewall: {pointer: /fw, type: boolean}', // 16
      '        other.x: {pointer: /x, type: string}', // 17
      '        edr_risk_score: {pointer: /r, equals: high}', // 18
      '',
    ].join('\n');
    const r = check(text);
    assert.equal(r.settings, undefined);
    const shown = r.problems.map((p) => formatProblem(p)).join('\n');
    const at = (path: string): string => {
      const p = r.problems.find((x) => formatKeyPath(x.path ?? []) === path);
      assert.ok(p, `no problem at ${path} in:\n${shown}`);
      assert.equal(p.code, 'ZT_DEVICE_SETTINGS_INVALID');
      assert.equal(p.severity, 'error');
      return `${p.at?.line}:${p.at?.col} ${p.message}`;
    };
    assert.match(
      at('devices.tiers.high.posture["Disk-Encrypted"]'),
      /^5:25 .*not a posture attribute name/,
    );
    assert.match(at('devices.webhooks[0].name'), /^8:13 a webhook may not be named `custom`/);
    assert.match(
      at('devices.webhooks[1].map.firewall'),
      /^16:19 `firewall` is not a signal attribute/,
    );
    assert.match(at('devices.webhooks[1].map["other.x"]'), /^17:18 .*own namespace `mdm\.`/);
    assert.match(
      at('devices.webhooks[1].map.edr_risk_score'),
      /^18:25 `edr_risk_score` is a number/,
    );
    assert.equal(r.problems.length, 5, shown);
    assert.ok(r.problems.every((p) => p.at?.file === FILE));
  });

  test('a problem in a value from the defaults is located at the nearest key written', () => {
    const { config } = loadConfigText('', FILE, { env: {} });
    const r = checkDeviceSettings(
      { ...config.devices, tiers: { high: { posture: { 'not ok': true } } } },
      (path) => (path.length === 1 ? { file: FILE, line: 1, col: 1 } : undefined),
    );
    assert.deepEqual(r.problems[0]?.at, { file: FILE, line: 1, col: 1 });
  });
});

describe('deviceSettingsFrom and resolveDeviceSettings', () => {
  test('throw ZT_DEVICE_SETTINGS_INVALID naming the key', () => {
    const section = DevicesConfigSchema.parse({ tiers: { high: { posture: { 'a b': true } } } });
    assert.throws(
      () => deviceSettingsFrom(section),
      (err: unknown) =>
        err instanceof DeviceError &&
        err.code === 'ZT_DEVICE_SETTINGS_INVALID' &&
        err.message.startsWith('`devices.tiers.high.posture["a b"]`:'),
    );
    assert.throws(
      () => resolveDeviceSettings({ report_interval: '1s' }),
      (err: unknown) =>
        err instanceof DeviceError &&
        /`devices\.report_interval`: expected a duration of at least 5s, got `1s`/.test(
          err.message,
        ),
    );
  });

  test('the schema refuses a section built with an unusable duration; conversion still guards it', () => {
    assert.equal(DevicesConfigSchema.safeParse({ posture_ttl: '1h2h' }).success, false);
    assert.equal(DevicesConfigSchema.safeParse({ enroll_code_ttl: '2d' }).success, false);
    const section = DevicesConfigSchema.parse({});
    assert.throws(() => deviceSettingsFrom({ ...section, posture_ttl: '1h2h' }), DeviceError);
  });
});
