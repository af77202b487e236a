/**
 * The factory the composition root uses: `openStore(options)` opens the backend, applies pending
 * migrations (safely, with other replicas migrating at once) and returns a `Store`.
 */
import { StoreError, type Store } from './store.js';
import { openPostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';

export type { PostgresStoreOptions } from './postgres/postgres-store.js';
export type { SqliteStoreOptions } from './sqlite/sqlite-store.js';

export type StoreOptions = SqliteStoreOptions | PostgresStoreOptions;

export async function openStore(options: StoreOptions): Promise<Store> {
  switch (options.kind) {
    case 'sqlite':
      return openSqliteStore(options);
    case 'postgres':
      return openPostgresStore(options);
  }
}

/**
 * Maps the config's `store:` value to options: `sqlite` (or empty) is the file under `dataDir`;
 * `postgres://...` or `postgresql://...` is PostgreSQL. Anything else is `ZT_STORE_INVALID_OPTIONS`.
 */
export function storeOptionsFromUrl(
  store: string | undefined,
  dataDir: string,
  extra: { readonly create?: boolean } = {},
): StoreOptions {
  const value = (store ?? 'sqlite').trim();
  if (value === '' || value === 'sqlite') {
    return extra.create === undefined
      ? { kind: 'sqlite', dataDir }
      : { kind: 'sqlite', dataDir, create: extra.create };
  }
  if (/^postgres(ql)?:\/\//i.test(value)) return { kind: 'postgres', url: value };
  throw new StoreError(
    'ZT_STORE_INVALID_OPTIONS',
    `\`store\` must be \`sqlite\` or a \`postgres://\` URL, not \`${redactUrl(value)}\``,
  );
}

/** A URL with its password removed, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
