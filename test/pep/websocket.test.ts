/** WebSocket tunnels: decided like requests, cut within a second of revocation or a policy change. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testIdentity } from '../../src/pep/testing/static-identity.js';
import {
  engineFor,
  openWebSocket,
  startProxy,
  startUpstream,
  T0,
  type Harness,
  type Upstream,
} from './helpers/harness.js';

const routes = (to: string, group: string) => [
  {
    from: 'https://ws.localhost',
    to,
    policy: { allow: [{ groups: [group] }] },
    identity_headers: true,
  },
];

describe('proxy: WebSocket tunnels', () => {
  let up: Upstream;
  let h: Harness;

  before(async () => {
    up = await startUpstream();
    h = await startProxy(engineFor({ routes: routes(up.url, 'engineering') }));
    h.identity.set(
      'alice',
      testIdentity('alice', { groups: ['engineering'], sessionId: 's-alice', deviceId: 'd-alice' }),
    );
    h.identity.set('bob', testIdentity('bob', { groups: ['engineering'], sessionId: 's-bob' }));
    h.identity.set('eve', testIdentity('eve', { groups: ['sales'], sessionId: 's-eve' }));
  });
  after(async () => {
    await h.close();
    await up.close();
  });

  it('opens an allowed WebSocket with the identity, and refuses others with 401/403', async () => {
    const ws = await openWebSocket(h.port, 'ws.localhost', '/chat?room=1', {
      authorization: 'Bearer alice',
    });
    assert.equal(ws.status, 101);
    ws.send('hello');
    assert.equal(await ws.next(), 'echo:hello');
    const seen = up.seen.at(-1);
    assert.equal(seen?.url, '/chat?room=1');
    assert.equal(seen?.headers['x-ztgate-user'], 'alice');
    assert.ok(seen?.headers['x-ztgate-jwt-assertion']);
    assert.equal(h.proxy.stats().tunnels, 1);
    ws.socket.destroy();

    const anon = await openWebSocket(h.port, 'ws.localhost', '/chat');
    assert.equal(anon.status, 401);
    assert.match(anon.head, /login_required/);
    const eve = await openWebSocket(h.port, 'ws.localhost', '/chat', {
      authorization: 'Bearer eve',
    });
    assert.equal(eve.status, 403);
    assert.match(eve.head, /x-request-id: /);
  });

  it('cuts a tunnel within a second of revokeSession, and leaves the others open', async (t) => {
    const a = await openWebSocket(h.port, 'ws.localhost', '/a', { authorization: 'Bearer alice' });
    const b = await openWebSocket(h.port, 'ws.localhost', '/b', { authorization: 'Bearer bob' });
    assert.equal(a.status, 101);
    assert.equal(b.status, 101);
    a.send('1');
    assert.equal(await a.next(), 'echo:1');
    const t0 = performance.now();
    assert.equal(h.proxy.revokeSession('s-alice'), 1);
    const closedAt = await a.closed;
    const ms = closedAt - t0;
    t.diagnostic(`revokeSession: the client saw the WebSocket close after ${ms.toFixed(2)} ms`);
    assert.ok(ms < 1000, `closed after ${ms.toFixed(1)} ms`);
    b.send('still');
    assert.equal(await b.next(), 'echo:still');
    assert.ok(
      h.log.some((l) => l.includes('ZT_PEP_TUNNEL_CLOSED') && l.includes('session-revoked')),
    );
    assert.match(
      h.proxy.metrics(),
      /ztgate_pep_tunnels_closed_total\{reason="session-revoked"\} 1/,
    );
    b.socket.destroy();
  });

  it('cuts tunnels whose access a policy change withdraws, within a second', async (t) => {
    const a = await openWebSocket(h.port, 'ws.localhost', '/a', { authorization: 'Bearer bob' });
    assert.equal(a.status, 101);
    const t0 = performance.now();
    const cut = h.proxy.policyChanged(engineFor({ routes: routes(up.url, 'admins') }));
    assert.equal(cut, 1);
    const ms = (await a.closed) - t0;
    t.diagnostic(`policyChanged: the client saw the WebSocket close after ${ms.toFixed(2)} ms`);
    assert.ok(ms < 1000, `closed after ${ms.toFixed(1)} ms`);
    const record = h.audit.records.at(-1);
    assert.equal(record?.via, 'websocket-recheck');
    assert.equal(record?.decision, 'deny');
    h.proxy.policyChanged(engineFor({ routes: routes(up.url, 'engineering') }));
  });

  it('cuts tunnels of a revoked device, and re-decides on a device change', async () => {
    h.devices.set({ id: 'd-alice', managed: true });
    const a = await openWebSocket(h.port, 'ws.localhost', '/a', { authorization: 'Bearer alice' });
    assert.equal(a.status, 101);
    const t0 = performance.now();
    assert.equal(h.proxy.revokeDevice('d-alice'), 1);
    assert.ok((await a.closed) - t0 < 1000);

    h.proxy.policyChanged(
      engineFor({
        routes: [
          {
            from: 'https://ws.localhost',
            to: up.url,
            policy: { allow: [{ groups: ['engineering'], device: { managed: true } }] },
          },
        ],
      }),
    );
    const b = await openWebSocket(h.port, 'ws.localhost', '/b', { authorization: 'Bearer alice' });
    assert.equal(b.status, 101);
    h.devices.set({ id: 'd-alice', managed: false });
    const t1 = performance.now();
    assert.equal(await h.proxy.deviceChanged('d-alice'), 1);
    assert.ok((await b.closed) - t1 < 1000);
    h.proxy.policyChanged(engineFor({ routes: routes(up.url, 'engineering') }));
  });

  it('re-checks open tunnels periodically: an expired session is cut', async () => {
    const clockProxy = await startProxy(engineFor({ routes: routes(up.url, 'engineering') }), {
      tunnelRecheckMs: 50,
    });
    try {
      clockProxy.identity.set(
        'carol',
        testIdentity('carol', { groups: ['engineering'], mfaAt: T0 }),
      );
      const c = await openWebSocket(clockProxy.port, 'ws.localhost', '/c', {
        authorization: 'Bearer carol',
      });
      assert.equal(c.status, 101);
      clockProxy.identity.revoke('carol'); // the session ended at the identity provider
      const t0 = performance.now();
      const ms = (await c.closed) - t0;
      assert.ok(ms < 1000, `closed after ${ms.toFixed(1)} ms`);
    } finally {
      await clockProxy.close();
    }
  });

  it('closes open tunnels when the proxy drains', async () => {
    const p = await startProxy(engineFor({ routes: routes(up.url, 'engineering') }));
    p.identity.set('alice', testIdentity('alice', { groups: ['engineering'] }));
    const a = await openWebSocket(p.port, 'ws.localhost', '/a', { authorization: 'Bearer alice' });
    assert.equal(a.status, 101);
    await p.close(500);
    await a.closed;
  });
});
