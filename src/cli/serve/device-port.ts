/**
 * The proxy's device port over the inventory: the facts (managed, tier, posture) of the device a
 * request comes from, found by its verified client certificate or by the device the session was
 * started on.
 *
 * Facts are kept per device for a short time and the same frozen object is returned while nothing
 * a policy reads has changed, which lets the proxy's decision cache reuse its work. A
 * `device.posture_changed` or `device.revoked` event drops the entry (`forget`), and an entry never
 * outlives `cacheTtlMs`, so posture that goes stale with time is seen within that bound even
 * before the staleness monitor announces it.
 */
import { deviceFacts } from '../../device/posture/facts.js';
import type { DeviceTrustSettings } from '../../device/settings.js';
import type { DeviceFacts } from '../../pdp/input.js';
import { PortUnavailableError, type DeviceFactsPort, type DeviceLookup } from '../../pep/ports.js';
import type { DeviceRecord, DeviceStore } from '../../store/store.js';

export interface DevicePortOptions {
  readonly devices: DeviceStore;
  readonly settings: () => DeviceTrustSettings;
  readonly now?: () => number;
  readonly cacheTtlMs?: number;
}

export interface ServerDevicePort extends DeviceFactsPort {
  forget(deviceId: string): void;
  clear(): void;
}

interface Entry {
  readonly facts: DeviceFacts | undefined;
  readonly json: string;
  readonly until: number;
}

export function serverDevicePort(o: DevicePortOptions): ServerDevicePort {
  const now = o.now ?? Date.now;
  const ttl = o.cacheTtlMs ?? 2_000;
  /** by device id; `fp:<fingerprint>` maps a certificate to its device id */
  const byId = new Map<string, Entry>();
  const byFingerprint = new Map<string, { id: string | undefined; until: number }>();

  const read = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw new PortUnavailableError('device', 'the device inventory cannot be read now', {
        cause: err,
      });
    }
  };

  const factsOf = (record: DeviceRecord | undefined, at: number): Entry => {
    const previous = record ? byId.get(record.id) : undefined;
    // a revoked or unknown device has no facts: the request is judged as coming from no device
    const facts =
      record !== undefined && record.state === 'active'
        ? deviceFacts(record, at, o.settings())
        : undefined;
    const json = JSON.stringify(facts ?? null);
    const same = previous !== undefined && previous.json === json;
    return {
      facts: same ? previous.facts : facts && Object.freeze(facts),
      json,
      until: at + ttl,
    };
  };

  const byDeviceId = async (id: string, at: number): Promise<DeviceFacts | undefined> => {
    const hit = byId.get(id);
    if (hit && hit.until > at) return hit.facts;
    const record = await read(() => o.devices.get(id));
    const entry = factsOf(record, at);
    byId.set(id, entry);
    return entry.facts;
  };

  return {
    async lookup(query: DeviceLookup) {
      const at = now();
      if (query.certFingerprint !== undefined) {
        const known = byFingerprint.get(query.certFingerprint);
        if (known && known.until > at) {
          return known.id === undefined ? undefined : byDeviceId(known.id, at);
        }
        const record = await read(() =>
          o.devices.getByCertificateFingerprint(query.certFingerprint as string),
        );
        byFingerprint.set(query.certFingerprint, { id: record?.id, until: at + ttl });
        if (byFingerprint.size > 100_000) byFingerprint.clear();
        if (record === undefined) return undefined;
        const entry = factsOf(record, at);
        byId.set(record.id, entry);
        return entry.facts;
      }
      if (query.deviceId !== undefined) return byDeviceId(query.deviceId, at);
      return undefined;
    },
    forget(deviceId) {
      // keep the entry's facts object for comparison, but make it due for a re-read
      const e = byId.get(deviceId);
      if (e) byId.set(deviceId, { ...e, until: 0 });
      for (const [fp, v] of byFingerprint) if (v.id === deviceId) byFingerprint.delete(fp);
    },
    clear() {
      for (const [id, e] of byId) byId.set(id, { ...e, until: 0 });
      byFingerprint.clear();
    },
  };
}
