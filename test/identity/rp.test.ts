/**
 * The relying party against a SEPARATE oidc-provider (in the role of Okta or Keycloak) and against
 * a hostile provider: code flow with PKCE/state/nonce, groups mapping, ID token validation, JWKS
 * rotation, RP-initiated and back-channel logout, revalidation, step-up with auth_time and amr.
 */
import assert from 'node:assert/strict';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { createAuthHandler, type AuthHandler } from '../../src/identity/rp/auth-handler.js';
import { externalUserId } from '../../src/identity/rp/provision.js';
import { claimAt, groupsFrom, RelyingParty } from '../../src/identity/rp/relying-party.js';
import { SecretBox } from '../../src/identity/secret-box.js';
import { SESSION_COOKIE } from '../../src/identity/session/cookie.js';
import { SessionManager } from '../../src/identity/session/session-manager.js';
import { UserAdmin } from '../../src/identity/users.js';
import type { IdentityAuditEvent } from '../../src/identity/audit.js';
import { startExternalIdp, type ExternalIdp } from './helpers/external-idp.js';
import { startFakeIdp, type FakeIdp, type TokenContext } from './helpers/fake-idp.js';
import { appInfo, decodeJwt } from './helpers/flows.js';
import { startServer, TestAgent, testFetch, type TestServer } from './helpers/servers.js';
import { createApp } from './helpers/stack.js';
import { TestClock, tempStore, type TempStore } from './helpers/env.js';

const SECRET = 'external client secret for the tests';

