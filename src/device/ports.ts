/**
 * The small interfaces the device module depends on and others implement: the change event bus
 * (src/store/events: `EventBus` fits `DeviceEventPublisher` as it is), the audit writer
 * (src/audit: `AuditWriter` fits `DeviceAuditSink`), and the clock.
 */
import type { AuditEvent } from '../audit/record.js';

/** The events the device module publishes; `EventBus.publish` accepts them. */
export type DeviceChangeEvent =
  | { readonly type: 'device.posture_changed'; readonly deviceId: string }
  | { readonly type: 'device.revoked'; readonly deviceId: string };

export interface DeviceEventPublisher {
  publish(event: DeviceChangeEvent): Promise<void>;
}

/** Where refusals and changes are audited (`AuditWriter.append` fits). Must not throw for a full backlog to matter here: failures are swallowed by the caller. */
export interface DeviceAuditSink {
  append(event: AuditEvent): unknown;
}

export type Clock = () => number;

/** Appends without letting an audit failure turn a refusal into a 500 (the writer reports its own backlog). */
export function safeAudit(sink: DeviceAuditSink | undefined, event: AuditEvent): void {
  if (!sink) return;
  try {
    sink.append(event);
  } catch {
    // the audit writer raises ZT_AUDIT_BACKLOG_FULL itself and /readyz reports it
  }
}
