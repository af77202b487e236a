/**
 * The whole loop this fixes, end to end: the real proxy in front of two apps on their own hosts
 * (`app.localhost`, `other.localhost`), the real identity component (built-in IdP) mounted on the
 * public host (`auth.localhost`), and a browser stand-in that keeps cookies per host as a browser
 * does. Signing in from an app host comes back to that host with a session cookie of its own (no
 * redirect loop), the second app signs in without the IdP, a used ticket is refused, and signing
 * out on an app host ends the session everywhere. And the login CSRF the sign-in nonce stops: a
 * ticket someone got by signing in as themselves, opened in another person's browser, signs that
 * browser in as nobody; a sign-in link made by hand still works, through the app host's
 * `/.ztgate/sign_in`.
 *
 * The identity port here is a test-only adapter of what `ztgate serve` will wire.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SESSION_COOKIE } from '../../src/identity/session/cookie.js';
import { HANDOFF_NONCE_COOKIE } from '../../src/pep/handoff-nonce.js';
import { decodeJwt, postPassword, unescapeHtml } from './helpers/flows.js';
import { PASSWORD, startProxiedStack, type ProxiedStack } from './helpers/proxied.js';
import { formAction, TestAgent, type AgentResponse } from './helpers/servers.js';

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

  describe('login CSRF: a ticket works only in the browser that started the sign-in', () => {
    const MALLORY_PASSWORD = 'mallory has a password of her own';
    const newBrowser = () => new TestAgent({ fetch: s.fetch, perHost: true });
    const cookieOf = (b: TestAgent, host: 'app' | 'auth', name: string) =>
      b.jar(`${host}.localhost:${s.port}`).get(name)?.value;
    const whoUpstreamSaw = (r: AgentResponse) =>
      decodeJwt(fromUpstream(r).headers['x-ztgate-jwt-assertion'] ?? '').payload.email;

    /** Signs in as `email` from `browser`, starting at `start`, and stops before the callback. */
    const ticketFor = async (
      browser: TestAgent,
      start: string,
      email: string,
      password: string,
    ) => {
      const page = await browser.request(start, { headers: HTML });
      assert.match(page.body, /Sign in/);
      let next = new URL(unescapeHtml(formAction(page.body, '/password')), page.url).href;
      let r = await browser.request(next, { form: { email, password }, follow: false });
      for (let i = 0; i < 10; i++) {
        const location = r.headers.get('location');
        assert.ok(location, `${r.status} at ${next}: ${r.body.slice(0, 300)}`);
        next = new URL(location, next).href;
        if (new URL(next).pathname === '/.ztgate/callback') return next;
        r = await browser.request(next, { follow: false, headers: HTML });
      }
      throw new Error('no handoff');
    };

    before(async () => {
      await s.users.add({
        email: 'mallory@example.com',
        groups: ['engineering'],
        password: MALLORY_PASSWORD,
      });
    });

    it('the attacker’s ticket opened in the victim’s browser is refused; the victim is not signed in as the attacker', async () => {
      const mallory = newBrowser();
      const ticketUrl = await ticketFor(
        mallory,
        url('app', '/inbox'),
        'mallory@example.com',
        MALLORY_PASSWORD,
      );
      assert.ok(cookieOf(mallory, 'app', HANDOFF_NONCE_COOKIE), 'the proxy set mallory’s nonce');

      // a victim who never started a sign-in on the app (the link arrives in a mail, an <img>, ...)
      const victim = newBrowser();
      const opened = await victim.request(ticketUrl, { headers: HTML });
      assert.equal(opened.status, 400);
      assert.match(opened.body, /started in another browser/);
      assert.match(opened.body, /ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH/);
      assert.equal(cookieOf(victim, 'app', SESSION_COOKIE), undefined, 'no session on the app');
      assert.equal(
        s.audit.findLast((e) => e.action === 'session.handoff_refused')?.details?.reason,
        'browser-missing',
      );
      // the victim's next visit to the app is not mallory's: it is sent to sign in
      const next = await victim.request(url('app', '/inbox'), { follow: false, headers: HTML });
      assert.equal(next.status, 302);
      assert.equal(new URL(next.headers.get('location') ?? '').pathname, '/oauth2/sign_in');

      // a victim in the middle of a sign-in of her own on the app has a nonce, but another one
      const busy = newBrowser();
      await busy.request(url('app', '/'), { follow: false, headers: HTML });
      assert.ok(cookieOf(busy, 'app', HANDOFF_NONCE_COOKIE));
      const openedBusy = await busy.request(ticketUrl, { headers: HTML });
      assert.equal(openedBusy.status, 400);
      assert.equal(cookieOf(busy, 'app', SESSION_COOKIE), undefined);
      assert.equal(
        s.audit.findLast((e) => e.action === 'session.handoff_refused')?.details?.reason,
        'browser-mismatch',
      );
      // her own sign-in then goes on as herself
      const own = await postPassword(
        busy,
        await busy.request(url('app', '/'), { headers: HTML }),
        'alice@example.com',
        PASSWORD,
      );
      assert.equal(own.status, 200, own.body.slice(0, 300));
      assert.equal(whoUpstreamSaw(own), 'alice@example.com');

      // none of this spent mallory's ticket: in her own browser it works, once, and her nonce goes
      const hers = await mallory.request(ticketUrl, { headers: HTML });
      assert.equal(hers.status, 200);
      assert.equal(whoUpstreamSaw(hers), 'mallory@example.com');
      assert.equal(cookieOf(mallory, 'app', HANDOFF_NONCE_COOKIE), undefined);
      const again = await mallory.request(ticketUrl, { headers: HTML });
      assert.equal(again.status, 400);
      assert.match(again.body, /already used or has expired/);
    });

    it('a sign-in through the public host does not help: SSO tickets are bound too', async () => {
      // mallory, signed in on the public host, asks sign_in for the app with her own commitment
      const mallory = newBrowser();
      await ticketFor(mallory, url('app', '/'), 'mallory@example.com', MALLORY_PASSWORD);
      const start = await mallory.request(url('other', '/'), { follow: false, headers: HTML });
      const signIn = start.headers.get('location') ?? '';
      assert.ok(new URL(signIn).searchParams.get('handoff'));
      const sso = await mallory.request(signIn, { follow: false, headers: HTML });
      const ticketUrl = new URL(sso.headers.get('location') ?? '');
      assert.equal(ticketUrl.pathname, '/.ztgate/callback');
      const victim = newBrowser();
      const opened = await victim.request(ticketUrl.href, { headers: HTML });
      assert.equal(opened.status, 400);
      assert.equal(cookieOf(victim, 'app', SESSION_COOKIE), undefined);
    });

    it('a sign-in link made by hand (no commitment) still signs in, through the app host’s /.ztgate/sign_in', async () => {
      const browser = newBrowser();
      const link = url(
        'auth',
        `/oauth2/sign_in?return_to=${encodeURIComponent(url('app', '/linked?a=1'))}`,
      );
      const page = await browser.request(link, { headers: HTML });
      const r = await postPassword(browser, page, 'alice@example.com', PASSWORD);
      assert.equal(r.status, 200, r.body.slice(0, 300));
      assert.equal(r.url, url('app', '/linked?a=1'));
      assert.equal(whoUpstreamSaw(r), 'alice@example.com');
      assert.ok(cookieOf(browser, 'app', SESSION_COOKIE));
      // the same link, signed in on the public host already: the first hop, then single sign-on
      const hops: string[] = [];
      let next = link;
      for (let i = 0; i < 8; i++) {
        const u = new URL(next);
        hops.push(`${u.hostname}${u.pathname}`);
        const step = await browser.request(next, { follow: false, headers: HTML });
        const location = step.headers.get('location');
        if (!location) break;
        next = new URL(location, next).href;
      }
      assert.deepEqual(hops, [
        'auth.localhost/oauth2/sign_in',
        'app.localhost/.ztgate/sign_in',
        'auth.localhost/oauth2/sign_in',
        'app.localhost/.ztgate/callback',
        'app.localhost/linked',
      ]);
    });
  });
});
