/**
 * The server side of posture: accepts agent reports and webhook signals, keeps the last one of
 * each source in the device record and N of them in the history, and tells every replica when the
 * facts a policy sees changed (`device.posture_changed`), so that the proxy re-evaluates open
 * connections at once.
 *
 * A report is refused (and audited) when the certificate is not the current one of an active
 * device, when it names another device, when it breaks the report schema or size limit, or when
 * it is a replay: its `seq` must be above the last accepted one and its `sent_at` within
 * `report_window` of the server clock.
 *
 * Every write is a compare-and-set on the device record's version (`updatePosture`): read, check,
 * compute, write if nobody wrote meanwhile, else read again and redo. So reports and signals for
 * one device arriving at several replicas at once never overwrite each other, a report replayed to
 * two replicas at once is accepted once, and a device revoked meanwhile is refused. Within one
 * process, work for one device is also queued, so that it rarely has to be redone.
 */
import type { AuditEvent } from '../../audit/record.js';
import type { PostureValue } from '../../pdp/input.js';
import { StoreError, type DeviceRecord, type DeviceStore } from '../../store/store.js';
import { authenticateDevice, type PresentedCertificate } from '../auth.js';
import { DeviceError, storeFailed } from '../errors.js';
import {
  safeAudit,
  type Clock,
  type DeviceAuditSink,
  type DeviceEventPublisher,
} from '../ports.js';
import {
  readPostureDocument,
  writePostureDocument,
  type PostureDocument,
} from '../posture/document.js';
import { evaluatePosture, factsChanges } from '../posture/facts.js';
import { parseReport, parseRfc3339, type PostureReport } from '../posture/report.js';
import { DEFAULT_DEVICE_SETTINGS, type DeviceTrustSettings } from '../settings.js';
import { StorePostureHistory, type PostureHistoryStore } from './history.js';

export interface PostureServiceOptions {
  readonly devices: DeviceStore;
  /** default: the store's (`devices.history`) */
  readonly history?: PostureHistoryStore;
  readonly events?: DeviceEventPublisher;
  readonly audit?: DeviceAuditSink;
  readonly settings?: DeviceTrustSettings;
  readonly now?: Clock;
  /** which attributes policies test; by default every attribute that is not informational */
  readonly isRelevant?: (attribute: string) => boolean;
}

export interface ReportOutcome {
  readonly deviceId: string;
  readonly seq: number;
  readonly tier: string | null;
  /** what changed for policies; an event was published when not empty */
  readonly changes: readonly string[];
}

export interface RequestMeta {
  readonly sourceIp?: string | undefined;
  readonly requestId?: string | undefined;
}

/** What the agent is told with every accepted report (and at enrollment). */
export interface AgentSettingsPayload {
  readonly report_interval_s: number;
  readonly posture_ttl_s: number;
  readonly edr_processes: readonly string[];
}

/** How often a write that lost a compare-and-set race is redone before giving up (503). */
const MAX_WRITE_ATTEMPTS = 8;

export class PostureService {
  readonly history: PostureHistoryStore;
  private readonly now: Clock;
  private readonly locks = new Map<string, Promise<unknown>>();
  private settingsValue: DeviceTrustSettings;

  constructor(private readonly options: PostureServiceOptions) {
    this.history = options.history ?? new StorePostureHistory(options.devices.history);
    this.now = options.now ?? Date.now;
    this.settingsValue = options.settings ?? DEFAULT_DEVICE_SETTINGS;
  }

  get settings(): DeviceTrustSettings {
    return this.settingsValue;
  }

  /** A config reload swaps the settings; reports in flight finish with the old ones. */
  setSettings(settings: DeviceTrustSettings): void {
    this.settingsValue = settings;
  }

  agentSettings(): AgentSettingsPayload {
    const s = this.settingsValue;
    return {
      report_interval_s: Math.round(s.reportIntervalMs / 1000),
      posture_ttl_s: Math.round(s.postureTtlMs / 1000),
      edr_processes: s.edrProcesses,
    };
  }

