/**
 * Sign-in handoff to route hosts: one-time sealed tickets (host-bound, 60 s, single use across
 * replicas, bound to the browser's nonce cookie, refused when forged, malformed or when the session
 * ended), and the relying party's use of them: `/oauth2/callback` and the step-up return hand the
 * session over to a route host, `/oauth2/sign_in` for a route host with a valid session skips the
 * IdP (single sign-on), and a sign-in without a commitment goes through the route host's
 * `/.ztgate/sign_in` instead of getting a ticket.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createAuthHandler, type AuthHandler } from '../../src/identity/rp/auth-handler.js';
import { externalUserId } from '../../src/identity/rp/provision.js';
import { RelyingParty } from '../../src/identity/rp/relying-party.js';
import { SecretBox } from '../../src/identity/secret-box.js';
import { SESSION_COOKIE, sessionIdFromCookies } from '../../src/identity/session/cookie.js';
import {
  HANDOFF_CALLBACK_PATH,
  HANDOFF_START_PATH,
  HANDOFF_TTL_MS,
  handoffCommitment,
  SessionHandoff,
} from '../../src/identity/session/handoff.js';
import { SessionManager } from '../../src/identity/session/session-manager.js';
import type { IdentityAuditEvent } from '../../src/identity/audit.js';
import { ZtError } from '../../src/shared/errors.js';
import { hashSessionId } from '../../src/store/store.js';
import { startExternalIdp, type ExternalIdp } from './helpers/external-idp.js';
import { startServer, TestAgent, testFetch, type TestServer } from './helpers/servers.js';
import { auditCollector, TestClock, tempStore, type TempStore } from './helpers/env.js';

const FP = 'cd'.repeat(32);
const HOUR = 3_600_000;
const POLICY = { ttlMs: 8 * HOUR, idleMs: HOUR, revalidateMs: 15 * 60_000 };
/** The nonce cookie of "this browser" on the route host, and the commitment the proxy sends. */
const NONCE = 'n'.repeat(43);
const BOUND = handoffCommitment(NONCE);
/** Another browser's nonce. */
const OTHER_NONCE = 'o'.repeat(43);

/** The ticket of a handoff URL. */
function ticketOf(url: string): string {
  return new URL(url).searchParams.get('ticket') ?? '';
}

/** Asserts that `p` rejects with a ZtError of `code`. */
async function refused(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ZtError, String(e));
    assert.equal(e.code, code);
    return true;
  });
}

