/**
 * The built-in IdP end to end, driven over HTTPS without a browser: sign-in pages, password, TOTP,
 * recovery codes, enrolment during step-up, brute-force throttling, logout (front and back channel).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadSigningKeys } from '../../src/identity/keys.js';
import { SESSION_COOKIE } from '../../src/identity/session/cookie.js';
import { totpCode } from '../../src/identity/totp.js';
import { hashSessionId } from '../../src/store/store.js';
import {
  appInfo,
  decodeJwt,
  postCode,
  postForm,
  postPassword,
  unescapeHtml,
} from './helpers/flows.js';
import { formAction, TestAgent } from './helpers/servers.js';
import { startIdentityStack, type IdentityStack } from './helpers/stack.js';

const PW = 'a long enough password';

describe('built-in IdP', () => {
  let s: IdentityStack;
  before(async () => {
    s = await startIdentityStack();
    await s.addUser('alice@example.com', PW, ['engineering']);
  });
  after(() => s.close());

  const sessionOf = async (agent: TestAgent) => {
    const raw = agent.cookies.get(SESSION_COOKIE)?.value;
    return s.sessions.lookup(raw);
  };

  it('publishes its own ES256 keys, acr values and logout support in discovery', async () => {
    const agent = new TestAgent();
    const disc = JSON.parse(
      (await agent.request(`${s.idp.issuer}/.well-known/openid-configuration`)).body,
    ) as Record<string, unknown>;
    assert.equal(disc.issuer, `${s.origin}/oidc`);
    assert.deepEqual(disc.id_token_signing_alg_values_supported, ['ES256']);
    assert.deepEqual(disc.response_types_supported, ['code']);
    assert.deepEqual(disc.acr_values_supported, [
      'urn:ztgate:acr:pwd',
      'urn:ztgate:acr:mfa',
      'phr',
    ]);
    assert.equal(disc.backchannel_logout_supported, true);
    // the metadata the in-process relying party uses without discovery matches the real document
    for (const [k, v] of Object.entries(s.idp.metadata)) {
      if (k.endsWith('_endpoint') || k === 'jwks_uri' || k === 'issuer')
        assert.equal(disc[k], v, k);
    }
    const jwks = JSON.parse((await agent.request(String(disc.jwks_uri))).body) as {
      keys: Record<string, unknown>[];
    };
    const stored = await loadSigningKeys(s.env.store.settings, s.box, 'idp');
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      stored.keys.map((k) => k.kid),
    );
    assert.equal(jwks.keys[0]?.kty, 'EC');
    assert.equal(jwks.keys[0]?.d, undefined);
  });

  it('signs in with a password: ID token with amr pwd, acr and auth_time; a new session id', async () => {
    const agent = new TestAgent();
    agent.cookies.set(SESSION_COOKIE, { value: 'P'.repeat(43), path: '/' }); // planted before sign-in
    const login = await agent.request(`${s.origin}/app/home`);
    assert.equal(login.status, 200);
    assert.match(login.url, /\/oidc\/interaction\/[A-Za-z0-9_-]+$/);
    const before = Date.now();
    const app = await postPassword(agent, login, 'Alice@Example.com', PW);
    const info = appInfo(app);
    assert.equal(info.email, 'alice@example.com');
    assert.deepEqual(info.amr, ['pwd']);
    assert.equal(info.acr, 'urn:ztgate:acr:pwd');
    assert.deepEqual(info.mfa, []);
    const raw = agent.cookies.get(SESSION_COOKIE)?.value ?? '';
    assert.notEqual(
      raw,
      'P'.repeat(43),
      'session fixation: the planted id is not the signed-in one',
    );
    const idp = await s.sessions.idpOf(hashSessionId(raw));
    const { header, payload } = decodeJwt(idp?.idToken ?? '');
    assert.equal(header.alg, 'ES256');
    assert.equal(payload.iss, s.idp.issuer);
    assert.equal(payload.aud, 'ztgate');
    assert.deepEqual(payload.amr, ['pwd']);
    assert.equal(payload.acr, 'urn:ztgate:acr:pwd');
    assert.ok(typeof payload.auth_time === 'number' && payload.auth_time * 1000 >= before - 2000);
    assert.deepEqual(payload.groups, ['engineering']);
    assert.ok(idp?.refreshToken, 'a refresh token for revalidation');
  });

  it('serves pages with a strict CSP, no inline script or style, and cacheable assets', async () => {
    const agent = new TestAgent();
    const login = await agent.request(`${s.origin}/app/home`);
    const csp = login.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.equal(login.headers.get('x-frame-options'), 'DENY');
    assert.equal(login.headers.get('cache-control'), 'no-store');
    assert.doesNotMatch(login.body, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline <script>');
    assert.doesNotMatch(login.body, /\sstyle=|\son[a-z]+=/i, 'no inline style or event handlers');
    assert.doesNotMatch(login.body, /https?:\/\/(?!localhost)/, 'no external assets');
    assert.match(login.body, /<label for="email">/);
    const assets = login.body.match(/\/oidc\/assets\/[a-z]+-[0-9a-f]{12}\.(css|js|svg)/g) ?? [];
    assert.equal(assets.length, 3, 'stylesheet, script and icon');
    for (const href of assets) {
      const asset = await agent.request(`${s.origin}${href}`);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
      assert.match(
        asset.headers.get('content-type') ?? '',
        /^(text\/(css|javascript)|image\/svg\+xml)/,
      );
    }
  });

  it('gives a wrong password and an unknown email the same answer, and audits both', async () => {
    const agent = new TestAgent();
    const login = await agent.request(`${s.origin}/app/home`);
    const wrong = await postPassword(agent, login, 'alice@example.com', 'not the password at all');
    const unknown = await postPassword(
      agent,
      login,
      'nobody@example.com',
      'not the password at all',
    );
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    const msg = (r: { body: string }) => /<p class="error"[^>]*>([^<]*)</.exec(r.body)?.[1];
    assert.equal(msg(wrong), 'The email or password is incorrect.');
    assert.equal(msg(unknown), msg(wrong));
    assert.match(wrong.body, /data-code="ZT_IDENTITY_INVALID_CREDENTIALS"/);
    const reasons = s.audit
      .filter((e) => e.action === 'login.failed')
      .map((e) => e.details?.reason);
    assert.ok(reasons.includes('bad-password') && reasons.includes('unknown-user'));
  });

  it('asks for TOTP after the password when enrolled, refuses a replayed code, accepts a recovery code once', async () => {
    const bob = await s.addUser('bob@example.com', PW);
    const { secret, recoveryCodes } = await s.mfa.enrolTotp(bob.id);
    const agent = new TestAgent();
    const totpPage = await postPassword(
      agent,
      await agent.request(`${s.origin}/app/home`),
      'bob@example.com',
      PW,
    );
    assert.match(totpPage.body, /Enter your verification code/);
    assert.equal(agent.cookies.has(SESSION_COOKIE), false, 'no session after the password alone');
    const wrong = await postCode(
      agent,
      totpPage,
      '000000' === totpCode(secret, Date.now()) ? '111111' : '000000',
    );
    assert.equal(wrong.status, 401);
    const code = totpCode(secret, Date.now());
    const app = await postCode(agent, wrong, code);
    const info = appInfo(app);
    assert.deepEqual(info.amr, ['mfa', 'otp', 'pwd']);
    assert.equal(info.acr, 'urn:ztgate:acr:mfa');
    assert.deepEqual(info.mfa, ['mfa', 'otp', 'totp']);

    const other = new TestAgent();
    const page = await postPassword(
      other,
      await other.request(`${s.origin}/app/home`),
      'bob@example.com',
      PW,
    );
    const replay = await postCode(other, page, code);
    assert.equal(replay.status, 401, 'the same code is refused the second time');
    const recovered = await postCode(other, replay, (recoveryCodes[0] ?? '').toLowerCase());
    assert.deepEqual(appInfo(recovered).mfa, ['mfa', 'otp', 'totp']);
    assert.ok(s.audit.some((e) => e.action === 'mfa.recovery_code.used'));

    const third = new TestAgent();
    const p3 = await postPassword(
      third,
      await third.request(`${s.origin}/app/home`),
      'bob@example.com',
      PW,
    );
    assert.equal(
      (await postCode(third, p3, recoveryCodes[0] ?? '')).status,
      401,
      'a recovery code works once',
    );
  });

  it('enrols a second factor during a step-up sign-in and moves the session to a new id', async () => {
    await s.addUser('carol@example.com', PW);
    const agent = new TestAgent();
    const first = await postPassword(
      agent,
      await agent.request(`${s.origin}/app/home`),
      'carol@example.com',
      PW,
    );
    assert.deepEqual(appInfo(first).mfa, []);
    const before = agent.cookies.get(SESSION_COOKIE)?.value;
    // /app/mfa needs MFA within 10 minutes: step-up at the IdP, which has her session already
    const confirm = await agent.request(`${s.origin}/app/mfa`);
    assert.match(confirm.body, /Confirm your password to continue/);
    assert.match(confirm.body, /value="carol@example.com"/);
    const choice = await postPassword(agent, confirm, 'carol@example.com', PW);
    assert.match(choice.body, /Set up two-step verification/);
    const enrol = await postForm(agent, choice, '/enrol/totp');
    const secret = (/<code class="secret"[^>]*>([^<]+)</.exec(enrol.body)?.[1] ?? '').replace(
      /\s/g,
      '',
    );
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.match(unescapeHtml(enrol.body), /otpauth:\/\/totp\//);
    // the key as a QR code, drawn inline: no script, no image request
    assert.match(
      enrol.body,
      /<figure class="qr"[^>]*><svg role="img"[^>]*><rect[^>]*\/><path [^>]*d="M/,
    );
    const bad = await postCode(agent, enrol, '12345', '/enrol/totp/confirm');
    assert.equal(bad.status, 400);
    const codes = await postCode(agent, bad, totpCode(secret, Date.now()), '/enrol/totp/confirm');
    const listed =
      codes.body.match(/<li>[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}<\/li>/g) ?? [];
    assert.equal(listed.length, 10);
    const app = await postForm(agent, codes, '/continue');
    assert.equal(new URL(app.url).pathname, '/app/mfa');
    const info = appInfo(app);
    assert.ok(info.mfa.includes('totp'));
    assert.equal(info.acr, 'urn:ztgate:acr:mfa');
    const after = agent.cookies.get(SESSION_COOKIE)?.value;
    assert.notEqual(after, before, 'a step-up moves the session to a new id');
    const old = await s.sessions.lookup(before);
    assert.ok(!old.ok && old.reason === 'revoked', 'the old id is revoked');
    assert.ok(s.audit.some((e) => e.action === 'mfa.enrolled' && e.details?.method === 'totp'));
    assert.ok(s.audit.some((e) => e.action === 'mfa.step_up.succeeded'));
  });

  it('refuses posts from another origin and an interaction opened in another browser', async () => {
    const agent = new TestAgent();
    const login = await agent.request(`${s.origin}/app/home`);
    const action = new URL(unescapeHtml(formAction(login.body, '/password')), login.url).href;
    const forged = await agent.request(action, {
      form: { email: 'alice@example.com', password: PW },
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(forged.status, 403);
    const stranger = await new TestAgent().request(login.url);
    assert.equal(stranger.status, 400);
    assert.match(stranger.body, /no longer valid/);
  });

  it('cancelling the sign-in comes back to ztgate as access_denied, with no session', async () => {
    const agent = new TestAgent();
    const login = await agent.request(`${s.origin}/app/home`);
    const r = await postForm(agent, login, '/abort');
    assert.equal(r.status, 401);
    assert.match(r.body, /ZT_IDENTITY_IDP_ERROR/);
    assert.match(r.body, /access_denied/);
    assert.equal(agent.cookies.has(SESSION_COOKIE), false);
  });

  it('refuses a disabled user at sign-in and ends their session at once', async () => {
    const dave = await s.addUser('dave@example.com', PW);
    const agent = new TestAgent();
    appInfo(
      await postPassword(
        agent,
        await agent.request(`${s.origin}/app/home`),
        'dave@example.com',
        PW,
      ),
    );
    await s.env.store.users.update(dave.id, { disabled: true, at: Date.now() });
    assert.equal((await sessionOf(agent)).ok, false);
    const again = new TestAgent();
    const r = await postPassword(
      again,
      await again.request(`${s.origin}/app/home`),
      'dave@example.com',
      PW,
    );
    assert.equal(r.status, 401);
  });

  it('logout ends the ztgate session and the IdP session', async () => {
    const agent = new TestAgent();
    appInfo(
      await postPassword(
        agent,
        await agent.request(`${s.origin}/app/home`),
        'alice@example.com',
        PW,
      ),
    );
    const raw = agent.cookies.get(SESSION_COOKIE)?.value;
    const confirm = await agent.request(`${s.origin}/oauth2/sign_out`, { method: 'POST' });
    assert.equal(agent.cookies.has(SESSION_COOKIE), false, 'the cookie is cleared');
    assert.deepEqual((await s.sessions.lookup(raw)).ok, false);
    assert.match(confirm.body, /Sign out of ztgate\?/);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    const action =
      /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    const done = await agent.request(action, { form: { xsrf, logout: 'yes' } });
    assert.equal(new URL(done.url).pathname, '/oauth2/signed-out');
    // the IdP session is gone too: the app asks for a password again
    const next = await agent.request(`${s.origin}/app/home`);
    assert.match(next.body, /<h1 id="title">Sign in<\/h1>/);
  });

  it('back-channel logout from the IdP ends the matching ztgate session', async () => {
    const agent = new TestAgent();
    appInfo(
      await postPassword(
        agent,
        await agent.request(`${s.origin}/app/home`),
        'alice@example.com',
        PW,
      ),
    );
    assert.ok((await sessionOf(agent)).ok);
    // sign out at the IdP directly (as from another app using the same IdP session)
    const confirm = await agent.request(`${s.idp.issuer}/session/end`);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    const action =
      /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(confirm.body)?.[1] ?? '';
    await agent.request(action, { form: { xsrf, logout: 'yes' } });
    assert.deepEqual((await sessionOf(agent)).ok, false);
    const event = s.audit.findLast((e) => e.action === 'logout.backchannel');
    assert.equal(event?.details?.sessions_ended, 1);
  });
});

describe('built-in IdP brute-force protection', () => {
  let s: IdentityStack;
  before(async () => {
    const limits = {
      freeFailures: 2,
      baseDelayMs: 60_000,
      maxDelayMs: 60_000,
      lockoutFailures: 4,
      lockoutMs: 60_000,
      resetAfterMs: 3_600_000,
    };
    s = await startIdentityStack({
      throttle: { account: limits, ip: { ...limits, freeFailures: 100, lockoutFailures: 1000 } },
    });
    await s.addUser('erin@example.com', PW);
  });
  after(() => s.close());

  it('backs off, then locks the account (even against the right password), and audits it', async () => {
    const agent = new TestAgent();
    let page = await agent.request(`${s.origin}/app/home`);
    for (let i = 0; i < 2; i++) {
      page = await postPassword(agent, page, 'erin@example.com', `wrong password ${i}`);
      assert.equal(page.status, 401);
    }
    page = await postPassword(agent, page, 'erin@example.com', PW);
    assert.equal(page.status, 429, 'backoff: even the right password waits');
    assert.match(page.headers.get('retry-after') ?? '', /^\d+$/);
    assert.match(page.body, /Too many failed attempts/);
    // backoff waits have passed (simulated by clearing the wait), failures continue to lockout
    for (let i = 0; i < 2; i++) {
      const key = [...(await s.env.store.settings.list('identity/throttle/')).keys()][0] ?? '';
      const c = JSON.parse((await s.env.store.settings.get(key)) ?? '{}') as {
        failures: number;
        lastFailureAt: number;
        lockedUntil: number;
      };
      await s.env.store.settings.set(
        key,
        JSON.stringify({ ...c, lastFailureAt: Date.now() - 120_000 }),
        Date.now(),
      );
      page = await postPassword(agent, page, 'erin@example.com', `wrong again ${i}`);
      assert.equal(page.status, 401);
    }
    page = await postPassword(agent, page, 'erin@example.com', PW);
    assert.equal(page.status, 429);
    assert.match(page.body, /locked/);
    assert.match(page.body, /data-code="ZT_IDENTITY_LOCKED_OUT"/);
    const locked = s.audit.find((e) => e.action === 'login.locked');
    assert.equal(locked?.details?.scope, 'account');
    assert.equal(locked?.actor?.email, 'erin@example.com');
    assert.ok(s.audit.some((e) => e.action === 'login.throttled'));
  });
});