describe('relying party with an external OIDC provider', () => {
  let env: TempStore;
  let ztgate: TestServer;
  let ext: ExternalIdp;
  let fake: FakeIdp;
  let sessions: SessionManager;
  let auth: AuthHandler;
  let active: AuthHandler;
  const clock = new TestClock(Date.now());
  const audit: IdentityAuditEvent[] = [];
  const box = SecretBox.random();
  const handlers: Record<string, AuthHandler> = {};

  const makeAuth = async (
    issuer: string,
    clientId: string,
    groupsClaim = 'groups',
  ): Promise<AuthHandler> => {
    const rp = await RelyingParty.discover({
      issuer,
      clientId,
      clientSecret: SECRET,
      redirectUri: `${ztgate.origin}/oauth2/callback`,
      postLogoutRedirectUri: `${ztgate.origin}/oauth2/signed-out`,
      scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
      groupsClaim,
      settings: env.store.settings,
      box,
      fetch: testFetch(),
      audit: (e) => void audit.push(e),
    });
    if (issuer === ext.issuer && groupsClaim === 'groups') sessions.setRevalidator(rp.revalidator);
    return createAuthHandler({
      rp,
      kind: 'external',
      sessions,
      users: env.store.users,
      publicUrl: ztgate.origin,
      returnUrls: { publicUrl: ztgate.origin, allowedHosts: ['app.example.com'] },
      audit: (e) => void audit.push(e),
    });
  };

  before(async () => {
    env = await tempStore();
    ztgate = await startServer();
    const client = {
      clientId: 'ztgate-ext',
      clientSecret: SECRET,
      redirectUri: `${ztgate.origin}/oauth2/callback`,
      postLogoutRedirectUri: `${ztgate.origin}/oauth2/signed-out`,
      backchannelLogoutUri: `${ztgate.origin}/oauth2/backchannel-logout`,
    };
    ext = await startExternalIdp(client);
    fake = await startFakeIdp('ztgate-fake');
    ext.accounts.set('ext-alice', {
      email: 'alice@corp.example',
      groups: ['engineering', 'Everyone'],
    });
    ext.accounts.set('ext-bob', { email: 'bob@corp.example', groups: ['sales'] });
    sessions = new SessionManager({
      sessions: env.store.sessions,
      users: env.store.users,
      settings: env.store.settings,
      box,
      policy: { ttlMs: 8 * 3_600_000, idleMs: 3_600_000, revalidateMs: 15 * 60_000 },
      now: clock.now,
      audit: (e) => void audit.push(e),
    });
    auth = await makeAuth(ext.issuer, 'ztgate-ext');
    handlers.keycloak = await makeAuth(ext.issuer, 'ztgate-ext', 'realm_access.roles');
    handlers.fake = await makeAuth(fake.issuer, 'ztgate-fake');
    active = auth;
    ztgate.setHandler(async (req: IncomingMessage, res: ServerResponse) => {
      if (await active.handle(req, res)) return;
      return createApp(sessions, active, ztgate.origin)(req, res);
    });
  });
  after(async () => {
    await ztgate.close();
    await ext.close();
    await fake.close();
    await env.cleanup();
  });

  const signIn = async (
    sub: string,
    amr = ['pwd'],
    path = '/app/home',
    agent = new TestAgent(),
  ) => {
    ext.next = { sub, amr };
    const r = await agent.request(`${ztgate.origin}${path}`);
    return { agent, r };
  };

  /** Follows the sign-in up to the callback URL without calling it. */
  const callbackUrl = async (
    agent: TestAgent,
    start = `${ztgate.origin}/oauth2/sign_in?return_to=%2Fapp%2Fhome`,
  ) => {
    let url = start;
    for (let i = 0; i < 10; i++) {
      const r = await agent.request(url, { follow: false });
      const location = r.headers.get('location');
      assert.ok(location, `no redirect from ${url}: ${r.status} ${r.body.slice(0, 300)}`);
      url = new URL(location, url).href;
      if (url.startsWith(`${ztgate.origin}/oauth2/callback`)) return url;
    }
    throw new Error('no callback');
  };

  it('asks with PKCE (S256), state and nonce, and only the scopes configured', async () => {
    const r = await new TestAgent().request(`${ztgate.origin}/oauth2/sign_in?return_to=/app/home`, {
      follow: false,
    });
    const url = new URL(r.headers.get('location') ?? '');
    assert.equal(url.origin, ext.issuer);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.match(url.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match(url.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{20,}$/);
    assert.match(url.searchParams.get('nonce') ?? '', /^[A-Za-z0-9_-]{20,}$/);
    assert.equal(url.searchParams.get('scope'), 'openid email profile groups offline_access');
    assert.match(
      r.headers.getSetCookie().join(),
      /__Host-ztgate_login=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=900; Secure; HttpOnly; SameSite=Lax/,
    );
  });

  it('signs a user in, provisions them by (issuer, sub) and maps groups_claim', async () => {
    const { r, agent } = await signIn('ext-alice', ['pwd', 'otp', 'mfa']);
    const info = appInfo(r);
    assert.equal(info.email, 'alice@corp.example');
    assert.deepEqual(info.groups, ['Everyone', 'engineering']);
    assert.deepEqual(info.mfa, ['mfa', 'otp', 'totp'], 'MFA methods from the IdP’s amr');
    const user = await env.store.users.get(externalUserId(ext.issuer, 'ext-alice'));
    assert.equal(user?.email, 'alice@corp.example');
    assert.equal(user?.passwordHash, null);
    assert.ok(agent.cookies.get(SESSION_COOKIE));
  });

  it('reads groups from a nested claim (Keycloak realm_access.roles)', async () => {
    ext.accounts.set('ext-kc', {
      email: 'kc@corp.example',
      extra: { realm_access: { roles: ['admin', 'dev'] } },
    });
    active = handlers.keycloak ?? auth;
    try {
      const { r } = await signIn('ext-kc');
      assert.deepEqual(appInfo(r).groups, ['admin', 'dev']);
    } finally {
      active = auth;
    }
    assert.deepEqual(groupsFrom(claimAt({ 'a.b': ['x'], a: { b: ['y'] } }, 'a.b')), ['x']);
    assert.deepEqual(groupsFrom('solo'), ['solo']);
    assert.deepEqual(groupsFrom([1, 'ok', null]), ['ok']);
  });

  it('refuses a callback with a missing or wrong state, a replayed one, and one from another browser', async () => {
    const agent = new TestAgent();
    ext.next = { sub: 'ext-alice', amr: ['pwd'] };
    const cb = new URL(await callbackUrl(agent));
    const missing = new URL(cb);
    missing.searchParams.delete('state');
    const wrong = new URL(cb);
    wrong.searchParams.set('state', 'x'.repeat(43));
    for (const u of [missing, wrong]) {
      const r = await agent.request(u.href);
      assert.equal(r.status, 400);
      assert.match(r.body, /ZT_IDENTITY_LOGIN_STATE_INVALID/);
    }
    const ok = await agent.request(cb.href);
    assert.equal(appInfo(ok).email, 'alice@corp.example', 'the genuine callback still works');
    const replay = await agent.request(cb.href);
    assert.equal(replay.status, 400, 'a used state cannot be replayed');
    assert.match(replay.body, /already used/);

    const victim = new TestAgent();
    const stolen = await callbackUrl(victim);
    const attacker = await new TestAgent().request(stolen);
    assert.equal(attacker.status, 400, 'a callback in another browser is refused');
    assert.match(attacker.body, /different browser/);
  });

  it('a new sign-in replaces the session the browser had (session fixation)', async () => {
    const agent = new TestAgent();
    const planted = await sessions.create({ userId: externalUserId(ext.issuer, 'ext-alice') });
    agent.cookies.set(SESSION_COOKIE, { value: planted.rawId, path: '/' });
    // the planted session is valid: sign-in happens through the explicit sign-in endpoint
    ext.next = { sub: 'ext-bob', amr: ['pwd'] };
    const r = await agent.request(`${ztgate.origin}/oauth2/sign_in?return_to=%2Fapp%2Fhome`);
    assert.equal(appInfo(r).email, 'bob@corp.example');
    assert.notEqual(agent.cookies.get(SESSION_COOKIE)?.value, planted.rawId);
    assert.equal((await sessions.lookup(planted.rawId)).ok, false);
  });

  it('follows the IdP’s key rotation (a new kid is fetched from its JWKS)', async () => {
    const first = await signIn('ext-alice');
    appInfo(first.r);
    await ext.rotateKeys();
    const { r, agent } = await signIn('ext-alice');
    appInfo(r);
    const found = await sessions.lookup(agent.cookies.get(SESSION_COOKIE)?.value);
    assert.ok(found.ok);
    const idp = await sessions.idpOf(found.session.idHash);
    assert.equal(
      decodeJwt(idp?.idToken ?? '').header.kid,
      ext.kids()[0],
      'signed with the new key',
    );
  });

  it('revalidates with the refresh token: IdP group changes apply, a disabled user loses access', async () => {
    const { r, agent } = await signIn('ext-bob');
    appInfo(r);
    const raw = agent.cookies.get(SESSION_COOKIE)?.value;
    const bob = ext.accounts.get('ext-bob');
    assert.ok(bob);
    bob.groups = ['sales', 'support'];
    clock.advance(15 * 60_000);
    const fresh = await sessions.lookup(raw);
    assert.ok(fresh.ok);
    assert.deepEqual(fresh.session.user.groups, ['sales', 'support']);
    bob.disabled = true;
    clock.advance(15 * 60_000);
    const refused = await sessions.lookup(raw);
    assert.ok(!refused.ok && refused.reason === 'revalidation-failed');
    assert.ok(!(await sessions.lookup(raw)).ok, 'and the session stays ended');
    bob.disabled = false;
  });

  it('RP-initiated logout ends the session and signs out at the IdP', async () => {
    const { r, agent } = await signIn('ext-alice');
    appInfo(r);
    const raw = agent.cookies.get(SESSION_COOKIE)?.value;
    const out = await agent.request(`${ztgate.origin}/oauth2/sign_out`, { follow: false });
    const end = new URL(out.headers.get('location') ?? '');
    assert.equal(end.origin, ext.issuer);
    assert.ok(end.searchParams.get('id_token_hint'));
    assert.equal(
      end.searchParams.get('post_logout_redirect_uri'),
      `${ztgate.origin}/oauth2/signed-out`,
    );
    assert.equal((await sessions.lookup(raw)).ok, false);
    const confirm = await agent.request(end.href);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    const action = /action="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    const done = await agent.request(new URL(action, ext.issuer).href, {
      form: { xsrf, logout: 'yes' },
    });
    assert.equal(new URL(done.url).pathname, '/oauth2/signed-out');
  });

  it('back-channel logout ends the sessions of the IdP session; forged and replayed tokens are refused', async () => {
    const { r, agent } = await signIn('ext-alice');
    appInfo(r);
    const raw = agent.cookies.get(SESSION_COOKIE)?.value;
    // the user signs out at the IdP (from another app): the IdP calls ztgate back
    const confirm = await agent.request(`${ext.issuer}/session/end`);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    const action = /action="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    await agent.request(new URL(action, ext.issuer).href, { form: { xsrf, logout: 'yes' } });
    assert.deepEqual((await sessions.lookup(raw)).ok, false);
    assert.equal(
      audit.findLast((e) => e.action === 'logout.backchannel')?.details?.sessions_ended,
      1,
    );

    const post = (token: string) =>
      new TestAgent().request(`${ztgate.origin}/oauth2/backchannel-logout`, {
        form: { logout_token: token },
        headers: { origin: ext.issuer },
      });
    const genuine = await ext.logoutToken({ sub: 'ext-bob' });
    assert.equal((await post(genuine)).status, 200);
    assert.equal((await post(genuine)).status, 400, 'a replayed logout token is refused');
    assert.equal(
      (await post(await ext.logoutToken({ sub: 'ext-bob', nonce: 'n' }))).status,
      400,
      'a nonce is forbidden',
    );
    assert.equal((await post(await ext.logoutToken({}))).status, 400, 'sub or sid is required');
    assert.equal(
      (await post(await ext.logoutToken({ sub: 'x', events: {} }))).status,
      400,
      'the logout event is required',
    );
    const forged = await new SignJWT({
      sub: 'ext-bob',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      jti: 'f1',
    })
      .setProtectedHeader({ alg: 'RS256', kid: ext.kids()[0] ?? '' })
      .setIssuer(ext.issuer)
      .setAudience('ztgate-ext')
      .setIssuedAt()
      .sign(fake.privateKey);
    assert.equal((await post(forged)).status, 400, 'a token signed with another key is refused');
    assert.equal((await post('not.a.token')).status, 400);
  });

  it('step-up with an external IdP checks auth_time and amr, and keeps the same user', async () => {
    const { r, agent } = await signIn('ext-alice', ['pwd']);
    assert.deepEqual(appInfo(r).mfa, []);
    const before = agent.cookies.get(SESSION_COOKIE)?.value;
    ext.next = { sub: 'ext-alice', amr: ['pwd'] };
    const weak = await agent.request(`${ztgate.origin}/app/mfa`);
    assert.equal(weak.status, 403, 'the IdP did no MFA: refused');
    assert.match(weak.body, /ZT_IDENTITY_STEP_UP_FAILED/);
    ext.next = { sub: 'ext-alice', amr: ['pwd', 'otp'] };
    const stepped = await agent.request(`${ztgate.origin}/app/mfa`);
    assert.equal(new URL(stepped.url).pathname, '/app/mfa');
    assert.ok(appInfo(stepped).mfa.includes('totp'));
    assert.equal(appInfo(stepped).email, 'alice@corp.example');
    assert.notEqual(
      agent.cookies.get(SESSION_COOKIE)?.value,
      before,
      'the session moved to a new id',
    );
    const u = new URL(
      (await agent.request(`${ztgate.origin}/app/passkey`, { follow: false })).headers.get(
        'location',
      ) ?? '',
    );
    assert.equal(u.searchParams.get('prompt'), 'login');
    assert.equal(u.searchParams.get('max_age'), '300');
    assert.equal(u.searchParams.get('login_hint'), 'alice@corp.example');
    // the IdP signs someone else in instead: refused
    ext.next = { sub: 'ext-bob', amr: ['pwd', 'hwk'] };
    const swapped = await agent.request(`${ztgate.origin}/app/passkey`);
    assert.equal(swapped.status, 403);
    assert.match(swapped.body, /different user/);
  });

  it('refuses open redirects in return_to', async () => {
    for (const bad of [
      '//evil.example',
      '/\\evil.example',
      'https:evil.example',
      'https://app.example.com@evil.example/',
      '%2F%2Fevil.example',
    ]) {
      const r = await new TestAgent().request(
        `${ztgate.origin}/oauth2/sign_in?return_to=${encodeURIComponent(bad)}`,
        { follow: false },
      );
      assert.equal(r.status, 400, bad);
      assert.match(r.body, /ZT_IDENTITY_RETURN_URL_REFUSED/);
    }
    const ok = await new TestAgent().request(
      `${ztgate.origin}/oauth2/sign_in?return_to=${encodeURIComponent('https://app.example.com/x')}`,
      { follow: false },
    );
    assert.equal(ok.status, 302);
  });

  it('does not link an IdP identity to a local user with the same email', async () => {
    await new UserAdmin({ users: env.store.users }).add({ email: 'carol@corp.example' });
    ext.accounts.set('ext-carol', { email: 'carol@corp.example' });
    const { r } = await signIn('ext-carol');
    assert.equal(r.status, 403);
    assert.match(r.body, /ZT_IDENTITY_ACCOUNT_CONFLICT/);
    ext.accounts.set('ext-dan', { email: 'dan@corp.example', emailVerified: false });
    const unverified = await signIn('ext-dan');
    assert.equal(unverified.r.status, 502);
    assert.match(unverified.r.body, /not verified/);
  });

  describe('ID token validation against a hostile provider', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const sign = async (
      ctx: TokenContext,
      claims: Record<string, unknown>,
      header: Record<string, unknown> = {},
    ) =>
      new SignJWT({ email: 'mallory@corp.example', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'fake-1', ...header })
        .sign(ctx.privateKey);
    const base = (ctx: TokenContext) => ({
      iss: ctx.issuer,
      aud: ctx.clientId,
      sub: 'mallory',
      nonce: ctx.nonce,
      iat: now(),
      exp: now() + 300,
    });
    const attempt = async (make: (ctx: TokenContext) => Promise<string>) => {
      fake.idToken = make;
      active = handlers.fake ?? auth;
      try {
        return await new TestAgent().request(
          `${ztgate.origin}/oauth2/sign_in?return_to=%2Fapp%2Fhome`,
        );
      } finally {
        active = auth;
      }
    };
    const refused = (r: { status: number; body: string }, what: string) => {
      assert.equal(r.status, 502, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
      assert.match(r.body, /ZT_IDENTITY_IDP_RESPONSE_INVALID/);
    };
    let accepted = '';

    it('accepts a correct token (the harness can succeed)', async () => {
      const r = await attempt(async (ctx) => (accepted = await sign(ctx, base(ctx))));
      assert.equal(r.status, 200);
      assert.equal(appInfo(r).email, 'mallory@corp.example');
    });
    it('refuses an ID token for another audience', async () => {
      refused(await attempt((ctx) => sign(ctx, { ...base(ctx), aud: 'someone-else' })), 'audience');
    });
    it('refuses an ID token from another issuer', async () => {
      refused(
        await attempt((ctx) => sign(ctx, { ...base(ctx), iss: 'https://evil.example' })),
        'issuer',
      );
    });
    it('refuses an expired ID token', async () => {
      refused(
        await attempt((ctx) => sign(ctx, { ...base(ctx), iat: now() - 900, exp: now() - 120 })),
        'expired',
      );
    });
    it('refuses an ID token not yet valid', async () => {
      refused(await attempt((ctx) => sign(ctx, { ...base(ctx), nbf: now() + 600 })), 'nbf');
      refused(
        await attempt((ctx) => sign(ctx, { ...base(ctx), iat: now() + 600, exp: now() + 900 })),
        'iat in the future',
      );
    });
    it('refuses a wrong, missing or replayed nonce', async () => {
      refused(
        await attempt((ctx) => sign(ctx, { ...base(ctx), nonce: 'another nonce' })),
        'wrong nonce',
      );
      refused(
        await attempt((ctx) => sign(ctx, { ...base(ctx), nonce: undefined })),
        'missing nonce',
      );
      refused(
        await attempt(() => Promise.resolve(accepted)),
        'replayed token (nonce of an earlier sign-in)',
      );
    });
    it('refuses alg none and HMAC signed with the provider’s public key', async () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      refused(
        await attempt((ctx) => Promise.resolve(`${b64({ alg: 'none' })}.${b64(base(ctx))}.`)),
        'alg none',
      );
      const pem = String(
        createPublicKey({ key: fake.publicJwk as JsonWebKey, format: 'jwk' }).export({
          type: 'spki',
          format: 'pem',
        }),
      );
      for (const secret of [pem, JSON.stringify(fake.publicJwk)]) {
        refused(
          await attempt((ctx) =>
            new SignJWT(base(ctx))
              .setProtectedHeader({ alg: 'HS256', kid: 'fake-1' })
              .sign(new TextEncoder().encode(secret)),
          ),
          'HS256 with the public key',
        );
      }
    });
    it('refuses a token signed by an unknown key', async () => {
      const { privateKey } = await import('jose').then((j) => j.generateKeyPair('RS256'));
      refused(
        await attempt((ctx) =>
          new SignJWT(base(ctx))
            .setProtectedHeader({ alg: 'RS256', kid: 'fake-1' })
            .sign(privateKey),
        ),
        'unknown key',
      );
    });
  });
});