describe('handoff tickets', () => {
  let env: TempStore;
  const clock = new TestClock();
  const audit = auditCollector();
  const box = SecretBox.random();
  let sessions: SessionManager;
  let handoff: SessionHandoff;

  before(async () => {
    env = await tempStore();
    await env.store.users.create({ id: 'u1', email: 'u1@example.com', groups: [], at: clock.t });
    sessions = new SessionManager({
      sessions: env.store.sessions,
      users: env.store.users,
      settings: env.store.settings,
      box,
      policy: POLICY,
      now: clock.now,
      audit: audit.sink,
    });
    handoff = new SessionHandoff({
      sessions,
      settings: env.store.settings,
      box,
      publicUrl: 'https://auth.example.com:8443',
      now: clock.now,
      audit: audit.sink,
    });
  });
  after(() => env.cleanup());

  const signedIn = (extra: { certFingerprint?: string } = {}) =>
    sessions.create({ userId: 'u1', ...extra });
  const issue = (rawSessionId: string, returnUrl = 'https://app.example.com:8443/x/y?q=1&r=%2F') =>
    handoff.issue({
      rawSessionId,
      returnUrl,
      maxAgeSeconds: POLICY.ttlMs / 1000,
      commitment: BOUND,
      userId: 'u1',
    });

  it('hands a session over to the return URL’s host, once, with the same cookie', async () => {
    const s = await signedIn();
    const url = issue(s.rawId);
    const u = new URL(url);
    assert.equal(u.origin, 'https://app.example.com:8443');
    assert.equal(u.pathname, HANDOFF_CALLBACK_PATH);
    assert.deepEqual([...u.searchParams.keys()], ['ticket']);
    const ticket = ticketOf(url);
    assert.match(ticket, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.ok(!url.includes(s.rawId), 'the session id is sealed, not readable in the URL');

    clock.advance(1000);
    const r = await handoff.redeem({
      nonce: NONCE,
      host: 'app.example.com:8443',
      ticket,
      sourceIp: '192.0.2.7',
    });
    assert.equal(r.rawSessionId, s.rawId);
    assert.equal(r.session.idHash, s.idHash);
    assert.equal(r.location, 'https://app.example.com:8443/x/y?q=1&r=%2F');
    const maxAge = Number(/Max-Age=(\d+)/.exec(r.setCookie)?.[1]);
    assert.ok(maxAge > 0 && maxAge <= POLICY.ttlMs / 1000 - 1, `Max-Age ${maxAge}`);
    assert.equal(
      r.setCookie,
      `${SESSION_COOKIE}=${s.rawId}; Path=/; Max-Age=${maxAge}; Secure; HttpOnly; SameSite=Lax`,
    );

    const actions = audit.events.map((e) => e.action);
    assert.ok(actions.includes('session.handoff_issued'));
    const redeemed = audit.events.findLast((e) => e.action === 'session.handoff_redeemed');
    assert.equal(redeemed?.actor?.user, 'u1');
    assert.equal(redeemed?.source_ip, '192.0.2.7');
    assert.equal(redeemed?.details?.host, 'app.example.com:8443');
    const text = JSON.stringify(audit.events);
    assert.ok(!text.includes(s.rawId) && !text.includes(ticket), 'no secret in the audit events');
  });

  it('caps the cookie at the session’s remaining life', async () => {
    const s = await signedIn();
    const url = handoff.issue({
      rawSessionId: s.rawId,
      returnUrl: 'https://app.example.com/',
      maxAgeSeconds: 10 * POLICY.ttlMs,
      commitment: BOUND,
    });
    clock.advance(30_000);
    const r = await handoff.redeem({
      nonce: NONCE,
      host: 'app.example.com',
      ticket: ticketOf(url),
    });
    assert.match(r.setCookie, new RegExp(`Max-Age=${POLICY.ttlMs / 1000 - 30};`));
  });

  it('refuses a ticket on another host, and it still works on its own', async () => {
    const s = await signedIn();
    const ticket = ticketOf(issue(s.rawId));
    for (const host of ['other.example.com:8443', 'app.example.com', 'app.example.com:8444']) {
      await refused(handoff.redeem({ nonce: NONCE, host, ticket }), 'ZT_IDENTITY_HANDOFF_INVALID');
    }
    assert.equal(
      audit.events.findLast((e) => e.action === 'session.handoff_refused')?.details?.reason,
      'other-host',
    );
    // the host as the proxy sees it: any case, `:443` and a trailing dot are the same host
    const t443 = ticketOf(issue(s.rawId, 'https://App.Example.com:443/'));
    assert.equal(
      (await handoff.redeem({ nonce: NONCE, host: 'APP.example.com.', ticket: t443 })).rawSessionId,
      s.rawId,
    );
    const r = await handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket });
    assert.equal(r.rawSessionId, s.rawId);
  });

  it('refuses a ticket after 60 seconds', async () => {
    const s = await signedIn();
    const late = ticketOf(issue(s.rawId));
    const justInTime = ticketOf(issue(s.rawId));
    clock.advance(HANDOFF_TTL_MS - 1);
    await handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket: justInTime });
    clock.advance(1);
    await refused(
      handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket: late }),
      'ZT_IDENTITY_HANDOFF_EXPIRED',
    );
  });

  it('refuses a ticket used before, on this replica or another', async () => {
    const s = await signedIn();
    const ticket = ticketOf(issue(s.rawId));
    await handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket });
    await refused(
      handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket }),
      'ZT_IDENTITY_HANDOFF_REPLAYED',
    );
    // another replica: its own SessionManager and handoff over the same store and key
    const replica = new SessionHandoff({
      sessions: new SessionManager({
        sessions: env.store.sessions,
        users: env.store.users,
        settings: env.store.settings,
        box,
        policy: POLICY,
        now: clock.now,
      }),
      settings: env.store.settings,
      box,
      publicUrl: 'https://auth.example.com:8443',
      now: clock.now,
    });
    await refused(
      replica.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket }),
      'ZT_IDENTITY_HANDOFF_REPLAYED',
    );
    // two replicas racing on one fresh ticket: exactly one wins
    const fresh = ticketOf(issue(s.rawId));
    const results = await Promise.allSettled([
      handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket: fresh }),
      replica.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket: fresh }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });

  it('refuses forged and tampered tickets', async () => {
    const s = await signedIn();
    const ticket = ticketOf(issue(s.rawId));
    const [v, nonce, body] = ticket.split('.') as [string, string, string];
    const flipped = `${body.slice(0, 10)}${body[10] === 'A' ? 'B' : 'A'}${body.slice(11)}`;
    const otherBox = SecretBox.random();
    const forged = [
      `${v}.${nonce}.${flipped}`,
      `${v}.${nonce.slice(0, -1)}${nonce.endsWith('A') ? 'B' : 'A'}.${body}`,
      // sealed by another installation's key
      otherBox.seal(JSON.stringify({ v: 1, sid: s.rawId }), 'ztgate/identity/handoff-ticket/v1'),
      // sealed by this key, for another purpose (a session's extras record)
      box.seal(JSON.stringify({ v: 1, sid: s.rawId }), `identity/session/${s.idHash}`),
    ];
    for (const t of forged) {
      await refused(
        handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket: t }),
        'ZT_IDENTITY_HANDOFF_INVALID',
      );
    }
    // none of these spent the genuine ticket
    assert.equal(
      (await handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket })).rawSessionId,
      s.rawId,
    );
  });

  it('redeems a ticket only with the nonce cookie of the browser that started the sign-in', async () => {
    const s = await signedIn();
    const ticket = ticketOf(issue(s.rawId));
    const host = 'app.example.com:8443';
    const lastRefusal = () =>
      audit.events.findLast((e) => e.action === 'session.handoff_refused')?.details?.reason;
    // no cookie at all: a browser that never started a sign-in on this host (the victim of login CSRF)
    await refused(handoff.redeem({ host, ticket }), 'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH');
    assert.equal(lastRefusal(), 'browser-missing');
    // a malformed cookie counts as none
    await refused(
      handoff.redeem({ host, ticket, nonce: 'short' }),
      'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH',
    );
    assert.equal(lastRefusal(), 'browser-missing');
    // another browser's nonce (it started a sign-in of its own on this host)
    await refused(
      handoff.redeem({ host, ticket, nonce: OTHER_NONCE }),
      'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH',
    );
    assert.equal(lastRefusal(), 'browser-mismatch');
    // the commitment itself in the cookie (it is in URLs; the nonce never is)
    await refused(
      handoff.redeem({ host, ticket, nonce: BOUND }),
      'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH',
    );
    const refusal = audit.events.findLast((e) => e.action === 'session.handoff_refused');
    assert.equal(refusal?.resource, `session:${s.idHash.slice(0, 16)}`);
    assert.ok(!JSON.stringify(audit.events).includes(NONCE), 'no nonce in the audit events');
    // none of these spent it: the browser it belongs to still signs in with it
    const r = await handoff.redeem({ host, ticket, nonce: NONCE });
    assert.equal(r.rawSessionId, s.rawId);
    // once used, it is "already used" wherever it is opened (the proxy clears the nonce on success,
    // so a reload of the callback page comes without one)
    for (const nonce of [undefined, OTHER_NONCE, NONCE]) {
      await refused(handoff.redeem({ host, ticket, nonce }), 'ZT_IDENTITY_HANDOFF_REPLAYED');
    }
  });

  it('binds a ticket to the commitment it was issued with, which cannot be changed', async () => {
    const s = await signedIn();
    // an attacker who chose the commitment (their own nonce) gets a ticket only their browser redeems
    const attackers = handoff.issue({
      rawSessionId: s.rawId,
      returnUrl: 'https://app.example.com/',
      maxAgeSeconds: 60,
      commitment: handoffCommitment(OTHER_NONCE),
    });
    await refused(
      handoff.redeem({ host: 'app.example.com', ticket: ticketOf(attackers), nonce: NONCE }),
      'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH',
    );
    // a ticket without a binding, sealed with this key (as version 1 tickets were): unreadable
    const unbound = box.seal(
      JSON.stringify({
        v: 1,
        sid: s.rawId,
        host: 'app.example.com',
        path: '/',
        exp: clock.now() + 60_000,
        jti: 'A'.repeat(22),
        max: 60,
      }),
      'ztgate/identity/handoff-ticket/v1',
    );
    await refused(
      handoff.redeem({ host: 'app.example.com', ticket: unbound, nonce: NONCE }),
      'ZT_IDENTITY_HANDOFF_INVALID',
    );
    // nor is one issued without a well-formed commitment
    for (const commitment of ['', 'x', `${BOUND}=`]) {
      assert.throws(
        () =>
          handoff.issue({
            rawSessionId: s.rawId,
            returnUrl: 'https://app.example.com/',
            maxAgeSeconds: 60,
            commitment,
          }),
        TypeError,
      );
    }
    // the start URL for a sign-in without one: the route host's `/.ztgate/sign_in`, no ticket
    const start = new URL(handoff.startUrl('https://App.example.com:443/x?y=1'));
    assert.equal(start.origin, 'https://app.example.com');
    assert.equal(start.pathname, HANDOFF_START_PATH);
    assert.equal(start.searchParams.get('return_to'), 'https://app.example.com/x?y=1');
    assert.equal(start.searchParams.get('ticket'), null);
  });

  it('refuses malformed and oversized input without trying to open it', async () => {
    for (const ticket of ['', 'x', 'v1.a.b', 'v1..', `v1.${'A'.repeat(16)}.${'A'.repeat(5000)}`]) {
      await refused(
        handoff.redeem({ nonce: NONCE, host: 'app.example.com', ticket }),
        'ZT_IDENTITY_HANDOFF_INVALID',
      );
    }
    await refused(
      handoff.redeem({ nonce: NONCE, host: `${'a'.repeat(300)}.example.com`, ticket: 'v1.a.b' }),
      'ZT_IDENTITY_HANDOFF_INVALID',
    );
    const s = await signedIn();
    const ticket = ticketOf(issue(s.rawId));
    const callback = (query: string) =>
      handoff.callback({
        host: 'app.example.com:8443',
        query,
        sourceIp: '192.0.2.1',
        clientCertFingerprint: undefined,
        nonce: NONCE,
      });
    for (const query of ['', 'ticket=', 'other=1', `ticket=${ticket}&ticket=${ticket}`]) {
      await refused(callback(query), 'ZT_IDENTITY_HANDOFF_INVALID');
    }
    await refused(
      callback(`ticket=${ticket}&pad=${'x'.repeat(9000)}`),
      'ZT_IDENTITY_HANDOFF_INVALID',
    );
    // and the genuine one still works through callback()
    const r = await callback(`ticket=${ticket}`);
    assert.equal(r.location, 'https://app.example.com:8443/x/y?q=1&r=%2F');
    assert.deepEqual(r.setCookies.length, 1);
    assert.equal(sessionIdFromCookies(r.setCookies[0]?.split(';')[0]), s.rawId);
  });

  it('refuses a ticket whose session ended, or whose device certificate is missing', async () => {
    const s = await signedIn();
    const ticket = ticketOf(issue(s.rawId));
    await sessions.revoke(s.idHash, 'test');
    await refused(
      handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket }),
      'ZT_IDENTITY_SESSION_INVALID',
    );
    assert.equal(
      audit.events.findLast((e) => e.action === 'session.handoff_refused')?.details?.reason,
      'session-revoked',
    );

    const bound = await signedIn({ certFingerprint: FP });
    const t2 = ticketOf(issue(bound.rawId));
    await refused(
      handoff.redeem({ nonce: NONCE, host: 'app.example.com:8443', ticket: t2 }),
      'ZT_IDENTITY_SESSION_DEVICE_MISMATCH',
    );
    await refused(
      handoff.redeem({
        nonce: NONCE,
        host: 'app.example.com:8443',
        ticket: t2,
        certFingerprint: 'ab'.repeat(32),
      }),
      'ZT_IDENTITY_SESSION_DEVICE_MISMATCH',
    );
    const r = await handoff.redeem({
      nonce: NONCE,
      host: 'app.example.com:8443',
      ticket: t2,
      certFingerprint: FP,
    });
    assert.equal(r.rawSessionId, bound.rawId);
  });

  it('always sends the browser to the host that redeemed the ticket', async () => {
    const s = await signedIn();
    const url = issue(s.rawId, 'https://app.example.com//evil.example/path?x=1');
    const r = await handoff.redeem({
      nonce: NONCE,
      host: 'app.example.com',
      ticket: ticketOf(url),
    });
    assert.equal(new URL(r.location).host, 'app.example.com');
    assert.equal(r.location, 'https://app.example.com//evil.example/path?x=1');
    assert.throws(
      () =>
        handoff.issue({
          rawSessionId: s.rawId,
          returnUrl: 'http://app.example.com/',
          maxAgeSeconds: 60,
          commitment: BOUND,
        }),
      /ZT_IDENTITY_RETURN_URL_REFUSED|return URL/,
    );
  });

  it('signs a route host out: ends its session, clears its cookie, continues on the public host', async () => {
    const s = await signedIn();
    const r = await handoff.signOut({
      host: 'app.example.com',
      cookie: `a=b; ${SESSION_COOKIE}=${s.rawId}`,
      sourceIp: '192.0.2.1',
      clientCertFingerprint: undefined,
    });
    assert.equal(r.location, 'https://auth.example.com:8443/oauth2/sign_out');
    assert.deepEqual(r.setCookies, [
      `${SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`,
    ]);
    assert.equal((await sessions.lookup(s.rawId)).ok, false);
  });

  it('sweeps used tickets once they can no longer be redeemed', async () => {
    const s = await signedIn();
    await handoff.redeem({
      nonce: NONCE,
      host: 'app.example.com:8443',
      ticket: ticketOf(issue(s.rawId)),
    });
    const used = async () => (await env.store.settings.list('identity/handoff/')).size;
    assert.ok((await used()) > 0);
    assert.equal(await handoff.sweep(), 0, 'kept while a slow replica could still accept it');
    clock.advance(HANDOFF_TTL_MS + 10 * 60_000);
    const n = await used();
    assert.equal(await handoff.sweep(), n);
    assert.equal(await used(), 0);
  });
});

