/**
 * `/.ztgate/*` on route hosts: the sign-in handoff and sign-out are answered through the identity
 * port, after the prelude (framing, path normalization, header stripping), and nothing under the
 * prefix ever reaches an upstream, whatever the route's policy.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HANDOFF_NONCE_COOKIE } from '../../src/pep/handoff-nonce.js';
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
        {
          from: 'https://mfa.localhost',
          to: up.url,
          policy: { allow: [{ groups: ['engineering'], mfa: { max_age: '5m' } }] },
        },
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

  describe('the sign-in nonce (login CSRF)', () => {
    const NONCE_SET = new RegExp(
      `^${HANDOFF_NONCE_COOKIE}=([A-Za-z0-9_-]{43}); Path=/; Max-Age=600; Secure; HttpOnly; SameSite=Lax$`,
    );
    const commitment = (nonce: string) => createHash('sha256').update(nonce).digest('base64url');
    /** The nonce a reply sets, checked against the commitment in its Location. */
    const nonceOf = (a: { headers: Record<string, unknown> }): string => {
      const cookies = a.headers['set-cookie'] as string[] | undefined;
      assert.equal(cookies?.length, 1, JSON.stringify(cookies));
      const m = NONCE_SET.exec(cookies?.[0] ?? '');
      assert.ok(m?.[1], cookies?.[0]);
      const location = new URL(String(a.headers.location));
      assert.equal(location.searchParams.get('handoff'), commitment(m[1]));
      assert.ok(!String(a.headers.location).includes(m[1]), 'the nonce itself is never in a URL');
      return m[1];
    };

    it('a browser sent to sign in gets a nonce cookie on the route host and its commitment in the URL', async () => {
      const a = await request(h.port, 'app.localhost', '/docs?x=1', { headers: HTML });
      assert.equal(a.status, 302);
      const location = new URL(String(a.headers.location));
      assert.equal(location.pathname, '/login');
      assert.equal(location.searchParams.get('return_to'), 'https://app.localhost/docs?x=1');
      const nonce = nonceOf(a);
      // random each time for a browser without one...
      const b = await request(h.port, 'app.localhost', '/docs', { headers: HTML });
      assert.notEqual(nonceOf(b), nonce);
      // ...and kept (ten more minutes) for one that has one: tabs signing in at once agree
      const c = await request(h.port, 'app.localhost', '/other', {
        headers: { ...HTML, cookie: `a=1; ${HANDOFF_NONCE_COOKIE}=${nonce}` },
      });
      assert.equal(nonceOf(c), nonce);
      const malformed = await request(h.port, 'app.localhost', '/', {
        headers: { ...HTML, cookie: `${HANDOFF_NONCE_COOKIE}=short` },
      });
      assert.notEqual(nonceOf(malformed), 'short');
      // a step-up too
      const s = await request(h.port, 'mfa.localhost', '/admin', {
        headers: { ...HTML, cookie: `${TEST_SESSION_COOKIE}=alice-token` },
      });
      assert.equal(s.status, 302);
      assert.equal(new URL(String(s.headers.location)).pathname, '/step-up');
      nonceOf(s);
    });

    it('an API client gets no cookie and an unbound sign-in URL', async () => {
      const a = await request(h.port, 'app.localhost', '/api', { headers: JSON_ACCEPT });
      assert.equal(a.status, 401);
      assert.equal(a.headers['set-cookie'], undefined);
      const url = new URL(String(json(a).login_url));
      assert.equal(url.searchParams.get('handoff'), null);
    });

    it('the callback hands identity the nonce cookie, and clears it once the ticket is redeemed', async () => {
      const nonce = 'n'.repeat(43);
      const ticket = identity.ticket('app.localhost', 'alice-token', '/x', nonce);
      const a = await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, {
        headers: { ...HTML, cookie: `${HANDOFF_NONCE_COOKIE}=${nonce}` },
      });
      assert.equal(a.status, 302);
      assert.equal(identity.handoffs.at(-1)?.nonce, nonce);
      assert.deepEqual(a.headers['set-cookie'], [
        `${TEST_SESSION_COOKIE}=alice-token; Path=/; Secure; HttpOnly; SameSite=Lax`,
        `${HANDOFF_NONCE_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`,
      ]);
    });

    it('a ticket started in another browser is a 400 that says so, and keeps this browser’s nonce', async () => {
      const ticket = identity.ticket('app.localhost', 'alice-token', '/x', 'a'.repeat(43));
      for (const cookie of [undefined, `${HANDOFF_NONCE_COOKIE}=${'b'.repeat(43)}`]) {
        const page = await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, {
          headers: { ...HTML, ...(cookie !== undefined ? { cookie } : {}) },
        });
        assert.equal(page.status, 400);
        assert.match(page.body, /started in another browser/);
        assert.match(page.body, /ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH/);
        assert.equal(page.headers['set-cookie'], undefined);
        assert.equal(identity.handoffs.at(-1)?.nonce, cookie?.split('=')[1]);
      }
      const api = await request(h.port, 'app.localhost', `/.ztgate/callback?ticket=${ticket}`, {
        headers: JSON_ACCEPT,
      });
      assert.equal(api.status, 400);
      assert.equal(json(api).code, 'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH');
      assert.match(String(json(api).message), /started in another browser/);
    });

    it('/.ztgate/sign_in sets a nonce and starts the sign-in for a page on this host only', async () => {
      const seen = up.seen.length;
      const cases: [string, string][] = [
        [
          `/.ztgate/sign_in?return_to=${encodeURIComponent('https://app.localhost/r?q=1')}`,
          'https://app.localhost/r?q=1',
        ],
        [
          `/.ztgate/sign_in?return_to=${encodeURIComponent('https://evil.example/')}`,
          'https://app.localhost/',
        ],
        [
          `/.ztgate/sign_in?return_to=${encodeURIComponent('https://open.localhost/')}`,
          'https://app.localhost/',
        ],
        [
          `/.ztgate/sign_in?return_to=${encodeURIComponent('https://x@app.localhost/')}`,
          'https://app.localhost/',
        ],
        [
          `/.ztgate/sign_in?return_to=${encodeURIComponent('http://app.localhost/')}`,
          'https://app.localhost/',
        ],
        ['/.ztgate/sign_in?return_to=/relative', 'https://app.localhost/'],
        ['/.ztgate/sign_in?return_to=a&return_to=b', 'https://app.localhost/'],
        ['/.ztgate/sign_in', 'https://app.localhost/'],
      ];
      for (const [path, back] of cases) {
        const a = await request(h.port, 'app.localhost', path, { headers: HTML });
        assert.equal(a.status, 302, path);
        const location = new URL(String(a.headers.location));
        assert.equal(location.origin, PUBLIC_URL);
        assert.equal(location.searchParams.get('return_to'), back, path);
        nonceOf(a);
        assert.equal(a.headers['cache-control'], 'no-store');
      }
      // GET only; 404 without a handoff in the identity port
      const post = await request(h.port, 'app.localhost', '/.ztgate/sign_in', {
        method: 'POST',
        headers: HTML,
        body: 'x',
      });
      assert.equal(post.status, 405);
      const bareAnswer = await request(bare.port, 'app.localhost', '/.ztgate/sign_in', {
        headers: HTML,
      });
      assert.equal(bareAnswer.status, 404);
      assert.equal(up.seen.length, seen, 'the upstream saw nothing');
    });

    it('the nonce cookie never reaches the upstream', async () => {
      const a = await request(h.port, 'open.localhost', '/page', {
        headers: { ...HTML, cookie: `keep=1; ${HANDOFF_NONCE_COOKIE}=${'n'.repeat(43)}; also=2` },
      });
      assert.equal(a.status, 200);
      assert.equal(up.seen.at(-1)?.headers.cookie, 'keep=1; also=2');
      await request(h.port, 'open.localhost', '/page', {
        headers: { ...HTML, cookie: `${HANDOFF_NONCE_COOKIE}=${'n'.repeat(43)}` },
      });
      assert.equal(up.seen.at(-1)?.headers.cookie, undefined);
    });
  });
});
