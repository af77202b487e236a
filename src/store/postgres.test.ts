/**
 * The store contract against PostgreSQL (127.0.0.1:5432, trust auth; `ZTGATE_TEST_PG_URL`
 * overrides the admin URL). Each run creates its own `ztgate_test_<hex>` databases and drops them.
 * PostgreSQL unreachable: the suite fails under CI (`CI` set) and is skipped, saying why, otherwise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerStoreContract } from './store.contract.js';
import { PG_ADMIN_URL, postgresTestBackend, postgresUnreachable } from './testing.js';

const unreachable = await postgresUnreachable();
if (unreachable === undefined) {
  registerStoreContract(postgresTestBackend);
} else if (process.env.CI) {
  test('PostgreSQL is reachable for the store contract', () => {
    assert.fail(`PostgreSQL is not reachable at ${PG_ADMIN_URL} (${unreachable}); CI must run it`);
  });
} else {
  test(
    'store contract: postgres',
    { skip: `PostgreSQL is not reachable at ${PG_ADMIN_URL} (${unreachable})` },
    () => {},
  );
}