  /** Accepts one agent report sent with the device certificate `cert`. */
  async ingestReport(
    cert: PresentedCertificate | undefined,
    body: string | Uint8Array | (() => Promise<Uint8Array>),
    meta: RequestMeta = {},
  ): Promise<ReportOutcome> {
    let deviceId: string | undefined;
    let userId: string | undefined;
    try {
      const auth = await authenticateDevice(this.options.devices, cert, this.now());
      deviceId = auth.device.id;
      userId = auth.device.userId;
      // read only once the sender is known: the body reader enforces the size limit
      const report = parseReport(typeof body === 'function' ? await body() : body);
      if (report.device_id !== auth.device.id) {
        throw new DeviceError(
          'ZT_DEVICE_REPORT_WRONG_DEVICE',
          'the report names another device than the certificate it was sent with',
        );
      }
      const id = auth.device.id;
      return await this.exclusive(id, () => this.applyReport(id, auth.serial, report, meta));
    } catch (err) {
      this.refused('device.report_refused', err, meta, userId, deviceId);
      throw err;
    }
  }

  /** Records a verified webhook signal for a device (see ./webhook.ts). */
  async ingestSignal(
    deviceId: string,
    source: string,
    attributes: Readonly<Record<string, PostureValue>>,
    meta: RequestMeta = {},
  ): Promise<{ readonly changes: readonly string[]; readonly tier: string | null }> {
    return this.exclusive(deviceId, async () => {
      const { record, changes, tier } = await this.commit(
        deviceId,
        { source, attributes },
        false,
        (current, at) => {
          if (current.state === 'revoked')
            throw new DeviceError(
              'ZT_DEVICE_REVOKED',
              'the device named by the signal was revoked',
            );
          const doc = readPostureDocument(current.posture);
          return {
            ...doc,
            signals: {
              ...doc.signals,
              [source]: { receivedAt: at, attributes: { ...attributes } },
            },
          };
        },
      );
      this.audit(
        {
          action: 'device.signal_received',
          outcome: 'success',
          actor: { user: record.userId, device: record.id, service: `webhook:${source}` },
          resource: `device:${record.id}`,
          details: { source, changes: [...changes] },
        },
        meta,
      );
      return { changes, tier };
    });
  }

  private async applyReport(
    id: string,
    serial: string,
    report: PostureReport,
    meta: RequestMeta,
  ): Promise<ReportOutcome> {
    const sentAt = parseRfc3339(report.sent_at);
    const { record, changes, tier } = await this.commit(
      id,
      {
        source: 'agent',
        seq: report.seq,
        attributes: report.attributes,
        unavailable: report.unavailable,
      },
      true,
      (current, at) => {
        // checked again on each attempt: the record may have changed since authentication
        if (current.state === 'revoked')
          throw new DeviceError('ZT_DEVICE_REVOKED', 'this device was revoked', {
            help: 'ask an administrator, then enroll the device again',
          });
        if (current.certificateSerial !== serial)
          throw new DeviceError(
            'ZT_DEVICE_CLIENT_CERT_UNKNOWN',
            'the client certificate is no longer the current certificate of the device',
            { help: 'use the certificate from the last enrollment or renewal' },
          );
        const doc = readPostureDocument(current.posture);
        if (doc.agent && report.seq <= doc.agent.seq) {
          throw new DeviceError(
            'ZT_DEVICE_REPORT_REPLAYED',
            `the report sequence number ${report.seq} is not above the last accepted one`,
            {
              help: 'each report needs a larger `seq` than the one before (the agent keeps it in its state file)',
            },
          );
        }
        if (Math.abs(at - sentAt) > this.settingsValue.reportWindowMs) {
          throw new DeviceError(
            'ZT_DEVICE_REPORT_REPLAYED',
            'the report time is outside the accepted window of the server clock',
            { help: 'check the device clock (NTP); old reports are not accepted' },
          );
        }
        return {
          ...doc,
          agent: {
            seq: report.seq,
            sentAt: Math.round(sentAt),
            receivedAt: at,
            attributes: report.attributes,
            unavailable: report.unavailable,
          },
        };
      },
    );
    if (changes.length > 0) {
      this.audit(
        {
          action: 'device.posture_changed',
          outcome: 'success',
          actor: { user: record.userId, device: record.id },
          resource: `device:${record.id}`,
          details: { seq: report.seq, changes: [...changes], tier },
        },
        meta,
      );
    }
    return { deviceId: id, seq: report.seq, tier, changes };
  }

