/**
 * Change events over PostgreSQL LISTEN/NOTIFY. One dedicated connection listens on the channel
 * (default `ztgate_events`); publishing uses a separate small pool, so a slow listener never delays
 * a revocation. When the listening connection breaks, the bus reconnects by itself with backoff,
 * listens again and delivers `bus.resync` to its subscribers (notifications sent while it was away
 * are not queued by PostgreSQL).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { StoreError } from '../store.js';
import {
  dispatch,
  parseEnvelope,
  type ChangeEvent,
  type EventBus,
  type EventEnvelope,
  type EventHandler,
  type EventWarn,
} from './events.js';

export interface PostgresEventBusOptions {
  readonly url: string;
  /** default `ztgate_events` */
  readonly channel?: string;
  /** first reconnect delay, doubling up to `maxReconnectMs`; defaults 100 and 5000 ms */
  readonly reconnectMs?: number;
  readonly maxReconnectMs?: number;
  readonly now?: () => number;
  readonly onWarning?: EventWarn;
}

/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7900;

export class PostgresEventBus implements EventBus {
  readonly id = randomUUID();
  private readonly handlers = new Set<EventHandler>();
  private readonly channel: string;
  private readonly publisher: pg.Pool;
  private listener: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private isConnected = false;
  private readonly warn: EventWarn;

  private constructor(private readonly options: PostgresEventBusOptions) {
    this.channel = options.channel ?? 'ztgate_events';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.channel)) {
      throw new StoreError(
        'ZT_STORE_INVALID_OPTIONS',
        `\`${this.channel}\` is not a valid channel name`,
      );
    }
    this.warn = options.onWarning ?? (() => undefined);
    this.publisher = new pg.Pool({
      connectionString: options.url,
      max: 2,
      connectionTimeoutMillis: 3000,
      application_name: 'ztgate-events',
    });
    this.publisher.on('error', () => undefined);
  }

  /** Connects and listens; fails with `ZT_STORE_UNAVAILABLE` if the first connection fails. */
  static async connect(options: PostgresEventBusOptions): Promise<PostgresEventBus> {
    const bus = new PostgresEventBus(options);
    try {
      await bus.listen();
    } catch (err) {
      await bus.close();
      throw new StoreError(
        'ZT_STORE_UNAVAILABLE',
        `cannot listen for change events: ${message(err)}`,
        { cause: err },
      );
    }
    return bus;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: 3000,
      application_name: 'ztgate-events',
    });
    const lost = (): void => {
      if (this.listener !== client) return;
      this.listener = null;
      this.isConnected = false;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel || msg.payload === undefined) return;
      const env = parseEnvelope(msg.payload);
      if (!env) {
        this.warn('ZT_STORE_EVENT_INVALID', 'a malformed change event was received and ignored');
        return;
      }
      if (env.origin === this.id) return; // delivered locally when published
      dispatch([...this.handlers], env);
    });
    await client.connect();
    await client.query(`LISTEN ${this.channel}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.listener = client;
    this.isConnected = true;
    this.attempt = 0;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const base = this.options.reconnectMs ?? 100;
    const delay = Math.min(
      this.options.maxReconnectMs ?? 5000,
      base * 2 ** Math.min(this.attempt, 16),
    );
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen().then(
        () => {
          if (this.closed) return;
          this.warn(
            'ZT_STORE_EVENTS_RECONNECTED',
            'the change event connection was re-established; subscribers resync',
          );
          dispatch([...this.handlers], {
            id: randomUUID(),
            origin: this.id,
            at: this.now(),
            event: { type: 'bus.resync' },
          });
        },
        () => this.scheduleReconnect(),
      );
    }, delay);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async publish(event: Exclude<ChangeEvent, { type: 'bus.resync' }>): Promise<void> {
    if (this.closed) throw new StoreError('ZT_STORE_CLOSED', 'the event bus is closed');
    const envelope: EventEnvelope = { id: randomUUID(), origin: this.id, at: this.now(), event };
    dispatch([...this.handlers], envelope);
    const payload = JSON.stringify(envelope);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) {
      throw new StoreError(
        'ZT_STORE_EVENT_PUBLISH_FAILED',
        'the change event is too large to publish',
      );
    }
    try {
      await this.publisher.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
    } catch (err) {
      throw new StoreError(
        'ZT_STORE_EVENT_PUBLISH_FAILED',
        `the \`${event.type}\` event could not be sent to the other replicas: ${message(err)}`,
        {
          cause: err,
          help: 'the change is stored; other replicas see it when they next read the store or resync',
        },
      );
    }
  }

  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.isConnected = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const listener = this.listener;
    this.listener = null;
    this.handlers.clear();
    await listener?.end().catch(() => undefined);
    await this.publisher.end();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
