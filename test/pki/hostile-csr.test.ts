/**
 * Hostile certificate signing requests: each is refused with its own code and a clear message,
 * and nothing is recorded in the store. Requests come from node:crypto and from the real openssl.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeCsr, IssuancePolicy, PkiError, type IssueRequest } from '../../src/pki/index.js';
import {
  execFileP,
  keyAndCsr,
  OPERATOR,
  opensslKeyAndCsr,
  testCa,
  type TestCa,
} from './helpers.js';

let ca: TestCa;
let good: string;

before(async () => {
  ca = await testCa();
  good = (await keyAndCsr()).csr;
});
after(() => ca.cleanup());

/** `spiffeId: undefined` removes the default SPIFFE ID (for requests of other types). */
type Loose = { [K in keyof IssueRequest]?: IssueRequest[K] | undefined };

async function refused(
  request: Loose & { csr: IssueRequest['csr'] },
  code: string,
  message: RegExp,
  auth: { requester: string; policy: IssuancePolicy } = OPERATOR,
): Promise<void> {
  const before = (await ca.store.list()).length;
  await assert.rejects(
    ca.pki.issue(
      Object.fromEntries(
        Object.entries({ type: 'svid', spiffeId: 'spiffe://example.org/w', ...request }).filter(
          ([, v]) => v !== undefined,
        ),
      ) as unknown as IssueRequest,
      auth,
    ),
    (err: unknown) => {
      assert.ok(err instanceof PkiError, `expected a PkiError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.match(err.message, message);
      assert.ok(!/-----BEGIN/.test(err.message), 'the message must not echo the request');
      return true;
    },
  );
  assert.equal((await ca.store.list()).length, before, 'nothing may be recorded');
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function derToPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

describe('hostile CSRs', () => {
  it('a signature that does not match the public key', async () => {
    const der = pemToDer(good);
    const tampered = Buffer.from(der);
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] as number) ^ 0x01;
    await refused({ csr: tampered }, 'ZT_PKI_CSR_SIGNATURE', /does not match its public key/);
  });

  it('a request whose public key was swapped for another one', async () => {
    const a = decodeCsr(good);
    const b = decodeCsr((await keyAndCsr()).csr);
    // Same structure and signature, the other request's key: the signature no longer verifies.
    const swapped = Buffer.concat([
      a.der.subarray(0, a.der.indexOf(a.spki)),
      b.spki,
      a.der.subarray(a.der.indexOf(a.spki) + a.spki.length),
    ]);
    await refused({ csr: swapped }, 'ZT_PKI_CSR_SIGNATURE', /does not match/);
  });

  it('oversized input (> 64 KiB), PEM or DER', async () => {
    await refused(
      { csr: `${good}\n${' '.repeat(70 * 1024)}` },
      'ZT_PKI_CSR_TOO_LARGE',
      /more than the 64 KiB/,
    );
    await refused({ csr: Buffer.alloc(65 * 1024, 0x30) }, 'ZT_PKI_CSR_TOO_LARGE', /64 KiB/);
  });

  it('malformed DER: truncated, trailing bytes, BER indefinite length, garbage, empty', async () => {
    const der = pemToDer(good);
    await refused(
      { csr: der.subarray(0, der.length - 10) },
      'ZT_PKI_CSR_MALFORMED',
      /not well-formed DER/,
    );
    await refused(
      { csr: Buffer.concat([der, Buffer.from([0, 0])]) },
      'ZT_PKI_CSR_MALFORMED',
      /trailing bytes/,
    );
    const ber = Buffer.concat([
      Buffer.from([0x30, 0x80]),
      der.subarray(der[1] === 0x82 ? 4 : 3),
      Buffer.from([0, 0]),
    ]);
    await refused({ csr: ber }, 'ZT_PKI_CSR_MALFORMED', /indefinite length/);
    await refused(
      { csr: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]) },
      'ZT_PKI_CSR_MALFORMED',
      /not well-formed DER/,
    );
    await refused(
      { csr: Buffer.from('\x00\x01\x02 binary junk') },
      'ZT_PKI_CSR_MALFORMED',
      /neither PEM nor DER/,
    );
    await refused({ csr: '' }, 'ZT_PKI_CSR_MALFORMED', /empty/);
  });

  it('PEM with garbage: text around the block, bad base64, headers, the wrong label, two blocks', async () => {
    await refused(
      { csr: `Certificate Request:\n    Data: ...\n${good}` },
      'ZT_PKI_CSR_MALFORMED',
      /text before its PEM block/,
    );
    await refused(
      { csr: `${good}trailing garbage\n` },
      'ZT_PKI_CSR_MALFORMED',
      /text after its PEM block/,
    );
    await refused({ csr: `${good}${good}` }, 'ZT_PKI_CSR_MALFORMED', /text after its PEM block/);
    await refused(
      { csr: good.replace(/\n([A-Za-z0-9+/]{10})/, '\n$1!!') },
      'ZT_PKI_CSR_MALFORMED',
      /not valid base64/,
    );
    await refused(
      { csr: good.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n') },
      'ZT_PKI_CSR_MALFORMED',
      /headers/,
    );
    await refused(
      { csr: good.replaceAll('CERTIFICATE REQUEST', 'CERTIFICATE') },
      'ZT_PKI_CSR_MALFORMED',
      /is a `CERTIFICATE`/,
    );
    await refused(
      { csr: good.replace(/-----END[^\n]+\n?$/, '') },
      'ZT_PKI_CSR_MALFORMED',
      /no END line/,
    );
    // a valid request re-wrapped is still accepted: the checks are about form, not line lengths
    const rewrapped = derToPem(pemToDer(good)).replace(/\n/g, '\r\n');
    const issued = await ca.pki.issue(
      { type: 'svid', csr: rewrapped, spiffeId: 'spiffe://example.org/ok' },
      OPERATOR,
    );
    assert.match(issued.serial, /^[0-9a-f]{32}$/);
  });

  it('keys ztgate does not certify (RSA 1024, secp256k1)', async () => {
    const dir = ca.path('');
    await execFileP('openssl', ['genrsa', '-out', `${dir}/rsa1024.key`, '1024']);
    await execFileP('openssl', [
      'req',
      '-new',
      '-key',
      `${dir}/rsa1024.key`,
      '-subj',
      '/CN=x',
      '-out',
      `${dir}/rsa1024.csr`,
    ]);
    await refused(
      { csr: readFileSync(`${dir}/rsa1024.csr`, 'utf8') },
      'ZT_PKI_CSR_KEY_UNSUPPORTED',
      /RSA key of 1024 bits/,
    );
    await execFileP('openssl', [
      'ecparam',
      '-name',
      'secp256k1',
      '-genkey',
      '-noout',
      '-out',
      `${dir}/k1.key`,
    ]);
    await execFileP('openssl', [
      'req',
      '-new',
      '-key',
      `${dir}/k1.key`,
      '-subj',
      '/CN=x',
      '-out',
      `${dir}/k1.csr`,
    ]);
    await refused(
      { csr: readFileSync(`${dir}/k1.csr`, 'utf8') },
      'ZT_PKI_CSR_KEY_UNSUPPORTED',
      /curve `secp256k1`/,
    );
  });

  it('names outside the requester allowance', async () => {
    const policy = IssuancePolicy.parse(`
requesters:
  - name: web-team
    types: [server]
    dns: ['*.web.example.org']
    ips: [10.1.0.0/16]
  - name: spiffe://example.org/ns/ci/sa/deployer
    types: [svid]
    spiffe_ids: [spiffe://example.org/ns/ci]
    max_ttl: 2h
  - name: "device:laptop-*"
    types: [device]
    devices: [laptop-*]
    users: [alice]
`);
    const web = { requester: 'web-team', policy };
    await refused(
      { type: 'server', spiffeId: undefined, csr: good, dns: ['evil.example.org'] },
      'ZT_PKI_NAME_NOT_ALLOWED',
      /`web-team` may not obtain a certificate for the DNS name `evil.example.org`/,
      web,
    );
    await refused(
      { type: 'server', spiffeId: undefined, csr: good, dns: ['a.b.web.example.org'] },
      'ZT_PKI_NAME_NOT_ALLOWED',
      /a\.b\.web/,
      web,
    );
    await refused(
      {
        type: 'server',
        spiffeId: undefined,
        csr: good,
        dns: ['a.web.example.org'],
        ips: ['10.2.0.1'],
      },
      'ZT_PKI_NAME_NOT_ALLOWED',
      /IP address `10.2.0.1`/,
      web,
    );
    await refused(
      { csr: good, spiffeId: 'spiffe://example.org/ns/ci2/x' },
      'ZT_PKI_NAME_NOT_ALLOWED',
      /may not obtain an SVID \(allowed types: server\)/,
      web,
    );
    const ci = { requester: 'spiffe://example.org/ns/ci/sa/deployer', policy };
    await refused(
      { csr: good, spiffeId: 'spiffe://example.org/ns/cicd/x' },
      'ZT_PKI_NAME_NOT_ALLOWED',
      /an SVID for `spiffe:\/\/example.org\/ns\/cicd\/x`/,
      ci,
    );
    await refused(
      { csr: good, spiffeId: 'spiffe://example.org/ns/ci/x', ttlMs: 3 * 3_600_000 },
      'ZT_PKI_NAME_NOT_ALLOWED',
      /valid for 3h \(at most 2h\)/,
      ci,
    );
    const device = { requester: 'device:laptop-7', policy };
    await refused(
      { type: 'device', spiffeId: undefined, csr: good, deviceId: 'laptop-7', userId: 'mallory' },
      'ZT_PKI_NAME_NOT_ALLOWED',
      /user `mallory`/,
      device,
    );
    await refused({ csr: good }, 'ZT_PKI_NAME_NOT_ALLOWED', /no entry for the requester `nobody`/, {
      requester: 'nobody',
      policy,
    });
    // and what is inside the allowance is issued
    assert.ok(
      await ca.pki.issue(
        { type: 'server', csr: good, dns: ['A.web.example.org'], ips: ['10.1.2.3'] },
        web,
      ),
    );
    assert.ok(
      await ca.pki.issue(
        { type: 'svid', csr: good, spiffeId: 'spiffe://example.org/ns/ci/runner/7' },
        ci,
      ),
    );
    assert.ok(
      await ca.pki.issue(
        { type: 'device', csr: good, deviceId: 'laptop-7', userId: 'alice' },
        device,
      ),
    );
  });

  it('malformed names and SPIFFE IDs, and names of the wrong type', async () => {
    await refused(
      { type: 'server', spiffeId: undefined, csr: good, dns: ['exa mple.org'] },
      'ZT_PKI_NAME_INVALID',
      /labels hold letters/,
    );
    await refused(
      { type: 'server', spiffeId: undefined, csr: good, dns: ['a.*.example.org'] },
      'ZT_PKI_NAME_INVALID',
      /wildcard that is not the leftmost/,
    );
    await refused(
      { type: 'server', spiffeId: undefined, csr: good, dns: ['bücher.de'] },
      'ZT_PKI_NAME_INVALID',
      /not ASCII/,
    );
    await refused(
      { type: 'server', spiffeId: undefined, csr: good, ips: ['10.0.0.1/8'] },
      'ZT_PKI_NAME_INVALID',
      /not an IPv4 or IPv6 address/,
    );
    await refused(
      { type: 'server', spiffeId: undefined, csr: good },
      'ZT_PKI_NAME_INVALID',
      /at least one DNS name/,
    );
    await refused(
      { type: 'server', csr: good, dns: ['x.org'] },
      'ZT_PKI_NAME_INVALID',
      /does not take `spiffeId`/,
    );
    await refused(
      { csr: good, spiffeId: 'spiffe://other.org/x' },
      'ZT_PKI_SPIFFE_ID_INVALID',
      /trust domain `other.org`, but this CA is for `example.org`/,
    );
    await refused(
      { csr: good, spiffeId: 'spiffe://example.org/a/*' },
      'ZT_PKI_SPIFFE_ID_INVALID',
      /wildcard/,
    );
    await refused(
      { type: 'device', spiffeId: undefined, csr: good, deviceId: '../etc', userId: 'u' },
      'ZT_PKI_NAME_INVALID',
      /device id `..\/etc`/,
    );
    await refused(
      { csr: good, ttlMs: 48 * 3_600_000 },
      'ZT_PKI_VALIDITY_INVALID',
      /an SVID is valid for 1d at most, not 2d/,
    );
  });

  it("a CSR asking for CA:TRUE, a subject and SANs still gets an ordinary leaf with the CA's names", async () => {
    const dir = ca.path('');
    const { csrFile } = await opensslKeyAndCsr(dir, 'greedy', '/CN=root-of-all/O=evil');
    await execFileP('openssl', [
      'req',
      '-new',
      '-key',
      `${dir}/greedy.key`,
      '-subj',
      '/CN=root-of-all',
      '-out',
      csrFile,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'subjectAltName=DNS:evil.example,URI:spiffe://example.org/admin',
    ]);
    const issued = await ca.pki.issue(
      { type: 'svid', csr: readFileSync(csrFile), spiffeId: 'spiffe://example.org/ns/x' },
      OPERATOR,
    );
    const cert = ca.pki.validator.parse(issued.der);
    assert.equal(cert.basicConstraints?.ca, false);
    assert.deepEqual(cert.san?.uris, ['spiffe://example.org/ns/x']);
    assert.deepEqual(cert.san?.dns, []);
    assert.equal(cert.subject, 'O=ztgate, OU=workload');
  });
});
