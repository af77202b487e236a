/**
 * Posture history: the last N accepted reports and signals of each device, for `ztgate device
 * show`, the portal and investigations. Kept in the store (`store.devices.history`, table
 * `device_posture_history`), shared by every replica and trimmed to `devices.history` entries per
 * device on each append; deleting a device deletes its history.
 */
import type { PostureValue } from '../../pdp/input.js';
import type {
  DevicePostureHistoryStore,
  JsonObject,
  PostureHistoryRecord,
} from '../../store/store.js';

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

/** The posture history in the store: maps entries to store records and back. */
export class StorePostureHistory implements PostureHistoryStore {
  constructor(private readonly records: DevicePostureHistoryStore) {}

  append(entry: PostureHistoryEntry, keep: number): Promise<void> {
    return this.records.append(
      {
        deviceId: entry.deviceId,
        at: entry.at,
        source: entry.source,
        seq: entry.seq ?? null,
        attributes: entry.attributes,
        unavailable: entry.unavailable ?? null,
        tier: entry.tier,
        changes: entry.changes,
      },
      keep,
    );
  }

  async list(deviceId: string, limit = 100): Promise<readonly PostureHistoryEntry[]> {
    return (await this.records.list(deviceId, limit)).map(entryOf);
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.records.deleteDevice(deviceId);
  }
}

function scalars(o: JsonObject): Record<string, PostureValue> {
  const out: Record<string, PostureValue> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') out[k] = v;
  }
  return out;
}

function strings(o: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** A stored record as an entry; values of another shape than the schema allows are left out. */
function entryOf(r: PostureHistoryRecord): PostureHistoryEntry {
  return {
    deviceId: r.deviceId,
    at: r.at,
    source: r.source,
    ...(r.seq !== null ? { seq: r.seq } : {}),
    attributes: scalars(r.attributes),
    ...(r.unavailable !== null ? { unavailable: strings(r.unavailable) } : {}),
    tier: r.tier,
    changes: r.changes,
  };
}
