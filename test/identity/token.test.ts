/** Tokens for programs: issue, verify, revoke; forged, expired and confused tokens are refused. */
import assert from 'node:assert/strict';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { loadSigningKeys, publicJwks } from '../../src/identity/keys.js';
import { SecretBox } from '../../src/identity/secret-box.js';
import { bearerTokenFromHeader, TokenService } from '../../src/identity/token/tokens.js';
import { ZtError } from '../../src/shared/errors.js';
import { auditCollector, TestClock, tempStore, type TempStore } from './helpers/env.js';

const ISS = 'https://auth.example.com';

function code(c: string) {
  return (e: unknown) => e instanceof ZtError && e.code === c;
}

function b64(o: object): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('tokens for programs', () => {
  let env: TempStore;
  const clock = new TestClock();
  const box = SecretBox.random();
  const audit = auditCollector();
  let tokens: TokenService;

  before(async () => {
    env = await tempStore();
    await env.store.users.create({
      id: 'u1',
      email: 'alice@example.com',
      groups: ['engineering'],
      at: clock.t,
    });
    await env.store.users.create({ id: 'u2', email: 'bob@example.com', at: clock.t });
    tokens = await TokenService.open({
      settings: env.store.settings,
      users: env.store.users,
      box,
      publicUrl: ISS,
      now: clock.now,
      audit: audit.sink,
    });
  });
  after(() => env.cleanup());

  it('issues an ES256 JWT with iss, sub, aud, exp, nbf and a recorded jti', async () => {
    const { token, record } = await tokens.issue({
      subject: { kind: 'user', email: 'alice@example.com' },
      ttlMs: 10 * 60_000,
    });
    const [h, p] = token.split('.');
    const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(payload.iss, ISS);
    assert.equal(payload.sub, 'u1');
    assert.equal(payload.aud, ISS);
    assert.equal(Number(payload.exp) - Number(payload.iat), 600);
    assert.equal(payload.jti, record.jti);
    const principal = await tokens.verify(token);
    assert.deepEqual(principal.groups, ['engineering']);
    assert.equal(principal.email, 'alice@example.com');
    assert.ok(audit.events.some((e) => e.action === 'token.issued'));
    assert.equal(bearerTokenFromHeader(`Bearer ${token}`), token);
    assert.equal(bearerTokenFromHeader(`Basic ${token}`), undefined);
  });

  it('limits a --route token to its route', async () => {
    const { token } = await tokens.issue({
      subject: { kind: 'user', email: 'alice@example.com' },
      ttlMs: 60_000,
      route: 'App.Example.com',
    });
    assert.equal(
      (await tokens.verify(token, { route: 'app.example.com' })).audience,
      'app.example.com',
    );
    await assert.rejects(
      tokens.verify(token, { route: 'other.example.com' }),
      code('ZT_IDENTITY_TOKEN_INVALID'),
    );
    await assert.rejects(tokens.verify(token), code('ZT_IDENTITY_TOKEN_INVALID'));
    const everywhere = (
      await tokens.issue({ subject: { kind: 'user', email: 'alice@example.com' }, ttlMs: 60_000 })
    ).token;
    assert.ok(
      await tokens.verify(everywhere, { route: 'other.example.com' }),
      'a token without --route is valid on every route',
    );
  });

  it('refuses a revoked token, and one whose user was disabled', async () => {
    const { token, record } = await tokens.issue({
      subject: { kind: 'user', email: 'bob@example.com' },
      ttlMs: 60_000,
    });
    assert.ok(await tokens.verify(token));
    await env.store.users.update('u2', { disabled: true, at: clock.t });
    await assert.rejects(tokens.verify(token), code('ZT_IDENTITY_USER_DISABLED'));
    await env.store.users.update('u2', { disabled: false, at: clock.t });
    assert.equal(await tokens.revoke(record.jti), true);
    await assert.rejects(tokens.verify(token), code('ZT_IDENTITY_TOKEN_REVOKED'));
    assert.equal(await tokens.revoke(record.jti), false);
  });

  it('refuses expired tokens and tokens not yet valid, with 30 seconds of leeway', async () => {
    const { token } = await tokens.issue({
      subject: { kind: 'user', email: 'alice@example.com' },
      ttlMs: 60_000,
    });
    clock.advance(60_000 + 29_000);
    assert.ok(await tokens.verify(token), 'within the leeway');
    clock.advance(2_000);
    await assert.rejects(
      tokens.verify(token),
      (e: unknown) =>
        e instanceof ZtError &&
        e.code === 'ZT_IDENTITY_TOKEN_INVALID' &&
        e.message.includes('expired'),
    );
    const future = new TestClock(clock.t + 5 * 60_000);
    const ahead = await TokenService.open({
      settings: env.store.settings,
      users: env.store.users,
      box,
      publicUrl: ISS,
      now: future.now,
    });
    const early = (
      await ahead.issue({
        subject: { kind: 'user', email: 'alice@example.com' },
        ttlMs: 10 * 60_000,
      })
    ).token;
    await assert.rejects(
      tokens.verify(early),
      (e: unknown) => e instanceof ZtError && /not yet valid|future/.test(e.message),
    );
  });

  it('refuses a token from another issuer, even when signed with the same key', async () => {
    const other = await TokenService.open({
      settings: env.store.settings,
      users: env.store.users,
      box,
      publicUrl: 'https://evil.example',
      now: clock.now,
    });
    const { token } = await other.issue({
      subject: { kind: 'user', email: 'alice@example.com' },
      ttlMs: 60_000,
    });
    await assert.rejects(
      tokens.verify(token),
      (e: unknown) => e instanceof ZtError && e.message.includes('issued by someone else'),
    );
  });

  it('refuses alg none, HMAC signed with the public key, a tampered payload and an unrecorded jti', async () => {
    const { token } = await tokens.issue({
      subject: { kind: 'user', email: 'alice@example.com' },
      ttlMs: 60_000,
    });
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;

    const none = `${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.`;
    await assert.rejects(
      tokens.verify(none),
      (e: unknown) =>
        e instanceof ZtError &&
        e.code === 'ZT_IDENTITY_TOKEN_INVALID' &&
        e.message.includes('algorithm'),
    );
    const noneWithSig = `${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.${s}`;
    await assert.rejects(tokens.verify(noneWithSig), code('ZT_IDENTITY_TOKEN_INVALID'));

    // the classic key confusion: HS256 with the server's public key (JWK JSON or PEM) as the secret
    const jwk = tokens.jwks().keys[0] as JWK;
    const pem = createPublicKey({
      key: jwk as JsonWebKey,
      format: 'jwk',
    }).export({ type: 'spki', format: 'pem' });
    for (const secret of [JSON.stringify(jwk), String(pem)]) {
      const forged = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid ?? '' })
        .sign(new TextEncoder().encode(secret));
      await assert.rejects(
        tokens.verify(forged),
        (e: unknown) => e instanceof ZtError && e.message.includes('algorithm'),
      );
    }

    const tampered = `${h}.${b64({ ...payload, sub: 'u2' })}.${s}`;
    await assert.rejects(
      tokens.verify(tampered),
      (e: unknown) => e instanceof ZtError && e.message.includes('bad signature'),
    );

    // properly signed with ztgate's key, but never issued (recorded): refused
    const keys = await loadSigningKeys(env.store.settings, box, 'token');
    const signer = await importJWK(keys.keys[0] as JWK, 'ES256');
    const unrecorded = await new SignJWT({ kind: 'user' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: keys.keys[0]?.kid ?? '' })
      .setIssuer(ISS)
      .setSubject('u1')
      .setAudience(ISS)
      .setIssuedAt(Math.floor(clock.t / 1000))
      .setNotBefore(Math.floor(clock.t / 1000))
      .setExpirationTime(Math.floor(clock.t / 1000) + 60)
      .setJti('never-issued')
      .sign(signer);
    await assert.rejects(tokens.verify(unrecorded), code('ZT_IDENTITY_TOKEN_REVOKED'));

    // a token of another type signed by ztgate (say, an ID token) is not an access token
    const wrongType = await new SignJWT({ ...payload })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: keys.keys[0]?.kid ?? '' })
      .sign(signer);
    await assert.rejects(
      tokens.verify(wrongType),
      (e: unknown) => e instanceof ZtError && e.message.includes('not an access token'),
    );

    await assert.rejects(tokens.verify('garbage'), code('ZT_IDENTITY_TOKEN_INVALID'));
    await assert.rejects(
      tokens.verify(`${'a'.repeat(9000)}.b.c`),
      code('ZT_IDENTITY_TOKEN_INVALID'),
    );
    assert.equal(publicJwks(keys).keys[0]?.d, undefined, 'the JWKS carries no private part');
  });

  it('issues tokens for service accounts and revokes them when the account is removed', async () => {
    await tokens.addServiceAccount('ci-deploy', { groups: ['deploy'] });
    await assert.rejects(
      tokens.addServiceAccount('ci-deploy'),
      code('ZT_IDENTITY_SERVICE_ACCOUNT_EXISTS'),
    );
    await assert.rejects(tokens.addServiceAccount('Bad Name'), code('ZT_CLI_INPUT_INVALID'));
    const { token } = await tokens.issue({
      subject: { kind: 'service', name: 'ci-deploy' },
      ttlMs: 3_600_000,
    });
    const p = await tokens.verify(token);
    assert.equal(p.kind, 'service');
    assert.equal(p.subject, 'svc:ci-deploy');
    assert.deepEqual(p.groups, ['deploy']);
    assert.equal(await tokens.removeServiceAccount('ci-deploy'), 1);
    await assert.rejects(tokens.verify(token), code('ZT_IDENTITY_TOKEN_REVOKED'));
  });

  it('refuses lifetimes outside 1 minute to 24 hours and unknown users', async () => {
    await assert.rejects(
      tokens.issue({
        subject: { kind: 'user', email: 'alice@example.com' },
        ttlMs: 25 * 3_600_000,
      }),
      code('ZT_IDENTITY_TOKEN_TTL_INVALID'),
    );
    await assert.rejects(
      tokens.issue({ subject: { kind: 'user', email: 'alice@example.com' }, ttlMs: 1000 }),
      code('ZT_IDENTITY_TOKEN_TTL_INVALID'),
    );
    await assert.rejects(
      tokens.issue({ subject: { kind: 'user', email: 'nobody@example.com' }, ttlMs: 60_000 }),
      code('ZT_IDENTITY_USER_UNKNOWN'),
    );
  });
});
