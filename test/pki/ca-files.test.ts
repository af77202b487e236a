/**
 * The CA on disk: modes (0700 directory, 0600 keys), refusal to load a key file (or directory)
 * that group or others can reach, the passphrase-encrypted root key (standard encrypted PKCS#8
 * under a scrypt-stretched passphrase), no overwriting an existing CA, a key that does not match
 * its certificate, and rotation of the intermediate.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync, statSync } from 'node:fs';
import { scryptSync } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  initCa,
  loadRootKey,
  Pki,
  PkiError,
  rotateIntermediate,
  type CaMeta,
} from '../../src/pki/index.js';
import { MemoryCertificateStore } from '../../src/pki/memory-store.js';
import { execFileP, keyAndCsr, OPERATOR, tempDir, testCa, write, type TestCa } from './helpers.js';

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

async function refusedToOpen(dataDir: string, code: string, message: RegExp): Promise<void> {
  await assert.rejects(
    Pki.open({ dataDir, store: new MemoryCertificateStore() }),
    (err: unknown) => {
      assert.ok(err instanceof PkiError, String(err));
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      return true;
    },
  );
}

let ca: TestCa;
before(async () => {
  ca = await testCa();
});
after(() => ca.cleanup());

describe('CA files', () => {
  it('are written 0600 (keys) and 0644 (certificates) in a 0700 directory', () => {
    const dir = join(ca.dataDir, 'pki');
    assert.equal(mode(dir), '700');
    assert.equal(mode(join(dir, 'root.key')), '600');
    assert.equal(mode(join(dir, 'intermediate.key')), '600');
    assert.equal(mode(join(dir, 'root.crt')), '644');
    assert.equal(mode(join(dir, 'intermediate.crt')), '644');
    const meta = JSON.parse(readFileSync(join(dir, 'ca.json'), 'utf8')) as CaMeta;
    assert.equal(meta.trust_domain, 'example.org');
    assert.deepEqual(meta.root_key, { file: 'root.key', encrypted: false });
  });

  it('a key file readable or writable by group or others is refused, with the fix', async () => {
    const key = join(ca.dataDir, 'pki', 'intermediate.key');
    for (const m of [0o644, 0o640, 0o604, 0o620]) {
      chmodSync(key, m);
      await refusedToOpen(
        ca.dataDir,
        'ZT_PKI_KEY_PERMISSIONS',
        new RegExp(
          `intermediate\\.key\` has mode 0${m.toString(8)}: group or others can access it`,
        ),
      );
    }
    chmodSync(key, 0o600);
    const root = join(ca.dataDir, 'pki', 'root.key');
    chmodSync(root, 0o644);
    await refusedToOpen(ca.dataDir, 'ZT_PKI_KEY_PERMISSIONS', /root\.key` has mode 0644/);
    chmodSync(root, 0o600);
    const dir = join(ca.dataDir, 'pki');
    chmodSync(dir, 0o755);
    await refusedToOpen(ca.dataDir, 'ZT_PKI_KEY_PERMISSIONS', /directory .* has mode 0755/);
    chmodSync(dir, 0o700);
    chmodSync(key, 0o400);
    assert.ok(await Pki.open({ dataDir: ca.dataDir, store: ca.store }), '0400 is fine');
    chmodSync(key, 0o600);
  });

  it('refuses to replace an existing CA', async () => {
    await assert.rejects(
      initCa({ dataDir: ca.dataDir, trustDomain: 'example.org' }),
      (err: PkiError) => err.code === 'ZT_PKI_CA_EXISTS',
    );
  });

  it('refuses a key that does not belong to its certificate, and a missing CA', async () => {
    const other = await testCa();
    try {
      const key = join(other.dataDir, 'pki', 'intermediate.key');
      copyFileSync(join(ca.dataDir, 'pki', 'intermediate.key'), key);
      await refusedToOpen(other.dataDir, 'ZT_PKI_KEY_INVALID', /is not the key of/);
      write(join(other.dataDir, 'pki'), 'intermediate.key', 'not a key');
      await refusedToOpen(other.dataDir, 'ZT_PKI_KEY_INVALID', /is not a PEM private key/);
    } finally {
      other.cleanup();
    }
    await refusedToOpen(join(ca.dir, 'nowhere'), 'ZT_PKI_CA_NOT_FOUND', /no `pki` directory/);
  });

  it('encrypts the root key with a passphrase: standard encrypted PKCS#8 under scrypt', async () => {
    const t = tempDir();
    try {
      const dataDir = join(t.dir, 'data');
      await assert.rejects(
        initCa({ dataDir, trustDomain: 'example.org', rootPassphrase: 'short' }),
        (e: PkiError) => e.code === 'ZT_PKI_PASSPHRASE_INVALID',
      );
      const passphrase = 'correct horse battery staple';
      const result = await initCa({
        dataDir,
        trustDomain: 'example.org',
        rootPassphrase: passphrase,
      });
      assert.equal(result.root.keyEncrypted, true);
      const pem = readFileSync(join(dataDir, 'pki', 'root.key'), 'utf8');
      assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      const { stdout } = await execFileP('openssl', [
        'asn1parse',
        '-in',
        join(dataDir, 'pki', 'root.key'),
      ]);
      assert.match(stdout, /PBES2/);
      assert.match(stdout, /aes-256-cbc/);
      const meta = JSON.parse(readFileSync(join(dataDir, 'pki', 'ca.json'), 'utf8')) as CaMeta;
      assert.equal(meta.root_key.kdf?.name, 'scrypt');
      assert.equal(meta.root_key.kdf?.N, 2 ** 17);
      // openssl opens it with the stretched passphrase: nothing proprietary in the file
      const kdf = meta.root_key.kdf;
      const stretched = scryptSync(passphrase, Buffer.from(kdf.salt, 'base64'), 32, {
        N: kdf.N,
        r: kdf.r,
        p: kdf.p,
        maxmem: 512 * 1024 * 1024,
      });
      const plain = await execFileP('openssl', [
        'pkey',
        '-in',
        join(dataDir, 'pki', 'root.key'),
        '-passin',
        `pass:${stretched.toString('base64')}`,
      ]);
      assert.match(plain.stdout, /BEGIN PRIVATE KEY/);
      // the online CA loads without the passphrase: only the root key needs it
      const pki = await Pki.open({ dataDir, store: new MemoryCertificateStore() });
      pki.close();
      await assert.rejects(
        loadRootKey(dataDir, undefined),
        (e: PkiError) => e.code === 'ZT_PKI_PASSPHRASE_REQUIRED',
      );
      await assert.rejects(
        loadRootKey(dataDir, 'wrong passphrase'),
        (e: PkiError) =>
          e.code === 'ZT_PKI_PASSPHRASE_WRONG' && !e.message.includes('wrong passphrase'),
      );
      const key = await loadRootKey(dataDir, passphrase);
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    } finally {
      t.cleanup();
    }
  });

  it('rotates the intermediate: new certificates chain through the new one, old ones keep verifying', async () => {
    const { csr } = await keyAndCsr();
    const old = await ca.pki.issue(
      { type: 'svid', csr, spiffeId: 'spiffe://example.org/before' },
      OPERATOR,
    );
    const rotated = await rotateIntermediate({ dataDir: ca.dataDir, store: ca.store });
    assert.equal(rotated.previousSerial, ca.pki.ca.intermediate.serial);
    const pki = await Pki.open({ dataDir: ca.dataDir, store: ca.store });
    try {
      assert.equal(pki.ca.intermediate.serial, rotated.serial);
      const fresh = await pki.issue(
        { type: 'svid', csr, spiffeId: 'spiffe://example.org/after' },
        OPERATOR,
      );
      assert.ok(pki.validator.verify(fresh.der, { purpose: 'client', profile: 'svid' }).ok);
      assert.ok(
        pki.validator.verify(old.der, { purpose: 'client', profile: 'svid' }).ok,
        'issued by the previous intermediate',
      );
      const leaf = write(ca.dir, 'after.pem', fresh.pem);
      await execFileP('openssl', [
        'verify',
        '-CAfile',
        ca.rootFile,
        '-untrusted',
        join(ca.dataDir, 'pki', 'intermediate.crt'),
        leaf,
      ]);
      assert.equal(mode(join(ca.dataDir, 'pki', 'intermediate.key')), '600');
      assert.equal((await ca.store.list({ kind: 'ca' })).length, 3);
    } finally {
      pki.close();
    }
  });
});
