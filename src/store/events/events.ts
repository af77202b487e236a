/**
 * Change events: what one replica must tell the others at once, because it changes who may access
 * what. A subscriber reacts by dropping caches and cutting long-lived connections (WebSocket, TCP
 * tunnels) whose access was revoked.
 *
 * Two implementations: `InProcessEventBus` (one process, SQLite) and `PostgresEventBus`
 * (LISTEN/NOTIFY, every replica on one PostgreSQL). Every subscriber of every replica receives each
 * event once, the publisher's own subscribers included. Events are a fast path, not the source of
 * truth: the store is. A bus that lost its connection delivers a `bus.resync` event once it is back,
 * since events sent meanwhile are lost: subscribers then reload what they cache.
 */
import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '../../shared/errors.js';

export type ChangeEvent =
  | { readonly type: 'session.revoked'; readonly sessionIdHash: string; readonly userId?: string }
  | { readonly type: 'user.sessions_revoked'; readonly userId: string }
  | { readonly type: 'device.revoked'; readonly deviceId: string }
  | { readonly type: 'device.posture_changed'; readonly deviceId: string }
  | { readonly type: 'certificate.revoked'; readonly serial: string }
  | { readonly type: 'policy.reloaded'; readonly version: number; readonly checksum?: string }
  /** local only: the bus reconnected and events may have been missed */
  | { readonly type: 'bus.resync' };

export type ChangeEventType = ChangeEvent['type'];

export interface EventEnvelope {
  readonly id: string;
  /** the bus instance that published it */
  readonly origin: string;
  /** ms since the epoch, the publisher's clock */
  readonly at: number;
  readonly event: ChangeEvent;
}

export type EventHandler = (envelope: EventEnvelope) => void;

export interface EventBus {
  /** this bus instance's id (the `origin` of what it publishes) */
  readonly id: string;
  /** false while a networked bus is reconnecting */
  readonly connected: boolean;
  /**
   * Delivers to local subscribers, then to the other replicas. Throws
   * `ZT_STORE_EVENT_PUBLISH_FAILED` when the other replicas could not be told.
   */
  publish(event: Exclude<ChangeEvent, { type: 'bus.resync' }>): Promise<void>;
  /** returns the unsubscribe function */
  subscribe(handler: EventHandler): () => void;
  close(): Promise<void>;
}

export type EventWarn = (code: ErrorCode, message: string) => void;

/** Validates an envelope received from elsewhere; undefined when malformed. */
export function parseEnvelope(payload: string): EventEnvelope | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const env = v as Record<string, unknown>;
  if (typeof env.id !== 'string' || typeof env.origin !== 'string' || typeof env.at !== 'number')
    return undefined;
  const e = env.event as Record<string, unknown> | null | undefined;
  if (!e || typeof e !== 'object') return undefined;
  const str = (k: string): boolean => typeof e[k] === 'string';
  const ok = ((): boolean => {
    switch (e.type) {
      case 'session.revoked':
        return str('sessionIdHash') && (e.userId === undefined || str('userId'));
      case 'user.sessions_revoked':
        return str('userId');
      case 'device.revoked':
      case 'device.posture_changed':
        return str('deviceId');
      case 'certificate.revoked':
        return str('serial');
      case 'policy.reloaded':
        return Number.isSafeInteger(e.version) && (e.checksum === undefined || str('checksum'));
      default:
        return false;
    }
  })();
  return ok ? (env as unknown as EventEnvelope) : undefined;
}

/** Calls every handler; a handler that throws does not stop the others. */
export function dispatch(handlers: Iterable<EventHandler>, envelope: EventEnvelope): void {
  for (const h of handlers) {
    try {
      h(envelope);
    } catch {
      // a subscriber's bug must not stop revocations reaching the others
    }
  }
}

export class InProcessEventBus implements EventBus {
  readonly id = randomUUID();
  readonly connected = true;
  private readonly handlers = new Set<EventHandler>();
  private closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  publish(event: Exclude<ChangeEvent, { type: 'bus.resync' }>): Promise<void> {
    if (!this.closed)
      dispatch([...this.handlers], { id: randomUUID(), origin: this.id, at: this.now(), event });
    return Promise.resolve();
  }

  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    return Promise.resolve();
  }
}
