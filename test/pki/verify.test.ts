/**
 * Path validation with a typed reason for every refusal. The regression this guards against is
 * the chain builder used as validation: each case below builds a complete chain to the trusted
 * root, and is still refused because a date, the CA flag, the path length, the key usage, the EKU,
 * the names or the revocation status is wrong.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  assertVerified,
  RevocationSet,
  type RefusalReason,
  type Verdict,
} from '../../src/pki/index.js';
import { EKU, ext, forge, KU, loadSigner, type Signer } from './forge.js';
import { keyAndCsr, OPERATOR, testCa, type TestCa } from './helpers.js';
import { x509 } from '../../src/pki/x509.js';

let ca: TestCa;
let other: TestCa;
let root: Signer;
let intermediate: Signer;
let csr: string;

before(async () => {
  [ca, other] = await Promise.all([testCa(), testCa()]);
  root = loadSigner(join(ca.dataDir, 'pki'), 'root');
  intermediate = loadSigner(join(ca.dataDir, 'pki'), 'intermediate');
  csr = (await keyAndCsr()).csr;
});
after(() => {
  ca.cleanup();
  other.cleanup();
});

function refusedWith(v: Verdict, reason: RefusalReason, message?: RegExp, depth?: number): void {
  assert.equal(v.ok, false, 'expected a refusal');
  if (v.ok) return;
  assert.equal(v.reason, reason, v.message);
  if (message) assert.match(v.message, message);
  if (depth !== undefined) assert.equal(v.depth, depth);
}

const client = { purpose: 'client' } as const;

describe('path validation', () => {
  it('accepts each certificate type for its purpose and returns who it identifies', async () => {
    const device = await ca.pki.issue(
      { type: 'device', csr, deviceId: 'laptop-1', userId: 'alice' },
      OPERATOR,
    );
    const v = ca.pki.validator.verify(device.der, { ...client, profile: 'device' });
    assert.ok(v.ok, v.ok ? '' : v.message);
    assert.equal(v.identity.deviceId, 'laptop-1');
    assert.equal(v.identity.userId, 'alice');
    assert.equal(v.chain.length, 3);
    const svid = await ca.pki.issue(
      { type: 'svid', csr, spiffeId: 'spiffe://example.org/ns/a' },
      OPERATOR,
    );
    const s = ca.pki.validator.verify(svid.der, { ...client, profile: 'svid' });
    assert.ok(s.ok && s.identity.spiffeId === 'spiffe://example.org/ns/a');
    const server = await ca.pki.issue({ type: 'server', csr, dns: ['app.localhost'] }, OPERATOR);
    assert.ok(ca.pki.validator.verify(server.der, { purpose: 'server' }).ok);
  });

  it('expired and not-yet-valid, at a given time', async () => {
    const now = Date.now();
    const expired = await ca.pki.issue(
      {
        type: 'device',
        csr,
        deviceId: 'd',
        userId: 'u',
        notBefore: new Date(now - 7_200_000),
        notAfter: new Date(now - 3_600_000),
      },
      OPERATOR,
    );
    refusedWith(
      ca.pki.validator.verify(expired.der, client),
      'expired',
      /the certificate expired at \d{4}-/,
      0,
    );
    assert.ok(
      ca.pki.validator.verify(expired.der, { ...client, at: now - 5_400_000 }).ok === false,
      'before the CA existed',
    );
    const future = await ca.pki.issue(
      {
        type: 'device',
        csr,
        deviceId: 'd',
        userId: 'u',
        notBefore: new Date(now + 3_600_000),
        notAfter: new Date(now + 7_200_000),
      },
      OPERATOR,
    );
    refusedWith(
      ca.pki.validator.verify(future.der, client),
      'not-yet-valid',
      /not valid before/,
      0,
    );
    assert.ok(
      ca.pki.validator.verify(future.der, { ...client, at: new Date(now + 4_000_000) }).ok,
      'valid once its time comes',
    );
    // the intermediate's own dates count too
    const fresh = await ca.pki.issue({ type: 'device', csr, deviceId: 'd', userId: 'u' }, OPERATOR);
    refusedWith(
      ca.pki.validator.verify(fresh.der, { ...client, at: ca.pki.ca.intermediate.notAfter + 1000 }),
      'expired',
    );
  });

  it('wrong CA: a certificate from another CA with the very same names', async () => {
    const foreign = await other.pki.issue(
      { type: 'device', csr, deviceId: 'd', userId: 'u' },
      OPERATOR,
    );
    refusedWith(
      ca.pki.validator.verify(foreign.der, client),
      'unknown-issuer',
      /with a different key, which is not a CA this server trusts/,
      0,
    );
    // presenting the other CA's intermediate does not help: it does not chain to our root
    refusedWith(
      ca.pki.validator.verify(foreign.der, {
        ...client,
        presented: [other.pki.ca.intermediate.der],
      }),
      'unknown-issuer',
      undefined,
      1,
    );
  });

  it('a tampered certificate', async () => {
    const c = await ca.pki.issue({ type: 'device', csr, deviceId: 'd', userId: 'u' }, OPERATOR);
    const der = Buffer.from(c.der);
    der[der.length - 3] = (der[der.length - 3] as number) ^ 0xff;
    refusedWith(ca.pki.validator.verify(der, client), 'bad-signature', /was altered/);
    refusedWith(ca.pki.validator.verify(Buffer.from('junk'), client), 'malformed');
    refusedWith(ca.pki.validator.verify(undefined, client), 'no-certificate');
    assert.throws(
      () => assertVerified(ca.pki.validator.verify(der, client)),
      /^PkiError: bad-signature: /,
    );
    assert.equal(assertVerified(ca.pki.validator.verify(c.der, client)).serial, c.serial);
  });

  it('wrong EKU: a server certificate used as a client certificate', async () => {
    const server = await ca.pki.issue({ type: 'server', csr, dns: ['app.localhost'] }, OPERATOR);
    refusedWith(
      ca.pki.validator.verify(server.der, client),
      'wrong-eku',
      /not for TLS clients: its extended key usage lacks clientAuth/,
    );
    const none = await forge({
      issuer: intermediate,
      subject: 'CN=no-eku',
      extensions: ext('leaf'),
    });
    refusedWith(ca.pki.validator.verify(none.der, client), 'wrong-eku', /is missing/);
  });

  it('CA flag missing on an intermediate, even one the root signed', async () => {
    const fakeCa = await forge({
      issuer: root,
      subject: 'O=ztgate, CN=not really a CA',
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(KU.keyCertSign, true),
      ],
    });
    const leaf = await forge({
      issuer: { cert: fakeCa.cert, key: fakeCa.key },
      subject: 'CN=leaf',
      extensions: [...ext('leaf'), new x509.ExtendedKeyUsageExtension([EKU.clientAuth])],
    });
    refusedWith(
      ca.pki.validator.verify(leaf.der, { ...client, presented: [fakeCa.der] }),
      'ca-flag-missing',
      /not a CA certificate \(basicConstraints cA is not set\)/,
      1,
    );
    const noBc = await forge({
      issuer: root,
      subject: 'CN=no basic constraints',
      extensions: [new x509.KeyUsagesExtension(KU.keyCertSign, true)],
    });
    const leaf2 = await forge({
      issuer: { cert: noBc.cert, key: noBc.key },
      subject: 'CN=leaf',
      extensions: [new x509.ExtendedKeyUsageExtension([EKU.clientAuth])],
    });
    refusedWith(
      ca.pki.validator.verify(leaf2.der, { ...client, presented: [noBc.der] }),
      'ca-flag-missing',
      undefined,
      1,
    );
  });

  it('path length: a sub-CA below the pathlen:0 intermediate', async () => {
    const sub = await forge({ issuer: intermediate, subject: 'CN=sub CA', extensions: ext('ca') });
    const leaf = await forge({
      issuer: { cert: sub.cert, key: sub.key },
      subject: 'CN=leaf',
      extensions: [...ext('leaf'), new x509.ExtendedKeyUsageExtension([EKU.clientAuth])],
    });
    refusedWith(
      ca.pki.validator.verify(leaf.der, { ...client, presented: [sub.der] }),
      'path-length-exceeded',
      /allows 0 intermediate/,
      2,
    );
  });

  it('key usage: an issuer without keyCertSign, a leaf without digitalSignature', async () => {
    const noSign = await forge({
      issuer: root,
      subject: 'CN=ca without keyCertSign',
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(KU.cRLSign, true),
      ],
    });
    const leaf = await forge({
      issuer: { cert: noSign.cert, key: noSign.key },
      subject: 'CN=leaf',
      extensions: [...ext('leaf'), new x509.ExtendedKeyUsageExtension([EKU.clientAuth])],
    });
    refusedWith(
      ca.pki.validator.verify(leaf.der, { ...client, presented: [noSign.der] }),
      'wrong-key-usage',
      /keyCertSign/,
      1,
    );
    const keyOnly = await forge({
      issuer: intermediate,
      subject: 'CN=leaf',
      extensions: [
        new x509.KeyUsagesExtension(KU.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([EKU.clientAuth]),
      ],
    });
    refusedWith(
      ca.pki.validator.verify(keyOnly.der, client),
      'wrong-key-usage',
      /digitalSignature/,
    );
  });

  it('a CA certificate presented as a leaf', async () => {
    refusedWith(ca.pki.validator.verify(ca.pki.ca.root.der, client), 'leaf-is-ca');
    const caLeaf = await forge({
      issuer: intermediate,
      subject: 'CN=sneaky',
      extensions: [...ext('ca'), new x509.ExtendedKeyUsageExtension([EKU.clientAuth])],
    });
    refusedWith(ca.pki.validator.verify(caLeaf.der, client), 'leaf-is-ca');
  });

  it('an unknown critical extension', async () => {
    const c = await forge({
      issuer: intermediate,
      subject: 'CN=leaf',
      extensions: [
        ...ext('leaf'),
        new x509.ExtendedKeyUsageExtension([EKU.clientAuth]),
        new x509.CertificatePolicyExtension(['1.2.3.4'], true),
      ],
    });
    refusedWith(
      ca.pki.validator.verify(c.der, client),
      'unsupported-critical-extension',
      /2\.5\.29\.32/,
    );
  });

  it('revoked, by the leaf serial or by an issuer on the path', async () => {
    const c = await ca.pki.issue({ type: 'device', csr, deviceId: 'd', userId: 'u' }, OPERATOR);
    const set = new RevocationSet();
    assert.ok(ca.pki.validator.verify(c.der, { ...client, revocation: set }).ok);
    set.add(c.serial.toUpperCase().replace(/(..)/g, '$1:').slice(0, -1));
    refusedWith(
      ca.pki.validator.verify(c.der, { ...client, revocation: set }),
      'revoked',
      new RegExp(`serial ${c.serial}`),
      0,
    );
    const set2 = new RevocationSet([ca.pki.ca.intermediate.serial]);
    refusedWith(
      ca.pki.validator.verify(c.der, { ...client, revocation: set2 }),
      'revoked',
      /issuing CA certificate at depth 1/,
      1,
    );
  });

  it('SPIFFE X.509-SVID rules: one URI SAN, a valid SPIFFE ID of this trust domain, no CA key usage', async () => {
    const eku = new x509.ExtendedKeyUsageExtension([EKU.serverAuth, EKU.clientAuth]);
    const svid = (uris: string[], extra: x509.Extension[] = ext('leaf')) =>
      forge({
        issuer: intermediate,
        subject: 'O=x',
        extensions: [
          ...extra,
          eku,
          new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url', value }))),
        ],
      });
    const profile = { ...client, profile: 'svid' } as const;
    assert.ok(ca.pki.validator.verify((await svid(['spiffe://example.org/a'])).der, profile).ok);
    refusedWith(
      ca.pki.validator.verify(
        (await svid(['spiffe://example.org/a', 'spiffe://example.org/b'])).der,
        profile,
      ),
      'invalid-spiffe-id',
      /exactly one URI name, this certificate has 2/,
    );
    refusedWith(
      ca.pki.validator.verify((await svid(['spiffe://example.org'])).der, profile),
      'invalid-spiffe-id',
      /has no path/,
    );
    refusedWith(
      ca.pki.validator.verify((await svid(['spiffe://example.org/a/../b'])).der, profile),
      'invalid-spiffe-id',
      /dot segment/,
    );
    refusedWith(
      ca.pki.validator.verify((await svid(['spiffe://evil.org/a'])).der, profile),
      'wrong-trust-domain',
    );
    refusedWith(
      ca.pki.validator.verify(
        (
          await svid(
            ['spiffe://example.org/a'],
            [
              new x509.BasicConstraintsExtension(false),
              new x509.KeyUsagesExtension(KU.digitalSignature | KU.keyCertSign, true),
            ],
          )
        ).der,
        profile,
      ),
      'wrong-key-usage',
      /keyCertSign or cRLSign/,
    );
    refusedWith(
      ca.pki.validator.verify((await svid(['spiffe://example.org/a'], [])).der, profile),
      'wrong-key-usage',
      /no key usage/,
    );
  });

  it('every issued SVID passes the X.509-SVID checks', async () => {
    for (let i = 0; i < 20; i++) {
      const svid = await ca.pki.issue(
        { type: 'svid', csr, spiffeId: `spiffe://example.org/ns/n${i}/sa/s${i}` },
        OPERATOR,
      );
      const c = ca.pki.validator.parse(svid.der);
      assert.equal(c.basicConstraints?.ca, false);
      assert.equal(c.keyUsage, KU.digitalSignature);
      assert.deepEqual(c.extKeyUsage, [EKU.serverAuth, EKU.clientAuth]);
      assert.deepEqual(c.san, {
        dns: [],
        ips: [],
        uris: [`spiffe://example.org/ns/n${i}/sa/s${i}`],
        other: 0,
      });
      assert.equal(c.notAfter - c.notBefore, 3_600_000 + 30_000);
      assert.ok(ca.pki.validator.verify(svid.der, { ...client, profile: 'svid' }).ok);
      assert.ok(ca.pki.validator.verify(svid.der, { purpose: 'server', profile: 'svid' }).ok);
    }
  });
});
