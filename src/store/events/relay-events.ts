/**
 * An event bus for several processes on one machine that share a SQLite store (the workers of
 * `ztgate serve --workers N`): events are delivered to this process's subscribers and handed to a
 * relay (the cluster's primary process) that passes them to the other processes. PostgreSQL
 * replicas do not need it: LISTEN/NOTIFY reaches every process.
 */
import { randomUUID } from 'node:crypto';
import {
  dispatch,
  parseEnvelope,
  type ChangeEvent,
  type EventBus,
  type EventEnvelope,
  type EventHandler,
} from './events.js';

/** How envelopes travel between processes (process.send / 'message' in a cluster worker). */
export interface EventRelay {
  send(payload: string): void;
  /** returns the unsubscribe function */
  onMessage(handler: (payload: string) => void): () => void;
}

export class RelayEventBus implements EventBus {
  readonly id = randomUUID();
  readonly connected = true;
  private readonly handlers = new Set<EventHandler>();
  private readonly stop: () => void;
  private closed = false;

  constructor(
    private readonly relay: EventRelay,
    private readonly now: () => number = Date.now,
  ) {
    this.stop = relay.onMessage((payload) => {
      const envelope = parseEnvelope(payload);
      // our own envelopes were delivered locally when published
      if (!this.closed && envelope && envelope.origin !== this.id) {
        dispatch([...this.handlers], envelope);
      }
    });
  }

  publish(event: Exclude<ChangeEvent, { type: 'bus.resync' }>): Promise<void> {
    if (this.closed) return Promise.resolve();
    const envelope: EventEnvelope = { id: randomUUID(), origin: this.id, at: this.now(), event };
    dispatch([...this.handlers], envelope);
    this.relay.send(JSON.stringify(envelope));
    return Promise.resolve();
  }

  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  close(): Promise<void> {
    this.closed = true;
    this.stop();
    this.handlers.clear();
    return Promise.resolve();
  }
}
