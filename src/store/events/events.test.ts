/**
 * Change events: in-process delivery, and two PostgreSQL buses on separate connections (as two
 * replicas) that see each other's events within a measured, asserted latency and recover from
 * terminated connections by themselves.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import {
  PG_ADMIN_URL,
  pgUrlFor,
  postgresTestBackend,
  postgresUnreachable,
  terminatePostgresConnections,
} from '../testing.js';
import { InProcessEventBus, parseEnvelope, type EventEnvelope } from './events.js';
import { PostgresEventBus } from './postgres-events.js';

function waitFor(
  bus: { subscribe: PostgresEventBus['subscribe'] },
  match: (e: EventEnvelope) => boolean,
  timeoutMs = 5000,
): Promise<EventEnvelope> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('no matching event in time'));
    }, timeoutMs);
    const off = bus.subscribe((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

test('in-process bus: every subscriber gets each event once; a throwing subscriber does not stop the others', async () => {
  // (SQLite's bus, local-events.ts, delivers in process the same way and adds a socket)
  const bus = new InProcessEventBus();
  const got: string[] = [];
  bus.subscribe(() => {
    throw new Error('buggy subscriber');
  });
  const off = bus.subscribe((e) => got.push(e.event.type));
  await bus.publish({ type: 'session.revoked', sessionIdHash: 'ab' });
  await bus.publish({ type: 'policy.reloaded', version: 3 });
  off();
  await bus.publish({ type: 'device.revoked', deviceId: 'd1' });
  assert.deepEqual(got, ['session.revoked', 'policy.reloaded']);
  await bus.close();
});

test('malformed envelopes are refused', () => {
  assert.equal(parseEnvelope('nope'), undefined);
  assert.equal(
    parseEnvelope(
      JSON.stringify({ id: 'x', origin: 'o', at: 1, event: { type: 'session.revoked' } }),
    ),
    undefined,
  );
  assert.equal(
    parseEnvelope(JSON.stringify({ id: 'x', origin: 'o', at: 1, event: { type: 'rm -rf' } })),
    undefined,
  );
  assert.ok(
    parseEnvelope(
      JSON.stringify({
        id: 'x',
        origin: 'o',
        at: 1,
        event: { type: 'certificate.revoked', serial: '0a' },
      }),
    ),
  );
});

const unreachable = await postgresUnreachable();
if (unreachable !== undefined && process.env.CI) {
  test('PostgreSQL is reachable for the event bus tests', () => {
    assert.fail(`PostgreSQL is not reachable at ${PG_ADMIN_URL} (${unreachable}); CI must run it`);
  });
} else {
  describe(
    'postgres LISTEN/NOTIFY bus',
    { skip: unreachable && `PostgreSQL is not reachable at ${PG_ADMIN_URL} (${unreachable})` },
    () => {
      test("two replicas see each other's events within 1 s (latency measured)", async (t) => {
        const db = await postgresTestBackend.createDatabase();
        const url = pgUrlFor((await db.scalar('SELECT current_database()')) as string);
        const a = await PostgresEventBus.connect({ url });
        const b = await PostgresEventBus.connect({ url });
        try {
          const ownA: string[] = [];
          a.subscribe((e) => ownA.push(e.event.type));
          const latencies: number[] = [];
          for (let i = 0; i < 20; i++) {
            const received = waitFor(
              b,
              (e) => e.event.type === 'session.revoked' && e.event.sessionIdHash === `s${i}`,
            );
            const t0 = performance.now();
            await (i % 2 ? b : a).publish({
              type: 'session.revoked',
              sessionIdHash: `s${i}`,
              userId: 'u1',
            });
            const env = await received;
            latencies.push(performance.now() - t0);
            assert.equal(env.origin, i % 2 ? b.id : a.id);
          }
          const back = waitFor(a, (e) => e.event.type === 'device.posture_changed');
          await b.publish({ type: 'device.posture_changed', deviceId: 'd1' });
          assert.equal((await back).origin, b.id);
          // a's subscribers got each session event once: its own ten locally, b's ten through NOTIFY
          assert.equal(ownA.filter((x) => x === 'session.revoked').length, 20);
          latencies.sort((x, y) => x - y);
          const p50 = latencies[Math.floor(latencies.length / 2)] ?? NaN;
          const max = latencies[latencies.length - 1] ?? NaN;
          t.diagnostic(
            `event delivery between replicas: p50 ${p50.toFixed(2)} ms, max ${max.toFixed(2)} ms over ${latencies.length} events`,
          );
          assert.ok(max < 1000, `delivery took ${max} ms`);
        } finally {
          await a.close();
          await b.close();
          await db.drop();
        }
      });

      test('a bus whose connection is terminated reconnects, resyncs and receives again', async () => {
        const db = await postgresTestBackend.createDatabase();
        const name = (await db.scalar('SELECT current_database()')) as string;
        const url = pgUrlFor(name);
        const warnings: string[] = [];
        const a = await PostgresEventBus.connect({ url });
        const b = await PostgresEventBus.connect({
          url,
          reconnectMs: 20,
          onWarning: (c) => warnings.push(c),
        });
        try {
          const resync = waitFor(b, (e) => e.event.type === 'bus.resync');
          assert.ok((await terminatePostgresConnections(url)) >= 2);
          await resync;
          assert.equal(b.connected, true);
          assert.ok(warnings.includes('ZT_STORE_EVENTS_RECONNECTED'));
          const got = waitFor(b, (e) => e.event.type === 'certificate.revoked');
          // the publisher's pool lost its connections too; the first publish may fail, the next succeeds
          for (let i = 0; ; i++) {
            try {
              await a.publish({ type: 'certificate.revoked', serial: '0a1b' });
              break;
            } catch (err) {
              assert.equal((err as { code?: string }).code, 'ZT_STORE_EVENT_PUBLISH_FAILED');
              assert.ok(i < 3);
            }
          }
          assert.equal((await got).event.type, 'certificate.revoked');
        } finally {
          await a.close();
          await b.close();
          await db.drop();
        }
      });
    },
  );
}