  /**
   * Reads the device, lets `next` check it and compute the new document, and writes that only if
   * the record did not change meanwhile (compare-and-set on its version); when it did, starts over
   * with the new record. Then appends the history and publishes the change.
   */
  private async commit(
    id: string,
    entry: {
      source: string;
      seq?: number;
      attributes: Readonly<Record<string, PostureValue>>;
      unavailable?: Readonly<Record<string, string>>;
    },
    touchReport: boolean,
    next: (current: DeviceRecord, at: number) => PostureDocument,
  ): Promise<{ record: DeviceRecord; changes: string[]; tier: string | null }> {
    const settings = this.settingsValue;
    for (let attempt = 1; ; attempt++) {
      const before = await this.read(id);
      const at = this.now();
      const doc = next(before, at);
      let after: DeviceRecord;
      try {
        after = await this.options.devices.updatePosture(
          id,
          before.version,
          writePostureDocument(doc),
          at,
          { touchReport },
        );
      } catch (err) {
        const code = err instanceof StoreError ? err.code : undefined;
        if (code === 'ZT_STORE_CONFLICT' && attempt < MAX_WRITE_ATTEMPTS) continue;
        if (code === 'ZT_STORE_NOT_FOUND')
          throw new DeviceError('ZT_DEVICE_NOT_FOUND', 'the device no longer exists');
        throw storeFailed('record the posture', err);
      }
      const previous = evaluatePosture(before, at, settings).facts;
      const evaluation = evaluatePosture(after, at, settings);
      const changes = factsChanges(previous, evaluation.facts, this.options.isRelevant);
      const tier = evaluation.tier ?? null;
      await this.history
        .append(
          {
            deviceId: id,
            at,
            source: entry.source,
            ...(entry.seq !== undefined ? { seq: entry.seq } : {}),
            attributes: entry.attributes,
            ...(entry.unavailable ? { unavailable: entry.unavailable } : {}),
            tier,
            changes,
          },
          settings.historySize,
        )
        .catch(() => undefined);
      if (changes.length > 0) await this.publish(id);
      return { record: after, changes, tier };
    }
  }

  private async publish(deviceId: string): Promise<void> {
    if (!this.options.events) return;
    try {
      await this.options.events.publish({ type: 'device.posture_changed', deviceId });
    } catch {
      // The record is stored (the source of truth); replicas catch up on their next read or resync.
      this.audit(
        {
          action: 'device.event_failed',
          outcome: 'failure',
          resource: `device:${deviceId}`,
          details: { event: 'device.posture_changed' },
        },
        {},
      );
    }
  }

  private async read(id: string): Promise<DeviceRecord> {
    let record: DeviceRecord | undefined;
    try {
      record = await this.options.devices.get(id);
    } catch (err) {
      throw storeFailed('read the device', err);
    }
    if (!record) throw new DeviceError('ZT_DEVICE_NOT_FOUND', 'the device no longer exists');
    return record;
  }

  /** Runs `work` after every earlier work for the same device has settled. */
  private async exclusive<T>(deviceId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(deviceId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.locks.set(deviceId, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(deviceId) === tail) this.locks.delete(deviceId);
    }
  }

  private refused(
    action: string,
    err: unknown,
    meta: RequestMeta,
    userId?: string,
    deviceId?: string,
  ): void {
    this.audit(
      {
        action,
        outcome: 'failure',
        ...(userId || deviceId
          ? {
              actor: {
                ...(userId ? { user: userId } : {}),
                ...(deviceId ? { device: deviceId } : {}),
              },
            }
          : {}),
        ...(deviceId ? { resource: `device:${deviceId}` } : {}),
        details: {
          code: err instanceof DeviceError ? err.code : 'internal',
          ...(err instanceof DeviceError ? { message: err.message } : {}),
        },
      },
      meta,
    );
  }

  audit(event: Omit<AuditEvent, 'kind' | 'time'>, meta: RequestMeta): void {
    safeAudit(this.options.audit, {
      kind: 'device',
      time: this.now(),
      ...event,
      ...(meta.sourceIp ? { source_ip: meta.sourceIp } : {}),
      ...(meta.requestId ? { request_id: meta.requestId } : {}),
    });
  }
}
