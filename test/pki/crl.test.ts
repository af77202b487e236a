/**
 * The CRL stays fresh: a stale one (past half of its validity) is regenerated on the next request,
 * a revocation regenerates it at once, a failed regeneration serves the previous CRL only while
 * it is valid, and the HTTP handler answers 503 rather than serve an expired one.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCrlHandler, CrlPublisher, loadCaMaterial } from '../../src/pki/index.js';
import type { CertificateStore } from '../../src/store/store.js';
import { x509 } from '../../src/pki/x509.js';
import { keyAndCsr, OPERATOR, testCa, type TestCa } from './helpers.js';

const HOUR = 3_600_000;
let clock = Date.now();
let ca: TestCa;

before(async () => {
  ca = await testCa({ now: () => clock });
});
after(() => ca.cleanup());

describe('CRL freshness', () => {
  it('is generated on first use, signed by the intermediate, valid 24 hours', async () => {
    const crl = await ca.pki.crl.current();
    assert.equal(crl.nextUpdate - crl.thisUpdate, 24 * HOUR);
    const parsed = new x509.X509Crl(crl.der);
    assert.ok(
      await parsed.verify({ publicKey: new x509.X509Certificate(ca.pki.ca.intermediate.der) }),
    );
    assert.equal(parsed.issuer, ca.pki.ca.intermediate.subject);
    assert.deepEqual(
      readFileSync(join(ca.dataDir, 'pki', 'crl.der')),
      crl.der,
      'written to <data_dir>/pki/crl.der',
    );
  });

  it('is served unchanged while fresh, and regenerated once stale (half of its validity)', async () => {
    const a = await ca.pki.crl.current();
    clock += 11 * HOUR;
    assert.equal(ca.pki.crl.isStale(), false);
    assert.equal(await ca.pki.crl.current(), a);
    clock += 1 * HOUR + 1000;
    assert.equal(ca.pki.crl.isStale(), true, 'stale past its refresh time');
    const b = await ca.pki.crl.current();
    assert.notEqual(b, a);
    assert.equal(b.thisUpdate, Math.floor(clock / 1000) * 1000);
    assert.ok(b.number > a.number, 'the CRL number increases');
    assert.ok(b.nextUpdate > a.nextUpdate);
  });

  it('is regenerated at once when a certificate is revoked', async () => {
    const before = await ca.pki.crl.current();
    const c = await ca.pki.issue(
      { type: 'svid', csr: (await keyAndCsr()).csr, spiffeId: 'spiffe://example.org/x' },
      OPERATOR,
    );
    clock += 1000;
    await ca.pki.revoke({ serial: c.serial }, 'superseded');
    assert.equal(ca.pki.crl.isStale(), false);
    const after = await ca.pki.crl.current();
    assert.equal(after.entries, before.entries + 1);
    const entry = new x509.X509Crl(after.der).findRevoked(c.serial);
    assert.equal(entry?.reason, x509.X509CrlReason.superseded);
  });

  it('a revocation that arrives from another replica makes it stale', async () => {
    await ca.pki.crl.current();
    ca.pki.revocations.add('0123456789abcdef');
    assert.equal(ca.pki.crl.isStale(), true);
  });

  it('serves the previous CRL while it is valid when regeneration fails, then fails closed', async () => {
    const warnings: string[] = [];
    let broken = false;
    const store: CertificateStore = {
      create: (c) => ca.store.create(c),
      get: (serial) => ca.store.get(serial),
      revoke: (serial, at, reason) => ca.store.revoke(serial, at, reason),
      list: (f) => (broken ? Promise.reject(new Error('database down')) : ca.store.list(f)),
    };
    const publisher = new CrlPublisher({
      issuer: loadCaMaterial(ca.dataDir),
      store,
      now: () => clock,
      onWarning: (code, message) => warnings.push(`${code}: ${message}`),
    });
    const good = await publisher.current();
    broken = true;
    clock += 13 * HOUR;
    assert.equal(await publisher.current(), good, 'the previous CRL, still valid');
    assert.match(warnings[0] ?? '', /^ZT_PKI_CRL_FAILED: .*database down/);

    const server: Server = createServer(createCrlHandler(publisher));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      let res = await fetch(base);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/pkix-crl');
      clock += 12 * HOUR; // past nextUpdate
      res = await fetch(base);
      assert.equal(res.status, 503, 'never an expired CRL');
      assert.deepEqual(await res.json(), {
        error: 'crl_unavailable',
        message: 'the certificate revocation list is unavailable',
      });
      broken = false;
      res = await fetch(base, { method: 'HEAD' });
      assert.equal(res.status, 200, 'recovers on its own');
      assert.equal(Number(res.headers.get('content-length')) > 0, true);
      res = await fetch(base, { method: 'POST' });
      assert.equal(res.status, 405);
    } finally {
      server.close();
    }
  });
});
