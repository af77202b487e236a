/**
 * Posture history: the last N accepted reports and signals of each device, for `ztgate device
 * show`, the portal and investigations. A store gap: src/store has no table for it yet (see
 * docs/device.md, "Store"); until it has, history lives in memory.
 */
import type { PostureValue } from '../../pdp/input.js';

export interface PostureHistoryEntry {
  readonly deviceId: string;
  /** server time, ms */
  readonly at: number;
  /** `agent` or the webhook name */
  readonly source: string;
  /** agent reports only */
  readonly seq?: number;
  readonly attributes: Readonly<Record<string, PostureValue>>;
  readonly unavailable?: Readonly<Record<string, string>>;
  /** the tier after this report */
  readonly tier: string | null;
  /** what changed for policies (`posture.firewall`, `tier`, ...) */
  readonly changes: readonly string[];
}

export interface PostureHistoryStore {
  /** appends and keeps only the newest `keep` entries of the device */
  append(entry: PostureHistoryEntry, keep: number): Promise<void>;
  /** newest first */
  list(deviceId: string, limit?: number): Promise<readonly PostureHistoryEntry[]>;
  deleteDevice(deviceId: string): Promise<void>;
}

export class InMemoryPostureHistory implements PostureHistoryStore {
  private readonly entries = new Map<string, PostureHistoryEntry[]>();

  append(entry: PostureHistoryEntry, keep: number): Promise<void> {
    const list = this.entries.get(entry.deviceId) ?? [];
    list.push(entry);
    if (list.length > keep) list.splice(0, list.length - keep);
    this.entries.set(entry.deviceId, list);
    return Promise.resolve();
  }

  list(deviceId: string, limit = 100): Promise<readonly PostureHistoryEntry[]> {
    return Promise.resolve([...(this.entries.get(deviceId) ?? [])].reverse().slice(0, limit));
  }

  deleteDevice(deviceId: string): Promise<void> {
    this.entries.delete(deviceId);
    return Promise.resolve();
  }
}