const SECRET = 'external client secret for the handoff tests';

describe('sign-in through a handoff to route hosts', () => {
  let env: TempStore;
  let ztgate: TestServer;
  let ext: ExternalIdp;
  let sessions: SessionManager;
  let handoff: SessionHandoff;
  let auth: AuthHandler;
  const clock = new TestClock(Date.now());
  const audit: IdentityAuditEvent[] = [];
  const box = SecretBox.random();

  before(async () => {
    env = await tempStore();
    ztgate = await startServer();
    ext = await startExternalIdp({
      clientId: 'ztgate-handoff',
      clientSecret: SECRET,
      redirectUri: `${ztgate.origin}/oauth2/callback`,
      postLogoutRedirectUri: `${ztgate.origin}/oauth2/signed-out`,
      backchannelLogoutUri: `${ztgate.origin}/oauth2/backchannel-logout`,
    });
    ext.accounts.set('ext-alice', { email: 'alice@corp.example', groups: ['engineering'] });
    sessions = new SessionManager({
      sessions: env.store.sessions,
      users: env.store.users,
      settings: env.store.settings,
      box,
      policy: POLICY,
      now: clock.now,
      audit: (e) => void audit.push(e),
    });
    handoff = new SessionHandoff({
      sessions,
      settings: env.store.settings,
      box,
      publicUrl: ztgate.origin,
      now: clock.now,
      audit: (e) => void audit.push(e),
    });
    const rp = await RelyingParty.discover({
      issuer: ext.issuer,
      clientId: 'ztgate-handoff',
      clientSecret: SECRET,
      redirectUri: `${ztgate.origin}/oauth2/callback`,
      postLogoutRedirectUri: `${ztgate.origin}/oauth2/signed-out`,
      scopes: ['openid', 'email', 'profile', 'groups'],
      groupsClaim: 'groups',
      settings: env.store.settings,
      box,
      fetch: testFetch(),
    });
    auth = createAuthHandler({
      rp,
      kind: 'external',
      sessions,
      users: env.store.users,
      publicUrl: ztgate.origin,
      returnUrls: {
        publicUrl: ztgate.origin,
        allowedHosts: ['app.example.com', 'other.example.com:8443'],
      },
      now: clock.now,
      audit: (e) => void audit.push(e),
      // the tests say which device certificate a request came with
      certFingerprint: (req) => {
        const fp = req.headers['x-test-cert'];
        return typeof fp === 'string' ? fp : undefined;
      },
      handoff,
    });
    ztgate.setHandler(async (req: IncomingMessage, res: ServerResponse) => {
      if (await auth.handle(req, res)) return;
      const url = new URL(req.url ?? '/', ztgate.origin);
      // a stand-in for the proxy's step-up redirect of a route host's request
      if (url.pathname === '/test/step-up') {
        const lookup = await sessions.lookup(sessionIdFromCookies(req.headers.cookie));
        assert.ok(lookup.ok);
        const r = await auth.stepUpRedirect(
          req,
          lookup.session,
          { max_age: 300 },
          url.searchParams.get('return_to') ?? '',
          { handoff: url.searchParams.get('handoff') },
        );
        res.writeHead(302, { location: r.location, 'set-cookie': [...r.setCookies] }).end();
        return;
      }
      res.writeHead(404).end();
    });
  });
  after(async () => {
    await ztgate.close();
    await ext.close();
    await env.cleanup();
  });

  /** `sign_in` as the proxy sends a browser there: with the commitment to its nonce cookie. */
  const signIn = (returnTo: string, handoffParam: string | null = BOUND) =>
    `${ztgate.origin}/oauth2/sign_in?return_to=${encodeURIComponent(returnTo)}${handoffParam !== null ? `&handoff=${handoffParam}` : ''}`;

  /** Follows redirects from `start` up to ztgate's callback URL, and returns the callback's answer. */
  const throughIdp = async (agent: TestAgent, start: string) => {
    let url = start;
    for (let i = 0; i < 10; i++) {
      const r = await agent.request(url, { follow: false });
      const location = r.headers.get('location');
      assert.ok(location, `no redirect from ${url}: ${r.status} ${r.body.slice(0, 300)}`);
      url = new URL(location, url).href;
      if (url.startsWith(`${ztgate.origin}/oauth2/callback`)) {
        return agent.request(url, { follow: false });
      }
    }
    throw new Error('no callback');
  };

  it('a sign-in for a route host comes back through a one-time handoff ticket', async () => {
    const agent = new TestAgent();
    ext.next = { sub: 'ext-alice', amr: ['pwd'] };
    const r = await throughIdp(agent, signIn('https://app.example.com/docs?page=2'));
    assert.equal(r.status, 302);
    const location = r.headers.get('location') ?? '';
    assert.ok(location.startsWith(`https://app.example.com${HANDOFF_CALLBACK_PATH}?ticket=`));
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    // the public host has its cookie too (for the next app: single sign-on)
    const raw = agent.cookies.get(SESSION_COOKIE)?.value;
    assert.ok(raw);
    clock.advance(500);
    const redeemed = await handoff.redeem({
      host: 'app.example.com',
      ticket: ticketOf(location),
      nonce: NONCE,
    });
    assert.equal(redeemed.rawSessionId, raw);
    assert.equal(redeemed.location, 'https://app.example.com/docs?page=2');
    assert.equal(redeemed.session.user.id, externalUserId(ext.issuer, 'ext-alice'));
  });

  it('a sign-in for the public host itself goes straight back, as before', async () => {
    const agent = new TestAgent();
    ext.next = { sub: 'ext-alice', amr: ['pwd'] };
    const r = await throughIdp(agent, signIn('/portal'));
    assert.equal(r.headers.get('location'), `${ztgate.origin}/portal`);
  });

  it('sign_in for another app with a valid session skips the IdP (single sign-on)', async () => {
    const agent = new TestAgent();
    ext.next = { sub: 'ext-alice', amr: ['pwd'] };
    await throughIdp(agent, signIn('https://app.example.com/'));
    const raw = agent.cookies.get(SESSION_COOKIE)?.value;
    const issued = audit.filter((e) => e.action === 'session.handoff_issued').length;
    const r = await agent.request(signIn('https://other.example.com:8443/reports?x=1'), {
      follow: false,
    });
    assert.equal(r.status, 302);
    const location = r.headers.get('location') ?? '';
    assert.ok(location.startsWith(`https://other.example.com:8443${HANDOFF_CALLBACK_PATH}?`));
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(r.headers.getSetCookie().length, 0, 'no new sign-in state, no new session');
    assert.equal(audit.filter((e) => e.action === 'session.handoff_issued').length, issued + 1);
    const redeemed = await handoff.redeem({
      host: 'other.example.com:8443',
      ticket: ticketOf(location),
      nonce: NONCE,
    });
    assert.equal(redeemed.rawSessionId, raw);
    assert.equal(redeemed.location, 'https://other.example.com:8443/reports?x=1');

    // refused return URLs are still refused, signed in or not
    const evil = await agent.request(signIn('https://evil.example/'), { follow: false });
    assert.equal(evil.status, 400);
    // without a valid session: the IdP, as before
    await sessions.revoke(hashSessionId(raw ?? ''), 'test');
    const again = await agent.request(signIn('https://app.example.com/'), { follow: false });
    assert.equal(new URL(again.headers.get('location') ?? '').origin, ext.issuer);
    const stranger = await new TestAgent().request(signIn('https://app.example.com/'), {
      follow: false,
    });
    assert.equal(new URL(stranger.headers.get('location') ?? '').origin, ext.issuer);
  });

  it('single sign-on keeps a session bound to a device certificate on that device', async () => {
    const user = await env.store.users.getByEmail('alice@corp.example');
    assert.ok(user);
    const bound = await sessions.create({ userId: user.id, certFingerprint: FP });
    const agent = new TestAgent();
    agent.cookies.set(SESSION_COOKIE, { value: bound.rawId, path: '/' });
    const without = await agent.request(signIn('https://app.example.com/'), { follow: false });
    assert.equal(new URL(without.headers.get('location') ?? '').origin, ext.issuer);
    const withCert = await agent.request(signIn('https://app.example.com/'), {
      follow: false,
      headers: { 'x-test-cert': FP },
    });
    const location = withCert.headers.get('location') ?? '';
    assert.ok(location.startsWith(`https://app.example.com${HANDOFF_CALLBACK_PATH}?`));
    await refused(
      handoff.redeem({ host: 'app.example.com', ticket: ticketOf(location), nonce: NONCE }),
      'ZT_IDENTITY_SESSION_DEVICE_MISMATCH',
    );
  });

  it('a step-up for a route host hands the rotated session over', async () => {
    const agent = new TestAgent();
    ext.next = { sub: 'ext-alice', amr: ['pwd'] };
    await throughIdp(agent, signIn('https://app.example.com/'));
    const before = agent.cookies.get(SESSION_COOKIE)?.value;
    ext.next = { sub: 'ext-alice', amr: ['pwd', 'otp'] };
    const r = await throughIdp(
      agent,
      `${ztgate.origin}/test/step-up?return_to=${encodeURIComponent('https://app.example.com/admin')}&handoff=${BOUND}`,
    );
    assert.equal(r.status, 302, r.body);
    const after = agent.cookies.get(SESSION_COOKIE)?.value;
    assert.ok(after && after !== before, 'the public host has the new id');
    const location = r.headers.get('location') ?? '';
    assert.ok(location.startsWith(`https://app.example.com${HANDOFF_CALLBACK_PATH}?`), location);
    const redeemed = await handoff.redeem({
      host: 'app.example.com',
      ticket: ticketOf(location),
      nonce: NONCE,
    });
    assert.equal(redeemed.rawSessionId, after, 'the route host gets the new id');
    assert.ok(redeemed.session.record.mfaMethods.includes('totp'));
    assert.equal(redeemed.location, 'https://app.example.com/admin');
    assert.equal((await sessions.lookup(before)).ok, false, 'the old id is revoked');
  });

  it('a sign-in link without a commitment goes through the route host’s /.ztgate/sign_in, not a ticket', async () => {
    const startOf = (location: string) => {
      const u = new URL(location);
      assert.equal(u.pathname, HANDOFF_START_PATH, location);
      assert.equal(u.searchParams.get('ticket'), null);
      return u;
    };
    // through the IdP: the public host gets its session, the route host no ticket
    const agent = new TestAgent();
    ext.next = { sub: 'ext-alice', amr: ['pwd'] };
    const issued = audit.filter((e) => e.action === 'session.handoff_issued').length;
    const r = await throughIdp(agent, signIn('https://app.example.com/docs?page=2', null));
    assert.equal(r.status, 302);
    const start = startOf(r.headers.get('location') ?? '');
    assert.equal(start.origin, 'https://app.example.com');
    assert.equal(start.searchParams.get('return_to'), 'https://app.example.com/docs?page=2');
    assert.ok(agent.cookies.get(SESSION_COOKIE)?.value, 'signed in on the public host');
    assert.equal(audit.filter((e) => e.action === 'session.handoff_issued').length, issued);
    // single sign-on without one (or with a malformed one): the same
    for (const bad of [null, '', 'x', `${BOUND.slice(1)}%00`]) {
      const sso = await agent.request(signIn('https://other.example.com:8443/r', bad), {
        follow: false,
      });
      assert.equal(sso.status, 302);
      assert.equal(
        startOf(sso.headers.get('location') ?? '').origin,
        'https://other.example.com:8443',
      );
    }
    assert.equal(audit.filter((e) => e.action === 'session.handoff_issued').length, issued);
    // ... which comes back with a commitment: now a ticket, bound to it
    const bound = await agent.request(signIn('https://other.example.com:8443/r'), {
      follow: false,
    });
    const location = bound.headers.get('location') ?? '';
    assert.ok(location.startsWith(`https://other.example.com:8443${HANDOFF_CALLBACK_PATH}?`));
    await refused(
      handoff.redeem({ host: 'other.example.com:8443', ticket: ticketOf(location) }),
      'ZT_IDENTITY_HANDOFF_BROWSER_MISMATCH',
    );
    const ok = await handoff.redeem({
      host: 'other.example.com:8443',
      ticket: ticketOf(location),
      nonce: NONCE,
    });
    assert.equal(ok.location, 'https://other.example.com:8443/r');
  });
});
