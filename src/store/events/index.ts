/** Picks the event bus that matches the store: in-process for SQLite, LISTEN/NOTIFY for PostgreSQL. */
import type { StoreOptions } from '../open.js';
import { InProcessEventBus, type EventBus, type EventWarn } from './events.js';
import { PostgresEventBus } from './postgres-events.js';

export * from './events.js';
export { PostgresEventBus, type PostgresEventBusOptions } from './postgres-events.js';
export { RelayEventBus, type EventRelay } from './relay-events.js';

export async function openEventBus(
  store: StoreOptions,
  options: { onWarning?: EventWarn } = {},
): Promise<EventBus> {
  switch (store.kind) {
    case 'sqlite':
      return new InProcessEventBus(store.now);
    case 'postgres':
      return PostgresEventBus.connect({
        url: store.url,
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      });
  }
}
