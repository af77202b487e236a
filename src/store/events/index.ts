/**
 * Picks the event bus that matches the store: LISTEN/NOTIFY for PostgreSQL; for SQLite, in-process
 * delivery plus a Unix socket in the data directory on which the server (`listen: true`) hears what
 * command-line processes publish.
 */
import type { StoreOptions } from '../open.js';
import type { EventBus, EventWarn } from './events.js';
import { LocalEventBus } from './local-events.js';
import { PostgresEventBus } from './postgres-events.js';

export * from './events.js';
export { PostgresEventBus, type PostgresEventBusOptions } from './postgres-events.js';
export { RelayEventBus, type EventRelay } from './relay-events.js';
export { LocalEventBus, EVENTS_SOCKET, type LocalEventBusOptions } from './local-events.js';

export async function openEventBus(
  store: StoreOptions,
  options: { onWarning?: EventWarn; listen?: boolean } = {},
): Promise<EventBus> {
  switch (store.kind) {
    case 'sqlite':
      return LocalEventBus.open({
        dataDir: store.dataDir,
        listen: options.listen === true,
        ...(store.now ? { now: store.now } : {}),
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      });
    case 'postgres':
      return PostgresEventBus.connect({
        url: store.url,
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      });
  }
}
