import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createCsr } from '../../pki/ca/csr.js';
import { generateP256, initCa } from '../../pki/ca/init.js';
import { Pki } from '../../pki/pki.js';
import { openStore } from '../../store/open.js';
import { tempDir } from '../../store/testing.js';
import { ENROLLMENT_POLICY, pkiDeviceIssuer } from './device-issuer.js';

describe('the internal CA as the device certificate issuer', async () => {
  const dataDir = tempDir();
  const store = await openStore({ kind: 'sqlite', dataDir, create: true });
  await initCa({ dataDir, trustDomain: 'example.org', store: store.certificates });
  const pki = await Pki.open({ dataDir, store: store.certificates });
  after(async () => {
    pki.close();
    await store.close();
  });

  it('issues a client certificate bound to the device and user, and announces revocations', async () => {
    const announced: string[] = [];
    const issuer = pkiDeviceIssuer(pki, {
      ttlMs: 3_600_000,
      onRevoked: (serial) => {
        announced.push(serial);
        return Promise.resolve();
      },
    });
    const { privateKey, publicKey } = generateP256();
    const issued = await issuer.issueDeviceCertificate({
      csrPem: await createCsr(privateKey, publicKey),
      deviceId: 'dev-1',
      userId: 'u-1',
    });
    const cert = new X509Certificate(issued.certificatePem);
    assert.match(cert.subjectAltName ?? '', /urn:ztgate:device:dev-1/);
    assert.ok(cert.checkPrivateKey(privateKey), 'for the CSR key');
    assert.ok(issued.notAfter - Date.now() <= 3_600_000 + 60_000, 'the configured lifetime');
    const chain = issued.chainPem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
    assert.equal(chain.length, 2, 'intermediate and root, leaf excluded');
    assert.ok(cert.verify(new X509Certificate(pki.ca.intermediatePem).publicKey));

    await issuer.revokeCertificate?.(issued.serial, 'keyCompromise');
    assert.deepEqual(announced, [issued.serial]);
    assert.equal(pki.revocations.isRevoked(issued.serial), true);
  });

  it('never issues anything but device certificates', async () => {
    const { privateKey, publicKey } = generateP256();
    await assert.rejects(
      pki.issue(
        { type: 'server', csr: await createCsr(privateKey, publicKey), dns: ['evil.example'] },
        // the same policy the issuer uses, asked for a server certificate
        { requester: 'enrollment', policy: ENROLLMENT_POLICY },
      ),
      /not allowed|NAME_NOT_ALLOWED|may not/i,
    );
  });
});
