import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyAssertion } from '../../src/pep/assertion/assertion.js';
import { testIdentity, TEST_SESSION_COOKIE } from '../../src/pep/testing/static-identity.js';
import {
  engineFor,
  json,
  PUBLIC_URL,
  request,
  startProxy,
  startUpstream,
  T0,
  type Harness,
  type Upstream,
} from './helpers/harness.js';

const MIN = 60_000;
const HTML = { accept: 'text/html,application/xhtml+xml' };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('proxy: decisions and enforcement', () => {
  let up: Upstream;
  let h: Harness;

  before(async () => {
    up = await startUpstream();
    const to = up.url;
    h = await startProxy(
      engineFor({
        policies: {
          engineering: {
            description: 'engineers with recent MFA',
            allow: [{ groups: ['engineering'], mfa: { max_age: '30m' } }],
            deny: [{ groups: ['contractors'] }],
          },
        },
        routes: [
          { from: 'https://app.localhost', to, policy: 'engineering', identity_headers: true },
          { from: 'https://plain.localhost', to, policy: 'engineering' },
          { from: 'https://trial.localhost', to, policy: 'engineering', mode: 'audit' },
          { from: 'https://open.localhost', to, policy: { allow: [{ public: true }] } },
          {
            from: 'https://device.localhost',
            to,
            policy: { allow: [{ authenticated: true, device: { managed: true } }] },
          },
        ],
      }),
    );
    h.identity.set(
      'alice-token',
      testIdentity('alice', {
        groups: ['engineering'],
        mfaMethods: ['totp'],
        mfaAt: T0 - 5 * MIN,
        deviceId: 'd1',
      }),
    );
    h.identity.set(
      'stale-token',
      testIdentity('bob', { groups: ['engineering'], mfaMethods: ['totp'], mfaAt: T0 - 90 * MIN }),
    );
    h.identity.set('mallory-token', testIdentity('mallory', { groups: ['sales'] }));
    h.identity.set(
      'carol-token',
      testIdentity('carol', { groups: ['engineering', 'contractors'], mfaAt: T0 }),
    );
    h.devices.set({ id: 'd1', managed: true, tier: 'high', posture: {} });
  });
  after(async () => {
    await h.close();
    await up.close();
  });

  it('allows a bearer identity and forwards with the canonical path and the query as sent', async () => {
    const a = await request(h.port, 'app.localhost', '/a/./b//c?x=1&y=%2F', {
      headers: bearer('alice-token'),
    });
    assert.equal(a.status, 200);
    const seen = json(a) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/a/b/c?x=1&y=%2F');
    assert.equal(seen.headers['x-ztgate-user'], 'alice');
    assert.equal(seen.headers['x-ztgate-email'], 'alice@example.com');
    assert.equal(seen.headers['x-ztgate-groups'], 'engineering');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-host'], 'app.localhost');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-request-id'], a.headers['x-request-id']);
    const record = h.audit.byRequest(String(a.headers['x-request-id']));
    assert.equal(record?.decision, 'allow');
    assert.equal(record?.actor.user, 'alice');
    assert.equal(record?.path, '/a/b/c');
    assert.equal(record?.forwarded, true);
  });

  it('sends a signed assertion the upstream verifies against the JWKS served on the public host', async () => {
    const a = await request(h.port, 'plain.localhost', '/x', { headers: bearer('alice-token') });
    assert.equal(a.status, 200);
    const headers = (json(a) as { headers: Record<string, string> }).headers;
    // plain identity headers only where the route asks for them
    assert.equal(headers['x-ztgate-user'], undefined);
    const jwks = await request(h.port, 'auth.localhost', '/.well-known/ztgate/jwks.json');
    assert.equal(jwks.status, 200);
    const claims = await verifyAssertion(
      headers['x-ztgate-jwt-assertion'] as string,
      JSON.parse(jwks.body) as { keys: [] },
      { issuer: PUBLIC_URL, audience: 'plain.localhost', now: T0 },
    );
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(claims.groups, ['engineering']);
    assert.equal(claims.device_id, 'd1');
    await assert.rejects(
      verifyAssertion(
        headers['x-ztgate-jwt-assertion'] as string,
        JSON.parse(jwks.body) as { keys: [] },
        {
          issuer: PUBLIC_URL,
          audience: 'app.localhost',
          now: T0,
        },
      ),
      'an assertion for one route is not valid at another',
    );
  });

  it('removes client-sent identity and forwarding headers whatever their spelling', async () => {
    const a = await request(h.port, 'plain.localhost', '/x', {
      headers: {
        ...bearer('alice-token'),
        'X-Ztgate-User': 'admin',
        x_ztgate_email: 'admin@example.com',
        'X-ZTGATE-GROUPS': 'admins',
        'X-Ztgate-Jwt-Assertion': 'forged',
        'X-Forwarded-For': '10.9.9.9',
        'X-Forwarded-Host': 'evil.example',
        x_forwarded_proto: 'http',
        Forwarded: 'for=10.9.9.9',
        'X-Real-IP': '10.9.9.9',
      },
    });
    assert.equal(a.status, 200);
    const raw = up.seen.at(-1)?.rawHeaders ?? [];
    const names = raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const n of [
      'x-ztgate-user',
      'x_ztgate_email',
      'x-ztgate-groups',
      'forwarded',
      'x-real-ip',
      'x_forwarded_proto',
    ]) {
      assert.ok(!names.includes(n), `${n} reached the upstream`);
    }
    const headers = up.seen.at(-1)?.headers ?? {};
    assert.notEqual(headers['x-ztgate-jwt-assertion'], 'forged');
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers['x-forwarded-host'], 'plain.localhost');
    assert.equal(headers['x-forwarded-proto'], 'https');
    assert.equal(names.filter((n) => n === 'x-ztgate-jwt-assertion').length, 1);
  });

  it('sends a browser without a session to sign in, with the original https URL to return to', async () => {
    const a = await request(h.port, 'app.localhost', '/docs/a?b=1', { headers: HTML });
    assert.equal(a.status, 302);
    const location = new URL(String(a.headers.location));
    assert.equal(location.origin, PUBLIC_URL);
    assert.equal(location.pathname, '/login');
    assert.equal(location.searchParams.get('return_to'), 'https://app.localhost/docs/a?b=1');
    assert.equal(h.audit.byRequest(String(a.headers['x-request-id']))?.decision, 'login');
  });

  it('answers an API client without a session with 401 JSON', async () => {
    for (const headers of [{ accept: 'application/json' }, bearer('unknown-token'), {}]) {
      const a = await request(h.port, 'app.localhost', '/api', { headers });
      assert.equal(a.status, 401);
      assert.match(String(a.headers['content-type']), /application\/json/);
      const body = json(a);
      assert.equal(body.error, 'login_required');
      assert.equal(body.request_id, a.headers['x-request-id']);
      assert.match(String(body.login_url), /^https:\/\/auth\.localhost\/login\?return_to=/);
    }
  });

  it('accepts the session cookie and never passes ztgate’s own session cookie upstream', async () => {
    const a = await request(h.port, 'plain.localhost', '/c', {
      headers: {
        cookie: `${TEST_SESSION_COOKIE}=alice-token; __Host-ztgate_session=secret; theme=dark`,
        ...HTML,
      },
    });
    assert.equal(a.status, 200);
    assert.equal(up.seen.at(-1)?.headers.cookie, `${TEST_SESSION_COOKIE}=alice-token; theme=dark`);
  });

  it('denies with a 403 page that shows the request id and the reason, escaped, under a strict CSP', async () => {
    const a = await request(h.port, 'app.localhost', '/<script>alert(1)</script>', {
      headers: { ...HTML, cookie: `${TEST_SESSION_COOKIE}=mallory-token` },
    });
    // `<` is not a path character: refused before any decision
    assert.equal(a.status, 400);
    const d = await request(h.port, 'app.localhost', '/x?q=<script>', {
      headers: { ...HTML, cookie: `${TEST_SESSION_COOKIE}=mallory-token` },
    });
    assert.equal(d.status, 400, 'a raw `<` in the query is refused too');
    const r = await request(h.port, 'app.localhost', '/reports', {
      headers: { ...HTML, cookie: `${TEST_SESSION_COOKIE}=mallory-token` },
    });
    assert.equal(r.status, 403);
    assert.match(String(r.headers['content-type']), /text\/html/);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /style-src 'sha256-/);
    assert.ok(!csp.includes('unsafe-inline'));
    assert.ok(r.body.includes(String(r.headers['x-request-id'])));
    assert.ok(r.body.includes('Access denied'));
    assert.ok(r.body.includes('none of the required groups') || r.body.includes('group'), r.body);
    assert.ok(!/<script/i.test(r.body));
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(h.audit.byRequest(String(r.headers['x-request-id']))?.decision, 'deny');
  });

  it('escapes user-visible reasons that come from the policy', async () => {
    const { escapeHtml, renderPage } = await import('../../src/pep/respond/error-page.js');
    const page = renderPage({
      title: 'Access denied',
      paragraphs: ['<img src=x onerror=alert(1)>'],
      items: ['"quoted" & \'single\''],
      requestId: '<id>',
    });
    assert.ok(!page.includes('<img'));
    assert.ok(page.includes(escapeHtml('<img src=x onerror=alert(1)>')));
    assert.ok(page.includes('&quot;quoted&quot; &amp; &#39;single&#39;'));
    assert.ok(page.includes('&lt;id&gt;'));
  });

  it('denies an API client with 403 JSON and the reasons', async () => {
    const a = await request(h.port, 'app.localhost', '/reports', {
      headers: bearer('carol-token'),
    });
    assert.equal(a.status, 403);
    const body = json(a) as { error: string; reasons: { code: string }[]; request_id: string };
    assert.equal(body.error, 'access_denied');
    assert.equal(body.reasons[0]?.code, 'rule-denied');
    assert.equal(body.request_id, a.headers['x-request-id']);
  });

  it('sends a browser with stale MFA through step-up, and an API client gets 401 with the requirement', async () => {
    const b = await request(h.port, 'app.localhost', '/deploy', {
      headers: { ...HTML, cookie: `${TEST_SESSION_COOKIE}=stale-token` },
    });
    assert.equal(b.status, 302);
    const location = new URL(String(b.headers.location));
    assert.equal(location.pathname, '/step-up');
    assert.equal(location.searchParams.get('max_age'), '1800');
    assert.equal(location.searchParams.get('return_to'), 'https://app.localhost/deploy');
    const a = await request(h.port, 'app.localhost', '/deploy', { headers: bearer('stale-token') });
    assert.equal(a.status, 401);
    const body = json(a) as { error: string; step_up: { max_age: number }; step_up_url: string };
    assert.equal(body.error, 'step_up_required');
    assert.equal(body.step_up.max_age, 1800);
    assert.match(body.step_up_url, /\/step-up\?/);
  });

  it('in audit mode decides and logs but forwards anyway', async () => {
    const before = up.seen.length;
    const a = await request(h.port, 'trial.localhost', '/x', { headers: bearer('mallory-token') });
    assert.equal(a.status, 200);
    assert.equal(up.seen.length, before + 1);
    const record = h.audit.byRequest(String(a.headers['x-request-id']));
    assert.equal(record?.decision, 'deny');
    assert.equal(record?.mode, 'audit');
    assert.equal(record?.forwarded, true);
    const anon = await request(h.port, 'trial.localhost', '/x', { headers: HTML });
    assert.equal(anon.status, 200);
    assert.equal(h.audit.byRequest(String(anon.headers['x-request-id']))?.decision, 'login');
    const line = h.accessLog.find((l) => l.includes(String(anon.headers['x-request-id'])));
    assert.match(String(line), /"decision":"login"/);
    assert.match(String(line), /"mode":"audit"/);
    assert.match(String(line), /"forwarded":true/);
  });

  it('lets everyone through a public route, signed in or not', async () => {
    const a = await request(h.port, 'open.localhost', '/');
    assert.equal(a.status, 200);
    assert.equal(
      (json(a) as { headers: Record<string, string> }).headers['x-ztgate-jwt-assertion'],
      undefined,
    );
  });

  it('reads device facts for the session’s device', async () => {
    assert.equal(
      (await request(h.port, 'device.localhost', '/', { headers: bearer('alice-token') })).status,
      200,
    );
    const m = await request(h.port, 'device.localhost', '/', { headers: bearer('mallory-token') });
    assert.equal(m.status, 403);
    assert.equal((json(m) as { reasons: { code: string }[] }).reasons[0]?.code, 'device-missing');
  });

  it('answers 404 for a host no route serves, and health on such hosts', async () => {
    const a = await request(h.port, 'nowhere.localhost', '/x', { headers: bearer('alice-token') });
    assert.equal(a.status, 404);
    assert.equal(json(a).request_id, a.headers['x-request-id']);
    assert.equal((await request(h.port, '127.0.0.1', '/healthz')).status, 200);
    assert.equal((await request(h.port, 'auth.localhost', '/readyz')).status, 200);
    // a route's own /healthz is the app's
    const app = await request(h.port, 'open.localhost', '/healthz');
    assert.equal((json(app) as { url: string }).url, '/healthz');
  });

  it('fails closed with 503 and a request id when identity, devices or the audit log are down', async () => {
    h.identity.unavailable = true;
    try {
      const a = await request(h.port, 'app.localhost', '/x', { headers: bearer('alice-token') });
      assert.equal(a.status, 503);
      assert.deepEqual(Object.keys(json(a)).sort(), ['error', 'request_id']);
      assert.equal(json(a).request_id, a.headers['x-request-id']);
    } finally {
      h.identity.unavailable = false;
    }
    h.devices.unavailable = true;
    try {
      assert.equal(
        (await request(h.port, 'device.localhost', '/', { headers: bearer('alice-token') })).status,
        503,
      );
    } finally {
      h.devices.unavailable = false;
    }
    h.audit.full = true;
    const before = up.seen.length;
    try {
      const a = await request(h.port, 'app.localhost', '/x', { headers: bearer('alice-token') });
      assert.equal(a.status, 503);
      assert.equal(up.seen.length, before, 'nothing unrecorded reaches the upstream');
    } finally {
      h.audit.full = false;
    }
    assert.equal(
      (await request(h.port, 'app.localhost', '/x', { headers: bearer('alice-token') })).status,
      200,
      'recovers on its own',
    );
    assert.ok(h.log.some((l) => l.includes('ZT_AUDIT_BACKLOG_FULL')));
  });

  it('writes one access log line per request without cookies, tokens, assertions or query strings', async () => {
    const a = await request(h.port, 'app.localhost', '/x?token=sekrit', {
      headers: { ...bearer('alice-token'), cookie: `${TEST_SESSION_COOKIE}=alice-token` },
    });
    const id = String(a.headers['x-request-id']);
    await new Promise((r) => setTimeout(r, 20));
    const lines = h.accessLog.filter((l) => l.includes(id));
    assert.equal(lines.length, 1);
    const line = lines[0] as string;
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.status, 200);
    assert.equal(entry.route, 'https://app.localhost');
    assert.equal(entry.decision, 'allow');
    assert.equal(entry.user, 'alice');
    for (const secret of ['alice-token', 'sekrit', 'eyJ', 'cookie', 'authorization']) {
      assert.ok(!line.includes(secret), `the access log holds ${secret}`);
    }
  });
});
