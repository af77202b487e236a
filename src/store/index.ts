/** The store's public surface: interfaces and record types, the factory, and change events. */
export * from './store.js';
export { openStore, storeOptionsFromUrl, redactUrl, type StoreOptions } from './open.js';
export type { SqliteStoreOptions, PostgresStoreOptions } from './open.js';
export * from './events/index.js';
