/**
 * Forward-auth endpoints: called directly (as a trusted proxy on loopback would), and behind the
 * real nginx (`auth_request`) and the real Caddy (`forward_auth`) in front of a demo app that
 * verifies the identity assertion. nginx and Caddy are started and killed for each test.
 */
import assert from 'node:assert/strict';
import { afterEach, after, before, beforeEach, describe, it } from 'node:test';
import { verifyAssertion } from '../../src/pep/assertion/assertion.js';
import { testIdentity } from '../../src/pep/testing/static-identity.js';
import {
  curl,
  engineFor,
  json,
  pki,
  PUBLIC_URL,
  request,
  startProxy,
  startUpstream,
  T0,
  type Harness,
  type Upstream,
} from './helpers/harness.js';
import { startCaddy, startNginx, type Peer } from '../../src/pep/testing/peers.js';

const POLICIES = {
  engineering: { allow: [{ groups: ['engineering'] }] },
};
const HTML = { accept: 'text/html' };

function setIdentities(h: Harness): void {
  h.identity.set('alice-token', testIdentity('alice', { groups: ['engineering'], deviceId: 'd1' }));
  h.identity.set('mallory-token', testIdentity('mallory', { groups: ['sales'] }));
}

describe('forward auth: the endpoints', () => {
  let h: Harness;
  let untrusted: Harness;
  before(async () => {
    const engine = engineFor({
      policies: POLICIES,
      routes: [
        { from: 'https://app.localhost', to: 'http://127.0.0.1:9', policy: 'engineering' },
        {
          from: 'https://paths.localhost',
          to: 'http://127.0.0.1:9',
          policy: { allow: [{ authenticated: true, paths: ['/ok/**'] }] },
        },
      ],
    });
    h = await startProxy(engine, { trustedProxies: ['127.0.0.1/32'] });
    untrusted = await startProxy(engine);
    setIdentities(h);
    setIdentities(untrusted);
  });
  after(async () => {
    await h.close();
    await untrusted.close();
  });

  const nginxHeaders = (uri: string, extra: Record<string, string> = {}) => ({
    'x-original-uri': uri,
    'x-original-method': 'GET',
    'x-forwarded-host': 'app.localhost',
    'x-forwarded-proto': 'https',
    'x-forwarded-for': '203.0.113.9',
    ...extra,
  });

  it('auth-request: 200 with identity headers, 401 with a login URL, 403 when denied', async () => {
    const ok = await request(h.port, 'auth.localhost', '/api/authz/auth-request', {
      headers: nginxHeaders('/x?y=1', { authorization: 'Bearer alice-token' }),
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-ztgate-user'], 'alice');
    assert.equal(ok.headers['x-ztgate-email'], 'alice@example.com');
    assert.equal(ok.headers['x-ztgate-groups'], 'engineering');
    const claims = await verifyAssertion(
      String(ok.headers['x-ztgate-jwt-assertion']),
      h.keys.jwks(),
      {
        issuer: PUBLIC_URL,
        audience: 'app.localhost',
        now: T0,
      },
    );
    assert.equal(claims.sub, 'alice');
    const record = h.audit.byRequest(String(ok.headers['x-request-id']));
    assert.equal(record?.via, 'auth-request');
    assert.equal(record?.path, '/x');
    assert.equal(record?.sourceIp, '203.0.113.9', 'the client address nginx names');

    const anon = await request(h.port, 'auth.localhost', '/api/authz/auth-request', {
      headers: nginxHeaders('/x'),
    });
    assert.equal(anon.status, 401);
    const login = new URL(String(anon.headers['x-ztgate-login-url']));
    assert.equal(login.searchParams.get('return_to'), 'https://app.localhost/x');

    const denied = await request(h.port, 'auth.localhost', '/api/authz/auth-request', {
      headers: nginxHeaders('/x', { authorization: 'Bearer mallory-token' }),
    });
    assert.equal(denied.status, 403);
    // nginx only understands 2xx, 401 and 403
    for (const headers of [
      nginxHeaders('/a%2fb', { authorization: 'Bearer alice-token' }),
      { ...nginxHeaders('/x'), 'x-forwarded-host': 'unknown.localhost' },
    ]) {
      assert.equal(
        (await request(h.port, 'auth.localhost', '/api/authz/auth-request', { headers })).status,
        403,
      );
    }
  });

  it('forward-auth: 200 allow, 302 to sign in for browsers, 401 for API clients, 403 denied', async () => {
    const fwd = (uri: string, extra: Record<string, string> = {}) => ({
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.localhost',
      'x-forwarded-uri': uri,
      ...extra,
    });
    const ok = await request(h.port, 'auth.localhost', '/api/authz/forward-auth', {
      headers: fwd('/x', { authorization: 'Bearer alice-token' }),
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-ztgate-user'], 'alice');
    const browser = await request(h.port, 'auth.localhost', '/api/authz/forward-auth', {
      headers: fwd('/doc?a=b', HTML),
    });
    assert.equal(browser.status, 302);
    assert.equal(
      new URL(String(browser.headers.location)).searchParams.get('return_to'),
      'https://app.localhost/doc?a=b',
    );
    const api = await request(h.port, 'auth.localhost', '/api/authz/forward-auth', {
      headers: fwd('/x'),
    });
    assert.equal(api.status, 401);
    assert.equal(json(api).error, 'login_required');
    const denied = await request(h.port, 'auth.localhost', '/api/authz/forward-auth', {
      headers: fwd('/x', { authorization: 'Bearer mallory-token', ...HTML }),
    });
    assert.equal(denied.status, 403);
    assert.ok(denied.body.includes(String(denied.headers['x-request-id'])));
    const post = await request(h.port, 'auth.localhost', '/api/authz/forward-auth', {
      headers: {
        ...fwd('/ok/a'),
        'x-forwarded-host': 'paths.localhost',
        'x-forwarded-method': 'POST',
        authorization: 'Bearer alice-token',
      },
    });
    assert.equal(post.status, 200);
    assert.equal(h.audit.byRequest(String(post.headers['x-request-id']))?.method, 'POST');
  });

  it('ext-authz: exactly 200 to allow, with the original path appended to the prefix', async () => {
    const ok = await request(h.port, 'auth.localhost', '/api/authz/ext-authz/ok/deep?q=1', {
      headers: { 'x-forwarded-host': 'paths.localhost', authorization: 'Bearer alice-token' },
    });
    assert.equal(ok.status, 200);
    assert.equal(h.audit.byRequest(String(ok.headers['x-request-id']))?.path, '/ok/deep');
    const no = await request(h.port, 'auth.localhost', '/api/authz/ext-authz/admin', {
      headers: { 'x-forwarded-host': 'paths.localhost', authorization: 'Bearer alice-token' },
    });
    assert.equal(no.status, 403);
    // Envoy keeps the original Host: a trusted peer may call the prefix on the app's host
    const envoy = await request(h.port, 'paths.localhost', '/api/authz/ext-authz/ok/x', {
      headers: { authorization: 'Bearer alice-token' },
    });
    assert.equal(envoy.status, 200);
  });

  it('ignores forwarding headers from a peer that is not a trusted proxy', async () => {
    const a = await request(untrusted.port, 'auth.localhost', '/api/authz/forward-auth', {
      headers: {
        'x-forwarded-host': 'app.localhost',
        'x-forwarded-uri': '/x',
        authorization: 'Bearer alice-token',
      },
    });
    assert.equal(a.status, 400);
    assert.equal(json(a).reason, 'forward-auth-original-missing');
    const b = await request(untrusted.port, 'auth.localhost', '/api/authz/auth-request', {
      headers: {
        'x-original-uri': '/x',
        'x-forwarded-host': 'app.localhost',
        authorization: 'Bearer alice-token',
      },
    });
    assert.equal(b.status, 403, 'refused in a form nginx understands');
    // an untrusted peer's ext-authz call on an app host is an ordinary proxied request
    const c = await request(untrusted.port, 'app.localhost', '/api/authz/ext-authz/x', {
      headers: { authorization: 'Bearer alice-token' },
    });
    assert.equal(c.status, 502, 'forwarded to the (absent) upstream, not answered as ext-authz');
  });
});

/** The demo app: verifies the assertion against the JWKS and shows who it received. */
async function demoApp(h: () => Harness): Promise<Upstream> {
  return startUpstream((req, res) => {
    const assertion = req.headers['x-ztgate-jwt-assertion'];
    void (async () => {
      let sub: string | undefined;
      if (typeof assertion === 'string' && assertion !== '') {
        const claims = await verifyAssertion(assertion, h().keys.jwks(), {
          issuer: PUBLIC_URL,
          audience: 'app.localhost',
          now: T0,
        });
        sub = claims.sub;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          verified_sub: sub,
          user: req.headers['x-ztgate-user'],
          groups: req.headers['x-ztgate-groups'],
          url: req.url,
        }),
      );
    })().catch(() => {
      res.writeHead(500).end('assertion failed verification');
    });
  });
}

function curlVia(port: number, path: string, headers: string[]): Promise<string> {
  return curl([
    '-H',
    'Host: app.localhost',
    ...headers.flatMap((x) => ['-H', x]),
    '-D',
    '-',
    `http://127.0.0.1:${port}${path}`,
  ]);
}

function statusLine(out: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0);
}

function bodyOf(out: string): Record<string, unknown> {
  return JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

describe('forward auth: interop with real nginx and Caddy', () => {
  let h: Harness;
  let app: Upstream;
  let peer: Peer | undefined;

  before(async () => {
    h = await startProxy(
      engineFor({
        policies: POLICIES,
        routes: [
          { from: 'https://app.localhost', to: 'http://127.0.0.1:9', policy: 'engineering' },
        ],
      }),
      { trustedProxies: ['127.0.0.1/32'] },
    );
    setIdentities(h);
    app = await demoApp(() => h);
  });
  after(async () => {
    await h.close();
    await app.close();
  });
  beforeEach(() => {
    peer = undefined;
  });
  afterEach(async () => {
    await peer?.stop();
  });

  const nginx = () =>
    startNginx(
      (_dir, port) => `
  server {
    listen 127.0.0.1:${port};
    location = /_ztgate_auth {
      internal;
      proxy_pass https://127.0.0.1:${h.port}/api/authz/auth-request;
      proxy_ssl_server_name on;
      proxy_ssl_name localhost;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${pki().certFile};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host auth.localhost;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location @ztgate_login {
      return 302 $ztgate_login;
    }
    location / {
      auth_request /_ztgate_auth;
      auth_request_set $ztgate_user $upstream_http_x_ztgate_user;
      auth_request_set $ztgate_groups $upstream_http_x_ztgate_groups;
      auth_request_set $ztgate_assertion $upstream_http_x_ztgate_jwt_assertion;
      auth_request_set $ztgate_login $upstream_http_x_ztgate_login_url;
      error_page 401 = @ztgate_login;
      proxy_set_header X-Ztgate-User $ztgate_user;
      proxy_set_header X-Ztgate-Groups $ztgate_groups;
      proxy_set_header X-Ztgate-Jwt-Assertion $ztgate_assertion;
      proxy_pass http://127.0.0.1:${app.port};
    }
  }`,
    );

  const caddy = () =>
    startCaddy(
      (port) => `http://:${port} {
\tbind 127.0.0.1
\tforward_auth https://127.0.0.1:${h.port} {
\t\turi /api/authz/forward-auth
\t\tcopy_headers X-Ztgate-User X-Ztgate-Groups X-Ztgate-Jwt-Assertion
\t\theader_up Host auth.localhost
\t\ttransport http {
\t\t\ttls
\t\t\ttls_trusted_ca_certs ${pki().certFile}
\t\t\ttls_server_name localhost
\t\t}
\t}
\treverse_proxy 127.0.0.1:${app.port}
}`,
    );

  for (const [name, start] of [
    ['nginx auth_request', nginx],
    ['Caddy forward_auth', caddy],
  ] as const) {
    it(`${name}: a signed-in user reaches the app, which verifies who it is`, async () => {
      peer = await start();
      const out = await curlVia(peer.port, '/hello?x=1', [
        'Authorization: Bearer alice-token',
        'X-Ztgate-User: admin',
      ]);
      assert.equal(statusLine(out), 200, `${out}\n${peer.log()}`);
      const body = bodyOf(out);
      assert.equal(body.verified_sub, 'alice');
      assert.equal(body.user, 'alice', 'the client-sent X-Ztgate-User was replaced');
      assert.equal(body.groups, 'engineering');
      assert.equal(body.url, '/hello?x=1');
    });

    it(`${name}: a browser that is not signed in is sent to sign in`, async () => {
      peer = await start();
      const out = await curlVia(peer.port, '/docs', ['Accept: text/html']);
      assert.equal(statusLine(out), 302, out);
      const location = /\r\nlocation: (\S+)/i.exec(out)?.[1] ?? '';
      assert.match(location, /^https:\/\/auth\.localhost\/login\?return_to=/);
      assert.match(decodeURIComponent(location), /app\.localhost\/docs/);
    });

    it(`${name}: a denied user does not reach the app`, async () => {
      peer = await start();
      const before = app.seen.length;
      const out = await curlVia(peer.port, '/x', ['Authorization: Bearer mallory-token']);
      assert.equal(statusLine(out), 403, out);
      assert.equal(app.seen.length, before);
    });
  }
});
