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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';
import type { IdentityAuditEvent } from '../../src/identity/audit.js';
import { createIdentity, type Identity } from '../../src/identity/identity.js';
import { caFetch } from '../../src/identity/rp/ca-fetch.js';
import { SecretBox } from '../../src/identity/secret-box.js';
import { SESSION_COOKIE, sessionIdFromCookies } from '../../src/identity/session/cookie.js';
import { toDecisionFacts } from '../../src/identity/session/session-manager.js';
import { UserAdmin } from '../../src/identity/users.js';
import { buildEngine } from '../../src/pdp/index.js';
import type { IdentityPort } from '../../src/pep/ports.js';
import { startProxy, startUpstream, type Harness, type Upstream } from '../pep/helpers/harness.js';
import { tempStore, type TempStore } from './helpers/env.js';
import { postPassword } from './helpers/flows.js';
import {
  certificateFor,
  loopbackLookup,
  TestAgent,
  type AgentResponse,
} from './helpers/servers.js';

const PW = 'correct horse battery staple';
const HTML = { accept: 'text/html,application/xhtml+xml' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** What `ztgate serve` will wire: identity's sessions, sign-in URL and handoff as the proxy's port. */
function identityPort(identity: Identity): IdentityPort {
  return {
    async resolve(request) {
      const raw = sessionIdFromCookies(request.cookie);
      if (raw === undefined) return undefined;
      const lookup = await identity.sessions.lookup(raw, {
        certFingerprint: request.clientCertFingerprint,
      });
      if (!lookup.ok) return undefined;
      const facts = toDecisionFacts(lookup.session);
      return {
        user: facts.user,
        session: {
          id: facts.session.id,
          mfa: { methods: facts.session.mfa.methods, at: facts.session.mfa.at },
        },
        deviceId: lookup.session.record.deviceId ?? undefined,
        boundCertFingerprint: lookup.session.extras.certFingerprint ?? undefined,
      };
    },
    loginUrl: (returnUrl) => identity.auth.signInUrl(returnUrl),
    stepUpUrl: (returnUrl) => identity.auth.signInUrl(returnUrl),
    handoff: (request) => identity.handoff.callback(request),
    signOut: (request) => identity.handoff.signOut(request),
  };
}

describe('signing in on app hosts through the proxy (handoff)', { timeout: 60_000 }, () => {
  let env: TempStore;
  let up: Upstream;
  let proxy: Harness;
  let identity: Identity;
  let port = 0;
  const audit: IdentityAuditEvent[] = [];
  const tls = certificateFor(['auth.localhost', 'app.localhost', 'other.localhost']);
  const fetch = caFetch(tls.cert, { lookup: loopbackLookup });
  const agent = new TestAgent({ fetch, perHost: true });
  const url = (host: string, path: string) => `https://${host}.localhost:${port}${path}`;
  const sessionCookie = (host: string) =>
    agent.jar(`${host}.localhost:${port}`).get(SESSION_COOKIE)?.value;
  const fromUpstream = (r: AgentResponse) =>
    JSON.parse(r.body) as { url: string; headers: Record<string, string> };
  let ticketUrl = '';

  before(async () => {
    env = await tempStore();
    up = await startUpstream();
    port = await freePort();
    const { config } = loadConfigText(
      [
        `public_url: https://auth.localhost:${port}`,
        `data_dir: ${env.dataDir}`,
        'session: {ttl: 8h, idle: 1h, revalidate: 15m}',
        'policies:',
        '  engineering: {allow: [{groups: [engineering]}]}',
        'routes:',
        `  - {from: 'https://app.localhost:${port}', to: '${up.url}', policy: engineering}`,
        `  - {from: 'https://other.localhost:${port}', to: '${up.url}', policy: engineering}`,
        '',
      ].join('\n'),
      join(env.dir, 'ztgate.yaml'),
    );
    identity = await createIdentity({
      config,
      store: env.store,
      box: SecretBox.random(),
      audit: (e) => void audit.push(e),
      fetch,
    });
    await new UserAdmin({ users: env.store.users }).add({
      email: 'alice@example.com',
      groups: ['engineering'],
      password: PW,
    });
    const { engine, problems } = buildEngine(config, () => undefined);
    assert.deepEqual(
      problems.filter((p) => p.severity === 'error'),
      [],
    );
    proxy = await startProxy(engine, {
      publicUrl: `https://auth.localhost:${port}`,
      tls: { cert: tls.cert, key: tls.key },
      listen: { host: '127.0.0.1', port },
      identity: identityPort(identity),
      publicHandler: (req, res) => {
        const r = res as ServerResponse;
        identity.handle(req as IncomingMessage, r).then(
          (handled) => {
            if (!handled) r.writeHead(404).end();
          },
          () => {
            if (!r.headersSent) r.writeHead(500);
            r.end();
          },
        );
      },
    });
  });
  after(async () => {
    await proxy?.close();
    await up?.close();
    await env?.cleanup();
  });

  it('signs in from an app host and comes back to it with a cookie of its own', async () => {
    const page = await agent.request(url('app', '/hello?x=1'), { headers: HTML });
    assert.equal(new URL(page.url).host, `auth.localhost:${port}`, 'the sign-in page');
    assert.match(page.body, /Sign in/);
    const r = await postPassword(agent, page, 'alice@example.com', PW);
    assert.equal(r.status, 200, r.body.slice(0, 500));
    assert.equal(r.url, url('app', '/hello?x=1'));
    const seen = fromUpstream(r);
    assert.equal(seen.url, '/hello?x=1');
    assert.ok(seen.headers['x-ztgate-jwt-assertion'], 'the upstream got the signed identity');
    const raw = sessionCookie('app');
    assert.ok(raw, 'the app host has its own session cookie');
    assert.equal(sessionCookie('auth'), raw, 'the same session as on the public host');
    for (const s of up.seen) {
      assert.ok(!s.url.toLowerCase().includes('ztgate'), `the upstream saw ${s.url}`);
      assert.ok(!(s.headers.cookie ?? '').includes(SESSION_COOKIE));
    }
    assert.ok(audit.some((e) => e.action === 'session.handoff_redeemed'));
  });

  it('the second app signs in without the IdP (single sign-on)', async () => {
    const logins = audit.filter((e) => e.action === 'login.succeeded').length;
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
      `other.localhost:${port}/reports`,
      `auth.localhost:${port}/oauth2/sign_in`,
      `other.localhost:${port}/.ztgate/callback`,
      `other.localhost:${port}/reports`,
    ]);
    assert.equal(sessionCookie('other'), sessionCookie('auth'));
    assert.equal(audit.filter((e) => e.action === 'login.succeeded').length, logins);
  });

  it('a used ticket is refused with a page that says what to do', async () => {
    assert.ok(ticketUrl);
    const r = await new TestAgent({ fetch, perHost: true }).request(ticketUrl, { headers: HTML });
    assert.equal(r.status, 400);
    assert.match(r.body, /already used or has expired/);
    assert.match(r.body, /ZT_IDENTITY_HANDOFF_REPLAYED/);
    assert.equal(
      audit.findLast((e) => e.action === 'session.handoff_refused')?.details?.reason,
      'replayed',
    );
  });

  it('signing out on an app host ends the session on every host', async () => {
    const raw = sessionCookie('app');
    const out = await agent.request(url('app', '/.ztgate/sign_out'), { follow: false });
    assert.equal(out.status, 302);
    assert.equal(out.headers.get('location'), url('auth', '/oauth2/sign_out'));
    assert.equal(sessionCookie('app'), undefined, 'the app host’s cookie is cleared');
    assert.equal((await identity.sessions.lookup(raw)).ok, false, 'the session is ended');
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
