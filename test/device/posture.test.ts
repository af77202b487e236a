/** Posture: settings, tiers from config rules, staleness with an injected clock, facts for policies. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildEngine } from '../../src/pdp/index.js';
import type { Config } from '../../src/config/schema.js';
import type { DecisionInput } from '../../src/pdp/input.js';
import { DeviceError } from '../../src/device/errors.js';
import { readPostureDocument, writePostureDocument } from '../../src/device/posture/document.js';
import { deviceFacts, evaluatePosture, factsChanges } from '../../src/device/posture/facts.js';
import { parseReport, validateReport } from '../../src/device/posture/report.js';
import { computeTier, tierShortfall } from '../../src/device/posture/tiers.js';
import { resolveDeviceSettings, DEFAULT_DEVICE_SETTINGS } from '../../src/device/settings.js';
import type { DeviceRecord } from '../../src/store/store.js';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const MIN = 60_000;

const settings = resolveDeviceSettings({
  posture_ttl: '5m',
  tiers: {
    high: {
      managed: true,
      posture: { disk_encrypted: true, firewall: true, os_patch_age_days: { max: 14 } },
    },
    medium: { managed: true, posture: { disk_encrypted: true, os: { in: ['linux', 'macos'] } } },
    basic: { managed: true },
  },
  webhooks: [
    {
      name: 'intune',
      secret_file: '/dev/null',
      ttl: '1h',
      device: { pointer: '/deviceId' },
      map: { mdm_compliant: { pointer: '/complianceState', equals: 'compliant' } },
    },
  ],
});

function record(posture: DeviceRecord['posture'], over: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    id: 'dev-1',
    userId: 'u1',
    hostname: 'laptop',
    os: 'linux',
    enrolledAt: T0 - 86_400_000,
    lastReportAt: null,
    certificateSerial: '0abc',
    certificateFingerprint: null,
    previousCertificateSerial: null,
    version: 1,
    state: 'active',
    posture,
    updatedAt: T0,
    ...over,
  };
}

function withAgent(
  attributes: Record<string, boolean | number | string>,
  receivedAt = T0,
  signals = {},
): DeviceRecord {
  return record(
    writePostureDocument({
      agent: { seq: 1, sentAt: receivedAt, receivedAt, attributes, unavailable: {} },
      signals,
    }),
  );
}

const healthy = {
  os: 'linux',
  disk_encrypted: true,
  firewall: true,
  os_patch_age_days: 3,
  agent_version: '0.1.0',
};

describe('settings', () => {
  test('defaults: 60s reports, 5m TTL, 10m codes, no tiers', () => {
    assert.equal(DEFAULT_DEVICE_SETTINGS.reportIntervalMs, 60_000);
    assert.equal(DEFAULT_DEVICE_SETTINGS.postureTtlMs, 300_000);
    assert.equal(DEFAULT_DEVICE_SETTINGS.enrollCodeTtlMs, 600_000);
    assert.deepEqual(DEFAULT_DEVICE_SETTINGS.tiers, []);
  });

  test('tiers keep their written order', () => {
    assert.deepEqual(
      settings.tiers.map((t) => t.name),
      ['high', 'medium', 'basic'],
    );
  });

  test('mistakes are refused with the key named', () => {
    const bad = (input: unknown, pattern: RegExp): void => {
      assert.throws(
        () => resolveDeviceSettings(input),
        (err: unknown) =>
          err instanceof DeviceError &&
          err.code === 'ZT_DEVICE_SETTINGS_INVALID' &&
          pattern.test(err.message),
      );
    };
    bad({ posture_ttl: 'soon' }, /posture_ttl/);
    bad({ tiers: { high: { posture: { x: { min: 5, max: 1 } } } } }, /range is empty/);
    bad({ tiers: { high: { posture: { x: {} } } } }, /min|max/);
    bad({ tierz: {} }, /devices/);
    const hook = { name: 'mdm', secret_file: 's', device: { pointer: '/id' } };
    bad(
      { webhooks: [{ ...hook, map: { firewall: { pointer: '/fw', type: 'boolean' } } }] },
      /not a signal attribute/,
    );
    bad(
      { webhooks: [{ ...hook, map: { 'other.x': { pointer: '/x', type: 'string' } } }] },
      /own namespace/,
    );
    bad(
      { webhooks: [{ ...hook, map: { edr_risk_score: { pointer: '/x', equals: 'high' } } }] },
      /is a number/,
    );
    bad(
      { webhooks: [{ ...hook, map: { mdm_compliant: { pointer: 'x', equals: 'y' } } }] },
      /JSON pointer/,
    );
    bad({ webhooks: [{ ...hook, name: 'custom', map: {} }] }, /custom/);
  });
});

describe('trust tiers', () => {
  test('the first matching tier in configured order wins; none matching is no tier', () => {
    assert.equal(computeTier(settings.tiers, { managed: true, posture: healthy }), 'high');
    assert.equal(
      computeTier(settings.tiers, {
        managed: true,
        posture: { ...healthy, os_patch_age_days: 30 },
      }),
      'medium',
    );
    assert.equal(
      computeTier(settings.tiers, {
        managed: true,
        posture: { ...healthy, os: 'windows', firewall: false },
      }),
      'basic',
    );
    assert.equal(computeTier(settings.tiers, { managed: false, posture: healthy }), undefined);
  });

  test('operators as in policies: strict equality, inclusive ranges on numbers, in', () => {
    const tiers = resolveDeviceSettings({
      tiers: { t: { posture: { n: { min: 1, max: 3 }, s: 'yes', b: { in: [true] } } } },
    }).tiers;
    const ok = { n: 3, s: 'yes', b: true };
    assert.equal(computeTier(tiers, { managed: false, posture: ok }), 't');
    assert.equal(computeTier(tiers, { managed: false, posture: { ...ok, n: '3' } }), undefined);
    assert.equal(computeTier(tiers, { managed: false, posture: { ...ok, s: true } }), undefined);
    assert.equal(computeTier(tiers, { managed: false, posture: { ...ok, b: 'true' } }), undefined);
    assert.equal(computeTier(tiers, { managed: false, posture: { ...ok, n: 4 } }), undefined);
    assert.deepEqual(tierShortfall(tiers[0]!, { managed: false, posture: { n: 9 } }), [
      '`n` is 9',
      '`s` is unknown',
      '`b` is unknown',
    ]);
  });
});

describe('facts and staleness (injected clock)', () => {
  test('a fresh report gives its attributes and tier', () => {
    const facts = deviceFacts(withAgent(healthy), T0 + MIN, settings);
    assert.deepEqual(facts, { id: 'dev-1', managed: true, posture: healthy, tier: 'high' });
  });

  test('a report older than the TTL is unknown posture: no attributes, only tiers without posture conditions', () => {
    const r = withAgent(healthy);
    assert.equal(deviceFacts(r, T0 + 5 * MIN, settings).tier, 'high');
    const stale = evaluatePosture(r, T0 + 5 * MIN + 1, settings);
    assert.equal(stale.agentStale, true);
    assert.deepEqual(stale.facts, { id: 'dev-1', managed: true, posture: {}, tier: 'basic' });
  });

  test('stale posture denies a policy that asks for posture (device-posture-unknown), fresh allows', () => {
    const config = {
      policies: {
        p: {
          allow: [
            { authenticated: true, device: { posture: { disk_encrypted: true, firewall: true } } },
          ],
        },
      },
      routes: [],
    } as unknown as Config;
    const { engine } = buildEngine(config, () => undefined);
    const policy = engine.policies.policies.get('p');
    assert.ok(policy);
    const input = (device: DecisionInput['device']): DecisionInput => ({
      user: { id: 'u1' },
      device,
    });
    assert.equal(
      policy.evaluate(input(deviceFacts(withAgent(healthy), T0 + MIN, settings))).decision,
      'allow',
    );
    const denied = policy.evaluate(input(deviceFacts(withAgent(healthy), T0 + 10 * MIN, settings)));
    assert.equal(denied.decision, 'deny');
    assert.ok(denied.reasons.some((r) => r.code === 'device-posture-unknown'));
  });

  test('signals have their own TTL, newer sources win, unconfigured sources are ignored', () => {
    const signals = {
      intune: { receivedAt: T0 - 30 * MIN, attributes: { mdm_compliant: true } },
      gone: { receivedAt: T0, attributes: { 'gone.x': 1 } },
    };
    const r = withAgent(healthy, T0, signals);
    assert.equal(deviceFacts(r, T0, settings).posture?.mdm_compliant, true);
    assert.equal(deviceFacts(r, T0, settings).posture?.['gone.x'], undefined);
    assert.equal(deviceFacts(r, T0 + 31 * MIN, settings).posture?.mdm_compliant, undefined);
  });

  test('revoked devices are unknown, pending ones known but unmanaged', () => {
    const r = withAgent(healthy);
    assert.deepEqual(deviceFacts({ ...r, state: 'revoked' }, T0, settings), {});
    assert.deepEqual(deviceFacts({ ...r, state: 'pending' }, T0, settings), {
      id: 'dev-1',
      managed: false,
    });
    assert.equal(deviceFacts({ ...r, certificateSerial: null }, T0, settings).managed, false);
  });

  test('a report from the future (clock moved back) is not trusted', () => {
    assert.deepEqual(deviceFacts(withAgent(healthy, T0 + 10 * MIN), T0, settings).posture, {});
  });

  test('malformed stored posture is ignored, never trusted', () => {
    for (const bad of [
      {},
      { v: 2 },
      { v: 1, agent: { seq: 'x' } },
      {
        v: 1,
        agent: {
          seq: 1,
          sent_at: 1,
          received_at: T0,
          attributes: { mdm_compliant: true, firewall: 'yes', disk_encrypted: true },
        },
      },
    ]) {
      const facts = deviceFacts(record(bad), T0, settings);
      assert.equal(facts.posture?.mdm_compliant, undefined);
      assert.equal(facts.posture?.firewall, undefined);
    }
    assert.deepEqual(readPostureDocument(null), { signals: {} });
  });

  test('changes: attributes, tier and managed count; informational ones do not', () => {
    const a = deviceFacts(withAgent(healthy), T0, settings);
    const b = deviceFacts(withAgent({ ...healthy, firewall: false }), T0, settings);
    assert.deepEqual(factsChanges(a, b), ['tier', 'posture.firewall']);
    const c = deviceFacts(withAgent({ ...healthy, agent_version: '0.2.0' }), T0, settings);
    assert.deepEqual(factsChanges(a, c), []);
    assert.deepEqual(factsChanges(a, deviceFacts(withAgent(healthy), T0 + 10 * MIN, settings)), [
      'tier',
      'posture.disk_encrypted',
      'posture.firewall',
      'posture.os',
      'posture.os_patch_age_days',
    ]);
  });
});

describe('report validation', () => {
  const good = {
    v: 1,
    device_id: 'dev-1',
    seq: 5,
    sent_at: '2026-11-22T10:00:00Z',
    attributes: healthy,
    unavailable: { screen_lock: 'no desktop' },
  };

  test('a valid report is accepted as is', () => {
    assert.deepEqual(validateReport(good), good);
    assert.deepEqual(
      parseReport(JSON.stringify({ ...good, attributes: { 'custom.asset_tag': 'A-17' } }))
        .attributes,
      { 'custom.asset_tag': 'A-17' },
    );
  });

  test('refused: unknown attributes, signal attributes, foreign namespaces, wrong types, bad envelope', () => {
    const refused = (over: Record<string, unknown>, pattern: RegExp): void => {
      assert.throws(
        () => validateReport({ ...good, ...over }),
        (e: unknown) =>
          e instanceof DeviceError &&
          e.code === 'ZT_DEVICE_REPORT_INVALID' &&
          pattern.test(e.message),
      );
    };
    refused({ attributes: { disk_encryptd: true } }, /not a posture attribute/);
    refused({ attributes: { mdm_compliant: true } }, /signal webhook/);
    refused({ attributes: { 'intune.compliant': true } }, /namespace/);
    refused({ attributes: { firewall: 'true' } }, /boolean/);
    refused({ attributes: { os_patch_age_days: -1 } }, /at least 0/);
    refused({ attributes: { os_patch_age_days: 1.5 } }, /whole/);
    refused({ attributes: { os: 'beos' } }, /one of/);
    refused({ attributes: JSON.parse('{"__proto__": true}') as unknown }, /valid attribute name/);
    refused({ attributes: { constructor: true } }, /not a posture attribute/);
    refused({ seq: 0 }, /seq/);
    refused({ seq: 2 ** 60 }, /seq/);
    refused({ sent_at: 'yesterday' }, /sent_at/);
    refused({ device_id: '../x' }, /device_id/);
    refused({ v: 2 }, /version/);
    refused({ extra: 1 }, /unknown key/);
    refused({ unavailable: { screen_lock: 'x'.repeat(201) } }, /200/);
    refused({ unavailable: { firewall: 'x' }, attributes: { firewall: true } }, /both/);
  });

  test('oversized or non-JSON reports are refused before anything else', () => {
    assert.throws(
      () => parseReport('{'.padEnd(17 * 1024, ' ')),
      (e: unknown) => e instanceof DeviceError && e.code === 'ZT_DEVICE_REQUEST_TOO_LARGE',
    );
    assert.throws(
      () => parseReport('nope'),
      (e: unknown) => e instanceof DeviceError && e.code === 'ZT_DEVICE_REPORT_INVALID',
    );
    assert.throws(
      () => parseReport('[[[[[[[[[[1]]]]]]]]]]'),
      (e: unknown) => e instanceof DeviceError && e.code === 'ZT_DEVICE_REPORT_INVALID',
    );
  });
});
