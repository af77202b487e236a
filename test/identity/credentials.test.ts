/** Passwords (scrypt), TOTP and recovery codes, the MFA store, the secret box and the key file. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MfaStore } from '../../src/identity/mfa-store.js';
import {
  checkPasswordPolicy,
  hashPassword,
  needsRehash,
  parsePasswordHash,
  verifyAgainstDummy,
  verifyPassword,
} from '../../src/identity/password.js';
import { IDENTITY_KEY_FILE, loadIdentityKey, SecretBox } from '../../src/identity/secret-box.js';
import {
  hashRecoveryCode,
  matchTotp,
  newRecoveryCodes,
  newTotpSecret,
  normalizeRecoveryCode,
  totpCode,
  totpUri,
} from '../../src/identity/totp.js';
import { ZtError } from '../../src/shared/errors.js';
import { TestClock, tempStore, type TempStore } from './helpers/env.js';

describe('password hashing', () => {
  it('hashes with scrypt N=2^15, a per-user salt and a versioned encoding', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    assert.match(a, /^\$scrypt\$v=1\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b, 'two hashes of one password differ (salt)');
    assert.equal(parsePasswordHash(a).params.ln, 15);
  });

  it('verifies the right password and refuses wrong ones', async () => {
    const h = await hashPassword('correct horse battery');
    assert.equal(await verifyPassword('correct horse battery', h), true);
    assert.equal(await verifyPassword('correct horse batterY', h), false);
    assert.equal(await verifyPassword('', h), false);
    assert.equal(await verifyPassword('x'.repeat(5000), h), false);
  });

  it('normalizes to NFKC so that compatibility forms match', async () => {
    const h = await hashPassword('ｐａｓｓｗｏｒｄ ｌｏｎｇ');
    assert.equal(await verifyPassword('password long', h), true);
  });

  it('refuses short, blank and control-character passwords', () => {
    for (const p of ['short', '            ', 'twelve chars\n!']) {
      assert.throws(
        () => checkPasswordPolicy(p),
        (e: unknown) => e instanceof ZtError && e.code === 'ZT_IDENTITY_PASSWORD_POLICY',
      );
    }
    checkPasswordPolicy('a fine long passphrase');
  });

  it('refuses malformed stored hashes and hashes with hostile parameters', async () => {
    for (const bad of [
      'plaintext',
      '$scrypt$v=1$ln=40,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
      '$scrypt$v=2$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    ]) {
      await assert.rejects(
        verifyPassword('whatever whatever', bad),
        (e: unknown) => e instanceof ZtError && e.code === 'ZT_IDENTITY_PASSWORD_HASH_INVALID',
      );
    }
  });

  it('asks for a rehash when stored parameters are weaker than today’s', async () => {
    const weak = await hashPassword('correct horse battery', { ln: 12, r: 8, p: 1 });
    assert.equal(needsRehash(weak), true);
    assert.equal(needsRehash(await hashPassword('correct horse battery')), false);
  });

  it('spends a verification when the account does not exist (timing) and never matches', async () => {
    assert.equal(await verifyAgainstDummy('anything at all'), false);
  });
});

describe('TOTP and recovery codes', () => {
  const at = Date.UTC(2026, 10, 22, 10, 0, 0);

  it('accepts the current code and one step either side, and nothing further', () => {
    const secret = newTotpSecret();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const code = totpCode(secret, at);
    const step = Math.floor(at / 30_000);
    assert.equal(matchTotp(secret, code, at), step);
    assert.equal(matchTotp(secret, code, at + 30_000), step);
    assert.equal(matchTotp(secret, code, at - 30_000), step);
    assert.equal(matchTotp(secret, code, at + 90_000), undefined);
    assert.equal(matchTotp(secret, '000000' === code ? '111111' : '000000', at), undefined);
    assert.equal(matchTotp(secret, 'abcdef', at), undefined);
    assert.equal(
      matchTotp(secret, `${code.slice(0, 3)} ${code.slice(3)}`, at),
      step,
      'spaces are ignored',
    );
  });

  it('builds an otpauth URI an authenticator app reads', () => {
    const uri = totpUri('JBSWY3DPEHPK3PXP', 'alice@example.com');
    assert.match(uri, /^otpauth:\/\/totp\/ztgate:alice%40example\.com\?/);
    assert.match(uri, /secret=JBSWY3DPEHPK3PXP/);
    assert.match(uri, /period=30/);
  });

  it('makes 10 distinct 80-bit recovery codes and reads look-alikes', () => {
    const codes = newRecoveryCodes();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const c of codes) assert.match(c, /^[A-HJKMNP-TV-Z0-9]{4}(-[A-HJKMNP-TV-Z0-9]{4}){3}$/);
    assert.equal(normalizeRecoveryCode('abco-1234 iluz'), 'ABC0123411VZ');
    const first = codes[0] ?? '';
    assert.equal(hashRecoveryCode(first.toLowerCase().replace(/-/g, ' ')), hashRecoveryCode(first));
  });
});

describe('MFA store', () => {
  let env: TempStore;
  const clock = new TestClock();
  let mfa: MfaStore;
  before(async () => {
    env = await tempStore();
    mfa = new MfaStore(env.store.settings, SecretBox.random(), clock.now);
  });
  after(() => env.cleanup());

  it('keeps the TOTP secret encrypted and refuses a replayed code', async () => {
    const { secret, recoveryCodes } = await mfa.enrolTotp('u1');
    assert.equal(recoveryCodes.length, 10);
    const stored = await env.store.settings.get('identity/mfa/u1');
    assert.ok(stored && !stored.includes(secret), 'the secret is not stored in the clear');
    const code = totpCode(secret, clock.t);
    assert.equal(await mfa.verifyTotp('u1', code), true);
    assert.equal(
      await mfa.verifyTotp('u1', code),
      false,
      'the same code (time step) is refused the second time',
    );
    clock.advance(30_000);
    assert.equal(
      await mfa.verifyTotp('u1', totpCode(secret, clock.t)),
      true,
      'the next step is accepted',
    );
    assert.equal(await mfa.verifyTotp('u2', code), false, 'another user has no TOTP');
    await assert.rejects(
      mfa.enrolTotp('u1'),
      (e: unknown) => e instanceof ZtError && e.code === 'ZT_IDENTITY_MFA_ALREADY_ENROLLED',
    );
  });

  it('uses up recovery codes once, concurrently too', async () => {
    const { recoveryCodes } = await mfa.enrolTotp('u3');
    const code = recoveryCodes[3] ?? '';
    const results = await Promise.all([
      mfa.useRecoveryCode('u3', code),
      mfa.useRecoveryCode('u3', code),
    ]);
    assert.deepEqual(results.sort(), [false, true]);
    assert.equal(await mfa.useRecoveryCode('u3', code), false);
    assert.equal(await mfa.useRecoveryCode('u3', 'AAAA-BBBB-CCCC-DDDD'), false);
    assert.equal((await mfa.summary('u3')).recoveryCodesLeft, 9);
  });

  it('refuses a record sealed for another user (moved ciphertext)', async () => {
    await mfa.enrolTotp('u4');
    const sealed = (await env.store.settings.get('identity/mfa/u4')) ?? '';
    await env.store.settings.set('identity/mfa/u5', sealed, clock.t);
    await assert.rejects(
      mfa.get('u5'),
      (e: unknown) => e instanceof ZtError && e.code === 'ZT_IDENTITY_SECRET_UNREADABLE',
    );
  });

  it('indexes passkey user handles and refuses a counter that goes backwards', async () => {
    const handle = await mfa.webauthnUserHandle('u6');
    assert.equal(await mfa.webauthnUserHandle('u6'), handle, 'one handle per user');
    assert.equal(await mfa.userIdForHandle(handle), 'u6');
    await mfa.addWebAuthnCredential('u6', {
      id: 'cred1',
      publicKey: 'pk',
      counter: 5,
      transports: ['internal'],
      name: 'laptop',
      backedUp: false,
    });
    assert.equal(await mfa.recordWebAuthnUse('u6', 'cred1', 6), true);
    assert.equal(
      await mfa.recordWebAuthnUse('u6', 'cred1', 6),
      false,
      'a repeated counter means a cloned authenticator',
    );
    assert.equal(await mfa.recordWebAuthnUse('u6', 'nope', 9), false);
    await mfa.reset('u6');
    assert.equal(await mfa.userIdForHandle(handle), undefined);
    assert.equal((await mfa.summary('u6')).passkeys, 0);
  });

  it('sweeps TOTP markers that can no longer matter', async () => {
    clock.advance(10 * 60_000);
    assert.ok((await mfa.sweep()) >= 1);
    assert.equal((await env.store.settings.list('identity/mfa-used/u1/totp/')).size, 0);
  });
});

describe('secret box and key file', () => {
  it('seals with AES-GCM bound to the record key', () => {
    const box = SecretBox.random();
    const sealed = box.seal('hello', 'k1');
    assert.match(sealed, /^v1\./);
    assert.equal(box.open(sealed, 'k1'), 'hello');
    assert.throws(
      () => box.open(sealed, 'k2'),
      (e: unknown) => e instanceof ZtError && e.code === 'ZT_IDENTITY_SECRET_UNREADABLE',
    );
    assert.throws(() => SecretBox.random().open(sealed, 'k1'));
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'AB' : 'AA'}`;
    assert.throws(() => box.open(tampered, 'k1'));
  });

  it('creates the key file 0600, reuses it, and refuses one others can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ztgate-key-'));
    try {
      const a = loadIdentityKey(dir);
      const path = join(dir, IDENTITY_KEY_FILE);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const sealed = a.seal('x', 'k');
      assert.equal(loadIdentityKey(dir, { create: false }).open(sealed, 'k'), 'x');
      chmodSync(path, 0o644);
      assert.throws(
        () => loadIdentityKey(dir),
        (e: unknown) => e instanceof ZtError && e.code === 'ZT_IDENTITY_KEY_FILE',
      );
      chmodSync(path, 0o600);
      writeFileSync(path, 'not a key\n');
      assert.throws(() => loadIdentityKey(dir), /does not hold/);
      assert.ok(readFileSync(path, 'utf8').length > 0);
      assert.throws(
        () => loadIdentityKey(join(dir, 'missing'), { create: false }),
        /does not exist/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
