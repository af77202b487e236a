/**
 * Posture writes across replicas: two services on two store connections to one database (what two
 * replicas are) write signals for one device at once; the compare-and-set on the device version
 * must keep every source, and the history must be the store's. Also: a recorded fingerprint is
 * required to match the presented certificate.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { tempDir } from '../../store/testing.js';
import { authenticateDevice } from '../auth.js';
import { DeviceError } from '../errors.js';
import { readPostureDocument } from '../posture/document.js';
import { resolveDeviceSettings } from '../settings.js';
import { PostureService } from './posture-service.js';

const T0 = 1_800_000_000_000;

describe('posture writes on two replicas of one store', () => {
  let a: Store;
  let b: Store;

  before(async () => {
    const dataDir = join(tempDir('ztgate-posture-'), 'data');
    a = await openStore({ kind: 'sqlite', dataDir });
    b = await openStore({ kind: 'sqlite', dataDir });
    await a.users.create({ id: 'u1', email: 'alice@example.com', at: T0 });
  });

  after(async () => {
    await b.close();
    await a.close();
  });

  test('concurrent signals from two sources on two replicas: none is lost; one shared history', async () => {
    await a.devices.create({
      id: 'dev-1',
      userId: 'u1',
      hostname: 'laptop',
      os: 'linux',
      enrolledAt: T0,
      state: 'active',
    });
    const settings = resolveDeviceSettings({ history: 50 });
    let clock = T0;
    const now = () => ++clock;
    const replicaA = new PostureService({ devices: a.devices, settings, now });
    const replicaB = new PostureService({ devices: b.devices, settings, now });
    const rounds = 6;
    await Promise.all(
      Array.from({ length: rounds }, (_, i) => [
        replicaA.ingestSignal('dev-1', 'intune', { mdm_compliant: i % 2 === 0 }),
        replicaB.ingestSignal('dev-1', 'falcon', { edr_risk_score: i }),
      ]).flat(),
    );
    const record = await a.devices.get('dev-1');
    assert.ok(record);
    const doc = readPostureDocument(record.posture);
    assert.deepEqual(Object.keys(doc.signals).sort(), ['falcon', 'intune'], 'both sources kept');
    assert.equal(doc.signals.falcon?.attributes.edr_risk_score, rounds - 1);
    assert.equal(record.version, 1 + 2 * rounds, 'every signal written once');
    assert.equal(record.lastReportAt, null, 'signals are not agent reports');
    const history = await replicaB.history.list('dev-1', 100);
    assert.equal(history.length, 2 * rounds, 'one history for both replicas');
    assert.deepEqual(await replicaA.history.list('dev-1', 100), history);
  });

  test('a signal for a device revoked on the other replica is refused', async () => {
    await a.devices.create({
      id: 'dev-2',
      userId: 'u1',
      hostname: 'laptop',
      os: 'linux',
      enrolledAt: T0,
      state: 'active',
    });
    const replica = new PostureService({ devices: a.devices, now: () => T0 });
    await b.devices.setState('dev-2', 'revoked', T0);
    await assert.rejects(
      replica.ingestSignal('dev-2', 'intune', { mdm_compliant: true }),
      (err: unknown) => err instanceof DeviceError && err.code === 'ZT_DEVICE_REVOKED',
    );
  });

  test('the recorded fingerprint must match the presented certificate; older records go by serial', async () => {
    const serial = `7f${randomBytes(7).toString('hex')}`;
    const fingerprint = randomBytes(32).toString('hex');
    await a.devices.create({
      id: 'dev-3',
      userId: 'u1',
      hostname: 'laptop',
      os: 'linux',
      enrolledAt: T0,
      state: 'active',
      certificateSerial: serial,
      certificateFingerprint: fingerprint,
    });
    const ok = await authenticateDevice(
      a.devices,
      { serialNumber: serial.toUpperCase(), fingerprint256: fingerprint.toUpperCase() },
      T0,
    );
    assert.equal(ok.device.id, 'dev-3');
    await assert.rejects(
      authenticateDevice(
        a.devices,
        { serialNumber: serial, fingerprint256: randomBytes(32).toString('hex') },
        T0,
      ),
      (err: unknown) => err instanceof DeviceError && err.code === 'ZT_DEVICE_CLIENT_CERT_UNKNOWN',
    );
    const legacySerial = `6e${randomBytes(7).toString('hex')}`;
    await a.devices.create({
      id: 'dev-4',
      userId: 'u1',
      hostname: 'laptop',
      os: 'linux',
      enrolledAt: T0,
      state: 'active',
      certificateSerial: legacySerial,
    });
    const legacy = await authenticateDevice(
      a.devices,
      { serialNumber: legacySerial, fingerprint256: randomBytes(32).toString('hex') },
      T0,
    );
    assert.equal(legacy.device.id, 'dev-4');
  });
});
