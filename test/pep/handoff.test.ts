/**
 * `/.ztgate/*` on route hosts: the sign-in handoff and sign-out are answered through the identity
 * port, after the prelude (framing, path normalization, header stripping), and nothing under the
 * prefix ever reaches an upstream, whatever the route's policy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HandoffIdentityDouble } from '../../src/pep/testing/handoff-identity.js';
import { testIdentity, TEST_SESSION_COOKIE } from '../../src/pep/testing/static-identity.js';
import {
  engineFor,
  json,
  openWebSocket,
  PUBLIC_URL,
  rawTls,
  request,
  request2,
  startProxy,
  startUpstream,
  statusOf,
  type Harness,
  type Upstream,
} from './helpers/harness.js';

const HTML = { accept: 'text/html,application/xhtml+xml' };
const JSON_ACCEPT = { accept: 'application/json' };

describe('proxy: reserved /.ztgate/ paths and the sign-in handoff', () => {
  let up: Upstream;
  let h: Harness;
  let bare: Harness;
  const identity = new HandoffIdentityDouble(PUBLIC_URL);

  before(async () => {
    up = await startUpstream();
    const engine = engineFor({
      routes: [
        {
          from: 'https://app.localhost',
          to: up.url,
          policy: { allow: [{ groups: ['engineering'] }] },
        },
        { from: 'https://open.localhost', to: up.url, policy: { allow: [{ public: true }] } },
      ],
    });
    identity.set('alice-token', testIdentity('alice', { groups: ['engineering'] }));
    h = await startProxy(engine, { identity });
    // the same routes with an identity port that has no handoff
    bare = await startProxy(engine);
  });
  after(async () => {
    await h.close();
    await bare.close();
    await up.close();
  });

  it('redeems a ticket through the identity port: 302 with the cookie, never the upstream', async () => {
    const seen = up.seen.length;
    const ticket = identity.ticket('app.localhost', 'alice-token', '/docs?page=2');
    const a = await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, {
      headers: { ...HTML, 'x-forwarded-for': '203.0.113.9' },
    });
    assert.equal(a.status, 302);
    assert.equal(a.headers.location, 'https://app.localhost/docs?page=2');
    assert.deepEqual(a.headers['set-cookie'], [
      `${TEST_SESSION_COOKIE}=alice-token; Path=/; Secure; HttpOnly; SameSite=Lax`,
    ]);
    assert.equal(a.headers['cache-control'], 'no-store');
    assert.equal(a.headers['referrer-policy'], 'no-referrer');
    assert.ok(a.headers['x-request-id']);
    const req = identity.handoffs.at(-1);
    assert.deepEqual(req, {
      host: 'app.localhost',
      query: `ticket=${ticket}`,
      // the prelude ran: an untrusted peer's X-Forwarded-For is not believed
      sourceIp: '127.0.0.1',
      clientCertFingerprint: undefined,
    });
    assert.equal(up.seen.length, seen, 'the upstream saw nothing');
    const line = h.accessLog.find((l) => l.includes(String(a.headers['x-request-id'])));
    assert.ok(line);
    assert.equal((JSON.parse(line) as { path: string }).path, '/.ztgate/callback');
    assert.ok(!h.accessLog.join('\n').includes(ticket), 'the ticket is never logged');

    // the cookie it set is the browser's session on that host from now on
    const next = await request(h.port, 'app.localhost', '/docs?page=2', {
      headers: { ...HTML, cookie: `${TEST_SESSION_COOKIE}=alice-token` },
    });
    assert.equal(next.status, 200);
    assert.equal((json(next) as { url: string }).url, '/docs?page=2');
  });

  it('works over HTTP/2 as well', async () => {
    const ticket = identity.ticket('app.localhost', 'alice-token', '/');
    const a = await request2(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, HTML);
    assert.equal(a.alpn, 'h2');
    assert.equal(a.status, 302);
    assert.equal(a.headers.location, 'https://app.localhost/');
    assert.deepEqual(a.headers['set-cookie'], [
      `${TEST_SESSION_COOKIE}=alice-token; Path=/; Secure; HttpOnly; SameSite=Lax`,
    ]);
  });

  it('a refused ticket is a 400 page (JSON for API clients), never a 500', async () => {
    const ticket = identity.ticket('app.localhost', 'alice-token');
    assert.equal(
      (
        await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, {
          headers: HTML,
        })
      ).status,
      302,
    );
    const again = await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, {
      headers: HTML,
    });
    assert.equal(again.status, 400);
    assert.match(String(again.headers['content-type']), /^text\/html/);
    assert.match(again.body, /already used or has expired/);
    assert.match(again.body, /Open the app again: https:\/\/app\.localhost\//);
    assert.match(again.body, /ZT_IDENTITY_HANDOFF_REPLAYED/);
    assert.equal(again.headers['set-cookie'], undefined);
    assert.equal(again.headers['cache-control'], 'no-store');

    const other = identity.ticket('open.localhost', 'alice-token');
    const api = await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${other}`, {
      headers: JSON_ACCEPT,
    });
    assert.equal(api.status, 400);
    assert.deepEqual(
      { ...json(api), request_id: undefined },
      {
        error: 'handoff_refused',
        code: 'ZT_IDENTITY_HANDOFF_INVALID',
        message: 'this sign-in link was already used or has expired — open the app again',
        request_id: undefined,
      },
    );
    const missing = await request(h.port, 'app.localhost', '/.ztgate/callback', { headers: HTML });
    assert.equal(missing.status, 400);
  });

  it('identity that cannot be consulted is a 503 (fail closed)', async () => {
    identity.handoffUnavailable = true;
    try {
      const ticket = identity.ticket('app.localhost', 'alice-token');
      const a = await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, {
        headers: JSON_ACCEPT,
      });
      assert.equal(a.status, 503);
      assert.equal(json(a).error, 'service_unavailable');
    } finally {
      identity.handoffUnavailable = false;
    }
  });

  it('nothing under /.ztgate/ reaches an upstream, in any spelling, on any route', async () => {
    const seen = up.seen.length;
    const answers: [string, string, number][] = [];
    for (const [host, path] of [
      ['app.localhost', '/.ztgate/other'],
      ['app.localhost', '/.ztgate'],
      ['app.localhost', '/.ztgate/'],
      ['app.localhost', '/.ZTGATE/callback?ticket=x'],
      ['app.localhost', '/.Ztgate/sign_out'],
      ['app.localhost', '/%2Eztgate/callback?ticket=x'],
      ['app.localhost', '/docs/../.ztgate/callback?ticket=x'],
      ['app.localhost', '//.ztgate/callback?ticket=x'],
      ['open.localhost', '/.ztgate/callback?ticket=x'],
      ['open.localhost', '/.ztgate/anything'],
      ['nowhere.localhost', '/.ztgate/callback?ticket=x'],
    ] as const) {
      const a = await request(h.port, host, path, { headers: HTML });
      answers.push([host, path, a.status]);
      assert.ok([400, 404].includes(a.status), `${host}${path}: ${a.status}`);
    }
    // a path that only looks like it (`/.ztgatefoo`) is an ordinary path
    const lookalike = await request(h.port, 'open.localhost', '/.ztgatefoo', { headers: HTML });
    assert.equal(lookalike.status, 200);
    assert.equal(up.seen.length, seen + 1, JSON.stringify(answers));
    // the prelude runs first: an ambiguous encoding is refused before anything else
    const encoded = await request(h.port, 'app.localhost', '/.ztgate%2fcallback?ticket=x', {
      headers: JSON_ACCEPT,
    });
    assert.equal(encoded.status, 400);
    assert.equal(json(encoded).reason, 'encoded-slash');
    const smuggled = await rawTls(
      h.port,
      'GET /.ztgate/callback?ticket=x HTTP/1.1\r\nHost: app.localhost\r\nHost: open.localhost\r\n\r\n',
    );
    assert.equal(statusOf(smuggled), 400);
    // WebSocket upgrades under the prefix are refused, not tunnelled
    const ws = await openWebSocket(h.port, 'open.localhost', '/.ztgate/callback?ticket=x');
    assert.equal(ws.status, 404);
    ws.socket.destroy();
    assert.equal(up.seen.length, seen + 1);
  });

  it('only GET redeems a ticket (a HEAD from a link checker does not spend it)', async () => {
    const ticket = identity.ticket('app.localhost', 'alice-token');
    for (const method of ['HEAD', 'POST']) {
      const a = await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, {
        method,
        headers: JSON_ACCEPT,
      });
      assert.equal(a.status, 405, method);
      assert.equal(a.headers.allow, 'GET');
    }
    const a = await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, {
      headers: HTML,
    });
    assert.equal(a.status, 302);
  });

  it('signs the route host out, then continues on the public host', async () => {
    for (const method of ['GET', 'POST']) {
      const a = await request(h.port, 'app.localhost', '/.ztgate/sign_out', {
        method,
        headers: { ...HTML, cookie: `${TEST_SESSION_COOKIE}=alice-token; other=1` },
        ...(method === 'POST' ? { body: 'x=1' } : {}),
      });
      assert.equal(a.status, 302, method);
      assert.equal(a.headers.location, `${PUBLIC_URL}/oauth2/sign_out`);
      assert.deepEqual(a.headers['set-cookie'], [
        `${TEST_SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`,
      ]);
      assert.equal(identity.signOuts.at(-1)?.cookie, `${TEST_SESSION_COOKIE}=alice-token; other=1`);
      assert.equal(identity.signOuts.at(-1)?.host, 'app.localhost');
    }
  });

  it('without a handoff in the identity port, the paths are 404 and still never forwarded', async () => {
    const seen = up.seen.length;
    for (const path of ['/.ztgate/callback?ticket=x', '/.ztgate/sign_out']) {
      const a = await request(bare.port, 'app.localhost', path, { headers: HTML });
      assert.equal(a.status, 404, path);
    }
    assert.equal(up.seen.length, seen);
  });
});
