/**
 * Posture that goes stale changes what policies see without any report arriving, so nothing else
 * would announce it. The monitor re-evaluates every device at each `tick(now)` and publishes
 * `device.posture_changed` for each one whose facts changed since the previous tick (posture
 * expired, a signal aged out, a tier lost), so that the proxy cuts open connections the policy no
 * longer allows. The composition root calls `tick` on a timer (`start`), every 15 s by default.
 */
import type { DeviceFacts } from '../../pdp/input.js';
import type { DeviceStore } from '../../store/store.js';
import type { DeviceEventPublisher } from '../ports.js';
import { evaluatePosture, factsChanges } from '../posture/facts.js';
import type { DeviceTrustSettings } from '../settings.js';

export interface StalenessMonitorOptions {
  readonly devices: DeviceStore;
  readonly events: DeviceEventPublisher;
  readonly settings: () => DeviceTrustSettings;
}

export class StalenessMonitor {
  private last = new Map<string, DeviceFacts>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: StalenessMonitorOptions) {}

  /** Re-evaluates every device; returns the ids whose facts changed (and were announced). */
  async tick(now: number): Promise<string[]> {
    if (this.running) return [];
    this.running = true;
    try {
      const settings = this.options.settings();
      const next = new Map<string, DeviceFacts>();
      const changed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await this.options.devices.list({
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        });
        for (const record of page.items) {
          if (record.state !== 'active') continue;
          const facts = evaluatePosture(record, now, settings).facts;
          const before = this.last.get(record.id);
          if (before && factsChanges(before, facts).length > 0) changed.push(record.id);
          next.set(record.id, facts);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      this.last = next;
      for (const deviceId of changed) {
        await this.options.events
          .publish({ type: 'device.posture_changed', deviceId })
          .catch(() => undefined);
      }
      return changed;
    } finally {
      this.running = false;
    }
  }

  start(intervalMs = 15_000, now: () => number = Date.now): void {
    this.stop();
    this.timer = setInterval(() => void this.tick(now()).catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
