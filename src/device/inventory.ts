/**
 * The device inventory as people see it (`ztgate device list|show|revoke`, the admin API, the
 * portal's "my devices"): summaries with the facts policies see now, details with the reasons
 * attributes are missing and what each tier still needs, and revocation.
 */
import type { AuditEvent } from '../audit/record.js';
import type { PostureValue } from '../pdp/input.js';
import type { DeviceRecord, DeviceState, DeviceStore } from '../store/store.js';
import type { DeviceCertificateIssuer, RevocationReason } from './enroll/issuer.js';
import { DeviceError, quote, storeFailed } from './errors.js';
import { safeAudit, type DeviceAuditSink, type DeviceEventPublisher } from './ports.js';
import { evaluatePosture } from './posture/facts.js';
import { tierShortfall } from './posture/tiers.js';
import {
  StorePostureHistory,
  type PostureHistoryEntry,
  type PostureHistoryStore,
} from './report/history.js';
import { DEFAULT_DEVICE_SETTINGS, type DeviceTrustSettings } from './settings.js';

export interface DeviceSummary {
  readonly id: string;
  readonly user_id: string;
  readonly hostname: string;
  readonly os: string;
  readonly state: DeviceState;
  readonly enrolled_at: string;
  /** when the agent's last accepted report arrived */
  readonly last_report_at: string | null;
  readonly certificate_serial: string | null;
  readonly managed: boolean;
  readonly tier: string | null;
  /** the agent posture is older than `posture_ttl` (or there is none): its attributes are unknown */
  readonly stale: boolean;
  /** the attributes policies see now */
  readonly posture: Readonly<Record<string, PostureValue>>;
}

