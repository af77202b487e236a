import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DEVICE_SETTINGS } from '../../device/settings.js';
import { PortUnavailableError } from '../../pep/ports.js';
import type { DeviceRecord, DeviceStore } from '../../store/store.js';
import { serverDevicePort } from './device-port.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');

function record(over: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    id: 'd1',
    userId: 'u1',
    hostname: 'laptop',
    os: 'linux',
    enrolledAt: T0 - 86_400_000,
    lastReportAt: null,
    certificateSerial: 'aa',
    certificateFingerprint: 'ff'.repeat(32),
    previousCertificateSerial: null,
    state: 'active',
    posture: {},
    updatedAt: T0,
    version: 1,
    ...over,
  };
}

/** A device store with one device that counts reads and can fail. */
function fakeStore(initial: DeviceRecord) {
  const s = { current: initial, reads: 0, fail: false };
  const read = <T>(v: T): Promise<T> => {
    s.reads++;
    return s.fail ? Promise.reject(new Error('database is down')) : Promise.resolve(v);
  };
  const devices = {
    get: (id: string) => read(id === s.current.id ? s.current : undefined),
    getByCertificateFingerprint: (fp: string) =>
      read(fp === s.current.certificateFingerprint ? s.current : undefined),
  } as unknown as DeviceStore;
  return { s, devices };
}

describe('the server device port', () => {
  it('returns the same frozen facts object while nothing changed, and re-reads after forget', async () => {
    let now = T0;
    const { s, devices } = fakeStore(record());
    const port = serverDevicePort({
      devices,
      settings: () => DEFAULT_DEVICE_SETTINGS,
      now: () => now,
    });
    const a = await port.lookup({ deviceId: 'd1', certFingerprint: undefined });
    assert.ok(a);
    assert.ok(Object.isFrozen(a));
    const b = await port.lookup({ deviceId: 'd1', certFingerprint: undefined });
    assert.equal(b, a, 'cached');
    assert.equal(s.reads, 1);
    now += 5_000; // past the cache time: read again, same facts, same object
    assert.equal(await port.lookup({ deviceId: 'd1', certFingerprint: undefined }), a);
    assert.equal(s.reads, 2);
    s.current = record({ state: 'revoked', version: 2 });
    port.forget('d1');
    assert.equal(
      await port.lookup({ deviceId: 'd1', certFingerprint: undefined }),
      undefined,
      'a revoked device has no facts',
    );
  });

  it('finds the device by its verified certificate', async () => {
    const { devices } = fakeStore(record());
    const port = serverDevicePort({
      devices,
      settings: () => DEFAULT_DEVICE_SETTINGS,
      now: () => T0,
    });
    const f = await port.lookup({ deviceId: undefined, certFingerprint: 'ff'.repeat(32) });
    assert.equal(f?.id, 'd1');
    assert.equal(
      await port.lookup({ deviceId: undefined, certFingerprint: 'ee'.repeat(32) }),
      undefined,
    );
  });

  it('fails closed: a store error is "unavailable" (503), never "no device"', async () => {
    const { s, devices } = fakeStore(record());
    const port = serverDevicePort({
      devices,
      settings: () => DEFAULT_DEVICE_SETTINGS,
      now: () => T0,
    });
    s.fail = true;
    await assert.rejects(
      Promise.resolve(port.lookup({ deviceId: 'd1', certFingerprint: undefined })),
      PortUnavailableError,
    );
  });
});
