import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventEnvelope } from './events.js';
import { RelayEventBus, type EventRelay } from './relay-events.js';

/** A primary that passes every payload to every process (as the cluster primary does). */
function hub(): () => EventRelay {
  const listeners = new Set<(p: string) => void>();
  return () => {
    let mine: ((p: string) => void) | undefined;
    return {
      send: (payload) => {
        for (const l of listeners) if (l !== mine) l(payload);
      },
      onMessage: (handler) => {
        mine = handler;
        listeners.add(handler);
        return () => listeners.delete(handler);
      },
    };
  };
}

describe('RelayEventBus', () => {
  it('delivers to local subscribers and to the other processes, once each', () => {
    const relay = hub();
    const a = new RelayEventBus(relay());
    const b = new RelayEventBus(relay());
    const got: { bus: string; e: EventEnvelope }[] = [];
    a.subscribe((e) => got.push({ bus: 'a', e }));
    b.subscribe((e) => got.push({ bus: 'b', e }));
    void a.publish({ type: 'session.revoked', sessionIdHash: 'ab'.repeat(32) });
    assert.deepEqual(
      got.map((g) => g.bus),
      ['a', 'b'],
    );
    assert.equal(got[0]?.e.id, got[1]?.e.id);
    assert.equal(got[1]?.e.origin, a.id);
  });

  it('ignores malformed payloads and stops after close', async () => {
    const relay = hub();
    const a = new RelayEventBus(relay());
    const b = new RelayEventBus(relay());
    let n = 0;
    b.subscribe(() => n++);
    relay().send('{not json');
    relay().send(JSON.stringify({ id: 'x', origin: 'y', at: 1, event: { type: 'nope' } }));
    assert.equal(n, 0);
    await b.close();
    void a.publish({ type: 'device.revoked', deviceId: 'd1' });
    assert.equal(n, 0);
  });
});