export interface DeviceDetails extends DeviceSummary {
  readonly sources: readonly {
    source: string;
    received_at: string;
    age_s: number;
    stale: boolean;
  }[];
  /** why the agent could not report an attribute */
  readonly unavailable: Readonly<Record<string, string>>;
  /** per configured tier, in order: what the device lacks (empty when it qualifies) */
  readonly tiers: readonly { name: string; missing: readonly string[] }[];
  readonly history: readonly PostureHistoryEntry[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function summarizeDevice(
  record: DeviceRecord,
  now: number,
  settings: DeviceTrustSettings = DEFAULT_DEVICE_SETTINGS,
): DeviceSummary {
  const e = evaluatePosture(record, now, settings);
  const agent = e.document.agent;
  return {
    id: record.id,
    user_id: record.userId,
    hostname: record.hostname,
    os: record.os,
    state: record.state,
    enrolled_at: iso(record.enrolledAt),
    last_report_at: agent ? iso(agent.receivedAt) : null,
    certificate_serial: record.certificateSerial,
    managed: e.managed,
    tier: e.tier ?? null,
    stale: e.agentStale,
    posture: e.attributes,
  };
}

export interface ListDevicesOptions {
  readonly now: number;
  readonly settings?: DeviceTrustSettings;
  readonly user?: string;
  readonly state?: DeviceState;
  readonly limit?: number;
  readonly cursor?: string;
}

export async function listDevices(
  devices: DeviceStore,
  options: ListDevicesOptions,
): Promise<{ devices: DeviceSummary[]; next_cursor: string | null }> {
  try {
    let records: readonly DeviceRecord[];
    let next: string | null = null;
    if (options.user !== undefined) {
      records = await devices.listByUser(options.user);
    } else {
      const page = await devices.list({
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
        ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
      });
      records = page.items;
      next = page.nextCursor;
    }
    const out = records
      .filter((r) => options.state === undefined || r.state === options.state)
      .map((r) => summarizeDevice(r, options.now, options.settings));
    return { devices: out, next_cursor: next };
  } catch (err) {
    throw storeFailed('list the devices', err);
  }
}

async function getDevice(devices: DeviceStore, id: string): Promise<DeviceRecord> {
  let record: DeviceRecord | undefined;
  try {
    record = await devices.get(id);
  } catch (err) {
    throw storeFailed('read the device', err);
  }
  if (!record) {
    throw new DeviceError('ZT_DEVICE_NOT_FOUND', `no device has the id ${quote(id)}`, {
      help: 'list the devices with `ztgate device list`',
    });
  }
  return record;
}

export async function showDevice(
  devices: DeviceStore,
  id: string,
  options: {
    readonly now: number;
    readonly settings?: DeviceTrustSettings;
    /** default: the store's (`devices.history`) */
    readonly history?: PostureHistoryStore;
  },
): Promise<DeviceDetails> {
  const record = await getDevice(devices, id);
  const settings = options.settings ?? DEFAULT_DEVICE_SETTINGS;
  const e = evaluatePosture(record, options.now, settings);
  const history = await (options.history ?? new StorePostureHistory(devices.history))
    .list(id, settings.historySize)
    .catch(() => []);
  return {
    ...summarizeDevice(record, options.now, settings),
    sources: e.sources.map((s) => ({
      source: s.source,
      received_at: iso(s.receivedAt),
      age_s: Math.round(s.ageMs / 1000),
      stale: s.stale,
    })),
    unavailable: e.document.agent?.unavailable ?? {},
    tiers: settings.tiers.map((t) => ({
      name: t.name,
      missing: tierShortfall(t, { managed: e.managed, posture: e.attributes }),
    })),
    history,
  };
}

export interface RevokeOptions {
  readonly devices: DeviceStore;
  readonly now: number;
  readonly events?: DeviceEventPublisher;
  readonly issuer?: DeviceCertificateIssuer;
  readonly audit?: DeviceAuditSink;
  /** who revoked it, for the audit log (`operator` for the local CLI) */
  readonly actor?: AuditEvent['actor'];
  readonly reason?: RevocationReason;
}

export interface RevokeOutcome {
  readonly device: DeviceSummary;
  /** false when it was already revoked */
  readonly changed: boolean;
  /** whether the certificate was revoked through the CA port (false when the port is not wired) */
  readonly certificate_revoked: boolean;
  /** whether the `device.revoked` event reached the other replicas */
  readonly event_published: boolean;
}

/**
 * Revokes a device: state `revoked` (its facts become `{}`: every device requirement fails at
 * once), `device.revoked` published so that every replica cuts its connections, and its
 * certificate (and the one its last renewal replaced) revoked through the CA port when one is
 * wired. Revoking twice changes nothing.
 */
export async function revokeDevice(id: string, options: RevokeOptions): Promise<RevokeOutcome> {
  const record = await getDevice(options.devices, id);
  const changed = record.state !== 'revoked';
  let updated = record;
  if (changed) {
    try {
      updated = await options.devices.setState(id, 'revoked', options.now);
    } catch (err) {
      throw storeFailed('revoke the device', err);
    }
  }
  let certificateRevoked = false;
  if (record.certificateSerial && options.issuer?.revokeCertificate) {
    try {
      await options.issuer.revokeCertificate(
        record.certificateSerial,
        options.reason ?? 'cessationOfOperation',
      );
      certificateRevoked = true;
    } catch {
      certificateRevoked = false;
    }
  }
  // The certificate the last renewal replaced was revoked then, unless the CA failed: again, to be
  // sure (a revocation is kept with its first reason).
  if (record.previousCertificateSerial && options.issuer?.revokeCertificate) {
    await options.issuer
      .revokeCertificate(record.previousCertificateSerial, 'superseded')
      .catch(() => undefined);
  }
  let published = false;
  if (options.events) {
    try {
      await options.events.publish({ type: 'device.revoked', deviceId: id });
      published = true;
    } catch {
      published = false;
    }
  }
  const event: AuditEvent = {
    kind: 'device',
    time: options.now,
    action: 'device.revoked',
    outcome: 'success',
    actor: options.actor ?? { service: 'operator' },
    resource: `device:${id}`,
    details: {
      user: record.userId,
      changed,
      certificate_serial: record.certificateSerial,
      certificate_revoked: certificateRevoked,
      event_published: published,
    },
  };
  safeAudit(options.audit, event);
  return {
    device: summarizeDevice(updated, options.now),
    changed,
    certificate_revoked: certificateRevoked,
    event_published: published,
  };
}
