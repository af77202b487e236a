/**
 * TEST DOUBLE (tests and benchmarks only): device facts from memory, by device id or certificate
 * fingerprint.
 */
import type { DeviceFacts } from '../../pdp/input.js';
import { PortUnavailableError, type DeviceFactsPort, type DeviceLookup } from '../ports.js';

export class MemoryDevicesDouble implements DeviceFactsPort {
  private readonly byId = new Map<string, DeviceFacts>();
  private readonly byFingerprint = new Map<string, DeviceFacts>();
  unavailable = false;
  lookups = 0;

  set(facts: DeviceFacts & { id: string }, fingerprint?: string): void {
    const frozen = Object.freeze({ ...facts });
    this.byId.set(facts.id, frozen);
    if (fingerprint !== undefined) this.byFingerprint.set(fingerprint, frozen);
  }

  delete(id: string): void {
    this.byId.delete(id);
    for (const [fp, f] of this.byFingerprint) if (f.id === id) this.byFingerprint.delete(fp);
  }

  lookup(query: DeviceLookup): DeviceFacts | undefined {
    this.lookups++;
    if (this.unavailable) throw new PortUnavailableError('device', 'device double is down');
    if (query.deviceId !== undefined) {
      const f = this.byId.get(query.deviceId);
      if (f) return f;
    }
    return query.certFingerprint !== undefined
      ? this.byFingerprint.get(query.certFingerprint)
      : undefined;
  }
}
