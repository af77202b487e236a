/**
 * The composition root's contract: the real components fit the admin API's ports as they are
 * (checked by the type checker: this file fails `npm run typecheck` when a port drifts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { sessionResolver, storeDeviceFacts } from '../../src/admin/adapters.js';
import type { ConfigChangeEvent } from '../../src/admin/config/config-manager.js';
import type {
  AdminAuditPort,
  AdminIdentityPort,
  AdminPkiPort,
  AdminSessionPort,
  AdminStore,
} from '../../src/admin/deps.js';
import type { AuditWriter } from '../../src/audit/writer.js';
import type { DeviceEventPublisher } from '../../src/device/ports.js';
import type { SessionManager } from '../../src/identity/session/session-manager.js';
import type { DeviceFactsPort, IdentityPort } from '../../src/pep/ports.js';
import type { Pki } from '../../src/pki/pki.js';
import type { EventBus } from '../../src/store/events/events.js';
import type { Store } from '../../src/store/store.js';

type Fits<Port, Component extends Port> = Component;

export type Wiring = [
  Fits<AdminStore, Store>,
  Fits<AdminSessionPort, SessionManager>,
  Fits<AdminAuditPort, AuditWriter>,
  Fits<AdminIdentityPort, IdentityPort>,
  Fits<AdminPkiPort, Pki>,
  Fits<DeviceEventPublisher, EventBus>,
  Fits<{ publish(event: ConfigChangeEvent): Promise<void> }, EventBus>,
  Fits<DeviceFactsPort, ReturnType<typeof storeDeviceFacts>>,
  Fits<AdminIdentityPort, ReturnType<typeof sessionResolver>>,
];

test('the real components fit the admin ports (a type-level check)', () => {
  assert.ok(true);
});
