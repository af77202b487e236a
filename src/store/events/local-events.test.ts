/**
 * Change events between processes on one SQLite store: the server's bus hears what a command's bus
 * publishes through the socket in the data directory, at once; a command without a server running
 * publishes locally only; a socket left by a dead server is replaced; malformed lines are ignored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, describe, test } from 'node:test';
import type { EventEnvelope } from './events.js';
import { openEventBus } from './index.js';
import { EVENTS_SOCKET, LocalEventBus } from './local-events.js';

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ztgate-events-'));
  dirs.push(d);
  return d;
}

function next(bus: LocalEventBus, timeoutMs = 2000): Promise<EventEnvelope> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event in time')), timeoutMs);
    const off = bus.subscribe((e) => {
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

describe('SQLite change events across processes', { skip: process.platform === 'win32' }, () => {
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("a command's revocation reaches the server's subscribers at once", async () => {
    const dir = dataDir();
    const server = (await openEventBus(
      { kind: 'sqlite', dataDir: dir },
      { listen: true },
    )) as LocalEventBus;
    const command = (await openEventBus({ kind: 'sqlite', dataDir: dir })) as LocalEventBus;
    try {
      assert.equal(server.listening, true);
      assert.equal(command.listening, false);
      assert.equal(statSync(join(dir, EVENTS_SOCKET)).mode & 0o777, 0o600);
      const received = next(server);
      const t0 = performance.now();
      await command.publish({ type: 'device.revoked', deviceId: 'dev-1' });
      const e = await received;
      console.log(`# delivered in ${(performance.now() - t0).toFixed(1)} ms`);
      assert.deepEqual(e.event, { type: 'device.revoked', deviceId: 'dev-1' });
      assert.equal(e.origin, command.id);

      // the server's own events are delivered to its subscribers once, not echoed back
      const seen: EventEnvelope[] = [];
      const off = server.subscribe((x) => seen.push(x));
      await server.publish({ type: 'device.posture_changed', deviceId: 'dev-2' });
      await new Promise((r) => setTimeout(r, 50));
      off();
      assert.equal(seen.length, 1);
    } finally {
      await command.close();
      await server.close();
    }
  });

  test('without a server, publishing is local only and does not fail', async () => {
    const bus = await openEventBus({ kind: 'sqlite', dataDir: dataDir() });
    const got = new Promise<EventEnvelope>((r) => bus.subscribe(r));
    await bus.publish({ type: 'user.sessions_revoked', userId: 'u1' });
    assert.equal((await got).event.type, 'user.sessions_revoked');
    await bus.close();
  });

  test('a socket file left by a dead server is replaced; malformed lines are ignored', async () => {
    const dir = dataDir();
    writeFileSync(join(dir, EVENTS_SOCKET), '');
    const warnings: string[] = [];
    const server = await LocalEventBus.open({
      dataDir: dir,
      listen: true,
      onWarning: (code) => warnings.push(code),
    });
    try {
      assert.equal(server.listening, true);
      const received = next(server);
      await new Promise<void>((resolve) => {
        const s = connect(join(dir, EVENTS_SOCKET), () => {
          s.end(
            'not json\n{"id":"x","origin":"y","at":1,"event":{"type":"nope"}}\n' +
              `${JSON.stringify({ id: 'a', origin: 'b', at: 1, event: { type: 'device.revoked', deviceId: 'dev-3' } })}\n`,
            resolve,
          );
        });
      });
      assert.deepEqual((await received).event, { type: 'device.revoked', deviceId: 'dev-3' });
      assert.deepEqual(warnings, ['ZT_STORE_EVENT_INVALID', 'ZT_STORE_EVENT_INVALID']);
    } finally {
      await server.close();
    }
  });

  test('a second listener on the same data directory leaves the first in place', async () => {
    const dir = dataDir();
    const first = await LocalEventBus.open({ dataDir: dir, listen: true });
    const warnings: string[] = [];
    const second = await LocalEventBus.open({
      dataDir: dir,
      listen: true,
      onWarning: (code) => warnings.push(code),
    });
    try {
      assert.equal(first.listening, true);
      assert.equal(second.listening, false);
      assert.deepEqual(warnings, ['ZT_STORE_UNAVAILABLE']);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
