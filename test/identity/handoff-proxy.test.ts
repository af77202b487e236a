/**
 * The whole loop this fixes, end to end: the real proxy in front of two apps on their own hosts
 * (`app.localhost`, `other.localhost`), the real identity component (built-in IdP) mounted on the
 * public host (`auth.localhost`), and a browser stand-in that keeps cookies per host as a browser
 * does. Signing in from an app host comes back to that host with a session cookie of its own (no
 * redirect loop), the second app signs in without the IdP, a used ticket is refused, and signing
 * out on an app host ends the session everywhere.
 *
 * The identity port here is a test-only adapter of what `ztgate serve` will wire.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SESSION_COOKIE } from '../../src/identity/session/cookie.js';
import { postPassword } from './helpers/flows.js';
import { PASSWORD, startProxiedStack, type ProxiedStack } from './helpers/proxied.js';
import { TestAgent, type AgentResponse } from './helpers/servers.js';

const HTML = { accept: 'text/html,application/xhtml+xml' };

describe('signing in on app hosts through the proxy (handoff)', { timeout: 60_000 }, () => {
  let s: ProxiedStack;
  let agent: TestAgent;
  const url = (host: 'auth' | 'app' | 'other', path: string) => s.url(host, path);
  const sessionCookie = (host: string) =>
    agent.jar(`${host}.localhost:${s.port}`).get(SESSION_COOKIE)?.value;
  const fromUpstream = (r: AgentResponse) =>
    JSON.parse(r.body) as { url: string; headers: Record<string, string> };
  let ticketUrl = '';

  before(async () => {
    s = await startProxiedStack();
    agent = new TestAgent({ fetch: s.fetch, perHost: true });
  });
  after(() => s?.close());

  it('signs in from an app host and comes back to it with a cookie of its own', async () => {
    const page = await agent.request(url('app', '/hello?x=1'), { headers: HTML });
    assert.equal(new URL(page.url).host, `auth.localhost:${s.port}`, 'the sign-in page');
    assert.match(page.body, /Sign in/);
    // CSP form-action applies to every redirect after the form post, up to the app host
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(
      csp,
      new RegExp(`form-action 'self'[^;]* ${url('app', '').replace(/\./g, '\\.')}`),
    );
    const r = await postPassword(agent, page, 'alice@example.com', PASSWORD);
    assert.equal(r.status, 200, r.body.slice(0, 500));
    assert.equal(r.url, url('app', '/hello?x=1'));
    const seen = fromUpstream(r);
    assert.equal(seen.url, '/hello?x=1');
    assert.ok(seen.headers['x-ztgate-jwt-assertion'], 'the upstream got the signed identity');
    const raw = sessionCookie('app');
    assert.ok(raw, 'the app host has its own session cookie');
    assert.equal(sessionCookie('auth'), raw, 'the same session as on the public host');
    for (const seen of s.upstream.seen) {
      assert.ok(!seen.url.toLowerCase().includes('ztgate'), `the upstream saw ${seen.url}`);
      assert.ok(!(seen.headers.cookie ?? '').includes(SESSION_COOKIE));
    }
    assert.ok(s.audit.some((e) => e.action === 'session.handoff_redeemed'));
  });

  it('the second app signs in without the IdP (single sign-on)', async () => {
    const logins = s.audit.filter((e) => e.action === 'login.succeeded').length;
    // step by step, to keep the ticket URL for the next test
    let next = url('other', '/reports');
    const hops: string[] = [];
    for (let i = 0; i < 5 && next; i++) {
      hops.push(new URL(next).host + new URL(next).pathname);
      const r = await agent.request(next, { follow: false, headers: HTML });
      if (new URL(next).pathname === '/.ztgate/callback') ticketUrl = next;
      const location = r.headers.get('location');
      if (!location) {
        assert.equal(r.status, 200);
        assert.equal(fromUpstream(r).url, '/reports');
        break;
      }
      next = new URL(location, next).href;
    }
    assert.deepEqual(hops, [
      `other.localhost:${s.port}/reports`,
      `auth.localhost:${s.port}/oauth2/sign_in`,
      `other.localhost:${s.port}/.ztgate/callback`,
      `other.localhost:${s.port}/reports`,
    ]);
    assert.equal(sessionCookie('other'), sessionCookie('auth'));
    assert.equal(s.audit.filter((e) => e.action === 'login.succeeded').length, logins);
  });

  it('a used ticket is refused with a page that says what to do', async () => {
    assert.ok(ticketUrl);
    const r = await new TestAgent({ fetch: s.fetch, perHost: true }).request(ticketUrl, {
      headers: HTML,
    });
    assert.equal(r.status, 400);
    assert.match(r.body, /already used or has expired/);
    assert.match(r.body, /ZT_IDENTITY_HANDOFF_REPLAYED/);
    assert.equal(
      s.audit.findLast((e) => e.action === 'session.handoff_refused')?.details?.reason,
      'replayed',
    );
  });

  it('signing out on an app host ends the session on every host', async () => {
    const raw = sessionCookie('app');
    const out = await agent.request(url('app', '/.ztgate/sign_out'), { follow: false });
    assert.equal(out.status, 302);
    assert.equal(out.headers.get('location'), url('auth', '/oauth2/sign_out'));
    assert.equal(sessionCookie('app'), undefined, 'the app host’s cookie is cleared');
    assert.equal((await s.identity.sessions.lookup(raw)).ok, false, 'the session is ended');
    // the other app's cookie holds the same, now ended, session: back to sign-in
    const other = await agent.request(url('other', '/reports'), { follow: false, headers: HTML });
    assert.equal(other.status, 302);
    assert.equal(new URL(other.headers.get('location') ?? '').pathname, '/oauth2/sign_in');
    // and the public host's sign-out goes on to the IdP's
    const end = await agent.request(url('auth', '/oauth2/sign_out'), { follow: false });
    assert.equal(new URL(end.headers.get('location') ?? '').pathname, '/oidc/session/end');
    assert.equal(sessionCookie('auth'), undefined);
  });
});
