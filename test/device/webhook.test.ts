/**
 * Third-party posture signals: the authenticated webhook (HMAC-SHA256 over timestamp and raw body,
 * constant-time compare, replay window) and its mapping into posture attributes; and the staleness
 * monitor that announces posture going stale.
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../src/audit/record.js';
import { DeviceError } from '../../src/device/errors.js';
import type { DeviceChangeEvent } from '../../src/device/ports.js';
import { writePostureDocument } from '../../src/device/posture/document.js';
import { deviceFacts } from '../../src/device/posture/facts.js';
import { PostureService } from '../../src/device/report/posture-service.js';
import { StalenessMonitor } from '../../src/device/report/staleness.js';
import {
  jsonPointer,
  loadWebhookSecrets,
  mapWebhookPayload,
  ReplayCache,
  signWebhook,
  SignalWebhooks,
  verifyWebhook,
} from '../../src/device/report/webhook.js';
import { resolveDeviceSettings } from '../../src/device/settings.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../../src/store/testing.js';
import {
  createTestCa,
  openTestStore,
  startHttpsServer,
  type TestCa,
  type TestServer,
} from './helpers.js';

const SECRET = 'old-secret-0123456789abcdef';
const NEW_SECRET = 'new-secret-fedcba9876543210';

function secretFile(content: string, mode = 0o600): string {
  const file = join(tempDir('ztgate-hook-'), 'secret');
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  return file;
}

describe('signal webhooks', () => {
  let ca: TestCa;
  let store: Store;
  let server: TestServer;
  let posture: PostureService;
  const now = Date.UTC(2026, 10, 22, 10, 0, 0);
  const clock = (): number => now;
  const audit: AuditEvent[] = [];
  const published: DeviceChangeEvent[] = [];
  const settings = resolveDeviceSettings({
    tiers: {
      compliant: { managed: true, posture: { mdm_compliant: true, edr_risk_score: { max: 40 } } },
    },
    webhooks: [
      {
        name: 'intune',
        secret_file: secretFile(`${SECRET}\n${NEW_SECRET}\n`),
        ttl: '1h',
        device: { pointer: '/device/ztgate_id' },
        map: {
          mdm_compliant: { pointer: '/complianceState', equals: 'compliant' },
          'intune.owner': { pointer: '/ownerType', type: 'string' },
        },
      },
      {
        name: 'falcon',
        secret_file: secretFile(`${SECRET}\n`),
        device: { pointer: '/hostname', match: 'hostname' },
        map: { edr_risk_score: { pointer: '/risk/score', type: 'number' } },
      },
      {
        name: 'leaky',
        secret_file: secretFile(`${SECRET}\n`, 0o644),
        device: { pointer: '/id' },
        map: {},
      },
    ],
  });

  const send = (
    name: string,
    payload: unknown,
    headers: { ts?: string | null; sig?: string | null; secret?: string; body?: string } = {},
  ): Promise<{ status: number; code: unknown }> => {
    const body = headers.body ?? JSON.stringify(payload);
    const ts = headers.ts === undefined ? String(Math.floor(now / 1000)) : headers.ts;
    const sig =
      headers.sig === undefined
        ? signWebhook(headers.secret ?? SECRET, ts ?? '', JSON.stringify(payload))
        : headers.sig;
    return new Promise((resolve, reject) => {
      const req = request(
        `${server.url}/api/device/signals/${name}`,
        {
          method: 'POST',
          ca: ca.pem,
          headers: {
            'content-type': 'application/json',
            ...(ts !== null ? { 'x-ztgate-timestamp': ts } : {}),
            ...(sig !== null ? { 'x-ztgate-signature': sig } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => {
            let code: unknown;
            try {
              code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
            } catch {
              code = undefined;
            }
            resolve({ status: res.statusCode ?? 0, code });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };

  before(async () => {
    ca = await createTestCa();
    store = await openTestStore([{ id: 'u1', email: 'alice@example.com' }]);
    for (const [id, hostname] of [
      ['dev-a', 'alice-laptop'],
      ['dev-b', 'twin'],
      ['dev-c', 'twin'],
    ] as const) {
      await store.devices.create({
        id,
        userId: 'u1',
        hostname,
        os: 'macos',
        enrolledAt: now,
        state: 'active',
        certificateSerial: id === 'dev-a' ? '0a' : id === 'dev-b' ? '0b' : '0c',
      });
    }
    const sink = { append: (e: AuditEvent) => void audit.push(e) };
    posture = new PostureService({
      devices: store.devices,
      settings,
      now: clock,
      audit: sink,
      events: { publish: (e) => (published.push(e), Promise.resolve()) },
    });
    const hooks = new SignalWebhooks({
      devices: store.devices,
      posture,
      webhooks: settings.webhooks,
      now: clock,
    });
    server = await startHttpsServer(ca, (req, res) =>
      hooks.handle((req.url ?? '').replace('/api/device/signals/', ''), req, res),
    );
  });

  after(async () => {
    await server.close();
    await store.close();
  });

  test('a signed signal becomes posture attributes with their own TTL, and the change is announced', async () => {
    const r = await send('intune', {
      device: { ztgate_id: 'dev-a' },
      complianceState: 'compliant',
      ownerType: 'company',
    });
    assert.deepEqual(r, { status: 200, code: undefined });
    const falcon = await send('falcon', { hostname: 'alice-laptop', risk: { score: 12 } });
    assert.equal(falcon.status, 200);
    const record = await store.devices.get('dev-a');
    assert.ok(record);
    const facts = deviceFacts(record, now, settings);
    assert.deepEqual(facts.posture, {
      mdm_compliant: true,
      'intune.owner': 'company',
      edr_risk_score: 12,
    });
    assert.equal(facts.tier, 'compliant');
    assert.deepEqual(published, [
      { type: 'device.posture_changed', deviceId: 'dev-a' },
      { type: 'device.posture_changed', deviceId: 'dev-a' },
    ]);
    assert.equal(
      deviceFacts(record, now + 61 * 60_000, settings).posture?.mdm_compliant,
      undefined,
    );
  });

  test('bad, missing or rotated-out signatures, a changed body, stale timestamps and replays are refused and audited', async () => {
    const payload = { device: { ztgate_id: 'dev-a' }, complianceState: 'noncompliant' };
    const refusals = audit.filter((e) => e.action === 'device.signal_refused').length;
    assert.deepEqual(await send('intune', payload, { sig: 'sha256=' + '0'.repeat(64) }), {
      status: 401,
      code: 'ZT_DEVICE_WEBHOOK_SIGNATURE',
    });
    assert.deepEqual(await send('intune', payload, { sig: null }), {
      status: 401,
      code: 'ZT_DEVICE_WEBHOOK_SIGNATURE',
    });
    assert.deepEqual(await send('intune', payload, { secret: 'someone-elses-secret-000' }), {
      status: 401,
      code: 'ZT_DEVICE_WEBHOOK_SIGNATURE',
    });
    const tampered = { ...payload, complianceState: 'compliant' };
    assert.deepEqual(await send('intune', payload, { body: JSON.stringify(tampered) }), {
      status: 401,
      code: 'ZT_DEVICE_WEBHOOK_SIGNATURE',
    });
    assert.deepEqual(await send('intune', payload, { ts: String(Math.floor(now / 1000) - 301) }), {
      status: 401,
      code: 'ZT_DEVICE_WEBHOOK_STALE',
    });
    assert.deepEqual(await send('intune', payload, { ts: String(Math.floor(now / 1000) + 301) }), {
      status: 401,
      code: 'ZT_DEVICE_WEBHOOK_STALE',
    });
    assert.deepEqual(await send('intune', payload, { ts: null }), {
      status: 401,
      code: 'ZT_DEVICE_WEBHOOK_STALE',
    });
    assert.deepEqual(await send('intune', payload, { secret: NEW_SECRET }), {
      status: 200,
      code: undefined,
    });
    assert.deepEqual(await send('intune', payload, { secret: NEW_SECRET }), {
      status: 409,
      code: 'ZT_DEVICE_WEBHOOK_REPLAYED',
    });
    assert.equal(audit.filter((e) => e.action === 'device.signal_refused').length - refusals, 8);
    const record = await store.devices.get('dev-a');
    assert.equal(record && deviceFacts(record, now, settings).posture?.mdm_compliant, false);
  });

  test('unknown webhooks, unmatched or ambiguous devices, mistyped values and a readable secret file are refused', async () => {
    assert.equal((await send('nope', {})).status, 404);
    assert.deepEqual(
      await send('intune', { device: { ztgate_id: 'dev-zzz' }, complianceState: 'compliant' }),
      { status: 400, code: 'ZT_DEVICE_WEBHOOK_UNMATCHED' },
    );
    assert.deepEqual(await send('intune', { complianceState: 'compliant' }), {
      status: 400,
      code: 'ZT_DEVICE_WEBHOOK_UNMATCHED',
    });
    assert.deepEqual(await send('falcon', { hostname: 'twin', risk: { score: 5 } }), {
      status: 400,
      code: 'ZT_DEVICE_WEBHOOK_UNMATCHED',
    });
    assert.deepEqual(await send('falcon', { hostname: 'alice-laptop', risk: { score: '5' } }), {
      status: 400,
      code: 'ZT_DEVICE_WEBHOOK_UNMATCHED',
    });
    assert.deepEqual(await send('falcon', { hostname: 'alice-laptop', risk: { score: 500 } }), {
      status: 400,
      code: 'ZT_DEVICE_WEBHOOK_UNMATCHED',
    });
    assert.deepEqual(await send('leaky', { id: 'dev-a' }), {
      status: 503,
      code: 'ZT_DEVICE_WEBHOOK_SECRET',
    });
  });

  test('verification units: constant-size compare, replay cache bound, JSON pointers, secret files', () => {
    const body = Buffer.from('{"a":1}');
    const ts = '1763805600';
    const opts = {
      secrets: [Buffer.from(SECRET)],
      toleranceMs: 300_000,
      now: 1763805600_000,
      replay: new ReplayCache(2),
    };
    verifyWebhook(
      {
        rawBody: body,
        timestamp: ts,
        signature: signWebhook(SECRET, ts, body).toUpperCase().replace('SHA256=', 'sha256='),
      },
      opts,
    );
    assert.throws(
      () => verifyWebhook({ rawBody: body, timestamp: ts, signature: 'sha256=abc' }, opts),
      (e: unknown) => e instanceof DeviceError && e.code === 'ZT_DEVICE_WEBHOOK_SIGNATURE',
    );
    const full = new ReplayCache(1);
    assert.equal(full.admit('a', 10, 0), true);
    assert.equal(full.admit('b', 10, 0), false, 'full: fails closed');
    assert.equal(full.admit('b', 20, 11), true, 'expired entries make room');
    assert.equal(jsonPointer({ 'a/b': { '~c': [1, 2] } }, '/a~1b/~0c/1'), 2);
    assert.equal(jsonPointer({ a: [1] }, '/a/01'), undefined);
    assert.equal(jsonPointer({ a: 1 }, '/constructor'), undefined);
    const hook = settings.webhooks[0];
    assert.ok(hook);
    assert.deepEqual(
      mapWebhookPayload(
        { device: { ztgate_id: 'x' }, complianceState: 'compliant', ownerType: null },
        hook,
      ),
      { deviceRef: 'x', attributes: { mdm_compliant: true } },
    );
    assert.throws(
      () => loadWebhookSecrets(secretFile('short\n')),
      (e: unknown) => e instanceof DeviceError && e.code === 'ZT_DEVICE_WEBHOOK_SECRET',
    );
    assert.throws(
      () => loadWebhookSecrets(secretFile('\n\n')),
      (e: unknown) => e instanceof DeviceError && e.code === 'ZT_DEVICE_WEBHOOK_SECRET',
    );
    assert.throws(
      () => loadWebhookSecrets('/nonexistent/secret'),
      (e: unknown) => e instanceof DeviceError && e.code === 'ZT_DEVICE_WEBHOOK_SECRET',
    );
  });
});

describe('staleness monitor', () => {
  test('announces a device whose posture went stale, once, with an injected clock', async () => {
    const store = await openTestStore([{ id: 'u1', email: 'alice@example.com' }]);
    try {
      let now = Date.UTC(2026, 10, 22, 10, 0, 0);
      const settings = resolveDeviceSettings({
        posture_ttl: '5m',
        tiers: { high: { posture: { firewall: true } } },
      });
      await store.devices.create({
        id: 'dev-s',
        userId: 'u1',
        hostname: 'h',
        os: 'linux',
        enrolledAt: now,
        state: 'active',
        certificateSerial: '0d',
      });
      const published: DeviceChangeEvent[] = [];
      const monitor = new StalenessMonitor({
        devices: store.devices,
        events: { publish: (e) => (published.push(e), Promise.resolve()) },
        settings: () => settings,
      });
      // an accepted agent report, as the posture service stores it
      const doc = {
        agent: {
          seq: 1,
          sentAt: now,
          receivedAt: now,
          attributes: { firewall: true },
          unavailable: {},
        },
        signals: {},
      };
      await store.devices.reportPosture('dev-s', writePostureDocument(doc), now);
      assert.deepEqual(await monitor.tick(now), []);
      now += 4 * 60_000;
      assert.deepEqual(await monitor.tick(now), []);
      now += 2 * 60_000;
      assert.deepEqual(await monitor.tick(now), ['dev-s']);
      assert.deepEqual(published, [{ type: 'device.posture_changed', deviceId: 'dev-s' }]);
      assert.deepEqual(await monitor.tick(now + 60_000), []);
    } finally {
      await store.close();
    }
  });
});
