/**
 * A real `node:https` server with `requestCert` and the PKI's client-certificate guard, reached
 * with the real `curl --cert --key --cacert`. Good certificates get through with their identity;
 * expired, not-yet-valid, wrong-CA, revoked, wrong-EKU and CA-flag-missing ones are refused, each
 * with its reason in the server's refusal callback. A live connection is cut the moment its
 * certificate is revoked. The CRL and trust bundle handlers are served and fetched the same way.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createCrlHandler,
  createTrustBundleHandler,
  type ClientCertificateGuard,
  type RefusalReason,
  type RefusedConnection,
} from '../../src/pki/index.js';
import { EKU, ext, forge, KU, loadSigner } from './forge.js';
import { execFileP, keyAndCsr, OPERATOR, testCa, write, type TestCa } from './helpers.js';
import { x509 } from '../../src/pki/x509.js';

let ca: TestCa;
let other: TestCa;
let server: Server;
let publicServer: Server;
let guard: ClientCertificateGuard;
let url: string;
let publicUrl: string;
const refusals: RefusedConnection[] = [];
const waiters: ((r: RefusedConnection) => void)[] = [];

function nextRefusal(): Promise<RefusedConnection> {
  return new Promise((resolve) => waiters.push(resolve));
}

async function listen(s: Server): Promise<string> {
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

before(async () => {
  [ca, other] = await Promise.all([testCa(), testCa()]);
  const serverKey = await keyAndCsr();
  const serverCert = await ca.pki.issue(
    { type: 'server', csr: serverKey.csr, dns: ['localhost'], ips: ['127.0.0.1'] },
    OPERATOR,
  );
  guard = ca.pki.guard({
    onRefused: (r) => {
      refusals.push(r);
      waiters.shift()?.(r);
    },
  });
  server = createServer(
    {
      key: serverKey.keyPem,
      cert: serverCert.chainPem,
      ca: [ca.pki.ca.rootPem],
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const id = guard.identity(req.socket as Parameters<ClientCertificateGuard['identity']>[0]);
      res.writeHead(id ? 200 : 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(id ?? { error: 'no identity: the guard did not run' }));
    },
  );
  guard.attach(server);
  url = await listen(server);
  // the CRL and the bundle are public: a listener without client certificates
  const crl = createCrlHandler(ca.pki.crl);
  const bundle = createTrustBundleHandler(() => ca.pki.bundle());
  publicServer = createServer({ key: serverKey.keyPem, cert: serverCert.chainPem }, (req, res) => {
    if (req.url === '/pki/crl') crl(req, res);
    else if (req.url === '/pki/bundle') bundle(req, res);
    else res.writeHead(404).end();
  });
  publicUrl = await listen(publicServer);
});

after(async () => {
  server.closeAllConnections();
  publicServer.closeAllConnections();
  await Promise.all([
    new Promise((r) => server.close(r)),
    new Promise((r) => publicServer.close(r)),
  ]);
  guard.close();
  ca.cleanup();
  other.cleanup();
});

let n = 0;
function files(chainPem: string, keyPem: string): { cert: string; key: string } {
  n++;
  return {
    cert: write(ca.dir, `client-${n}.pem`, chainPem),
    key: write(ca.dir, `client-${n}.key`, keyPem),
  };
}

async function curl(
  cert: { cert: string; key: string } | undefined,
  path = '/whoami',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [
    '-sS',
    '--max-time',
    '10',
    '--cacert',
    ca.rootFile,
    ...(cert ? ['--cert', cert.cert, '--key', cert.key] : []),
    `${url}${path}`,
  ];
  try {
    const { stdout, stderr } = await execFileP('curl', args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function expectRefused(
  cert: { cert: string; key: string } | undefined,
  reason: RefusalReason,
  message: RegExp,
): Promise<void> {
  const refusal = nextRefusal();
  const r = await curl(cert);
  assert.notEqual(r.code, 0, `curl should fail, got: ${r.stdout}`);
  assert.equal(r.stdout, '', 'no response may be sent');
  const event = await refusal;
  assert.equal(event.code, 'ZT_PKI_CLIENT_CERT_REFUSED');
  assert.equal(event.reason, reason, event.message);
  assert.match(event.message, message);
  assert.equal(event.remoteAddress, '127.0.0.1');
  assert.equal(event.cut, false);
}

describe('mTLS with curl', () => {
  it('a device certificate gets through, with its identity', async () => {
    const k = await keyAndCsr();
    const c = await ca.pki.issue(
      { type: 'device', csr: k.csr, deviceId: 'laptop-1', userId: 'alice@example.com' },
      OPERATOR,
    );
    const r = await curl(files(c.chainPem, k.keyPem));
    assert.equal(r.code, 0, r.stderr);
    const id = JSON.parse(r.stdout) as { serial: string; deviceId: string; userId: string };
    assert.equal(id.serial, c.serial);
    assert.equal(id.deviceId, 'laptop-1');
    assert.equal(id.userId, 'alice@example.com');
  });

  it('an SVID gets through as a client, with its SPIFFE ID', async () => {
    const k = await keyAndCsr();
    const c = await ca.pki.issue(
      { type: 'svid', csr: k.csr, spiffeId: 'spiffe://example.org/ns/prod/sa/api' },
      OPERATOR,
    );
    const r = await curl(files(c.chainPem, k.keyPem));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { spiffeId: string }).spiffeId,
      'spiffe://example.org/ns/prod/sa/api',
    );
  });

  it('no client certificate', async () => {
    await expectRefused(undefined, 'no-certificate', /no client certificate/);
  });

  it('expired', async () => {
    const k = await keyAndCsr();
    const now = Date.now();
    const c = await ca.pki.issue(
      {
        type: 'device',
        csr: k.csr,
        deviceId: 'd',
        userId: 'u',
        notBefore: new Date(now - 7_200_000),
        notAfter: new Date(now - 60_000),
      },
      OPERATOR,
    );
    await expectRefused(files(c.chainPem, k.keyPem), 'expired', /the certificate expired at/);
  });

  it('not yet valid', async () => {
    const k = await keyAndCsr();
    const now = Date.now();
    const c = await ca.pki.issue(
      {
        type: 'device',
        csr: k.csr,
        deviceId: 'd',
        userId: 'u',
        notBefore: new Date(now + 3_600_000),
        notAfter: new Date(now + 7_200_000),
      },
      OPERATOR,
    );
    await expectRefused(files(c.chainPem, k.keyPem), 'not-yet-valid', /is not valid before/);
  });

  it('wrong CA', async () => {
    const k = await keyAndCsr();
    const c = await other.pki.issue(
      { type: 'device', csr: k.csr, deviceId: 'd', userId: 'u' },
      OPERATOR,
    );
    await expectRefused(
      files(c.chainPem, k.keyPem),
      'unknown-issuer',
      /not a CA this server trusts/,
    );
  });

  it('revoked', async () => {
    const k = await keyAndCsr();
    const c = await ca.pki.issue(
      { type: 'device', csr: k.csr, deviceId: 'stolen', userId: 'u' },
      OPERATOR,
    );
    const f = files(c.chainPem, k.keyPem);
    assert.equal((await curl(f)).code, 0);
    await ca.pki.revoke({ serial: c.serial }, 'keyCompromise');
    await expectRefused(f, 'revoked', new RegExp(`serial ${c.serial}\\) has been revoked`));
  });

  it('wrong EKU: a server certificate as a client certificate', async () => {
    const k = await keyAndCsr();
    const c = await ca.pki.issue(
      { type: 'server', csr: k.csr, dns: ['client.example.org'] },
      OPERATOR,
    );
    await expectRefused(files(c.chainPem, k.keyPem), 'wrong-eku', /lacks clientAuth/);
  });

  it('CA flag missing on the intermediate the client presents', async () => {
    const root = loadSigner(join(ca.dataDir, 'pki'), 'root');
    const fakeCa = await forge({
      issuer: root,
      subject: 'O=ztgate, CN=fake intermediate',
      extensions: [new x509.KeyUsagesExtension(KU.keyCertSign, true)],
    });
    const leaf = await forge({
      issuer: { cert: fakeCa.cert, key: fakeCa.key },
      subject: 'CN=leaf',
      extensions: [...ext('leaf'), new x509.ExtendedKeyUsageExtension([EKU.clientAuth])],
    });
    await expectRefused(
      files(leaf.pem + fakeCa.pem, leaf.keyPem),
      'ca-flag-missing',
      /is not a CA certificate/,
    );
  });

  it('a live connection is cut as soon as its certificate is revoked', async () => {
    const k = await keyAndCsr();
    const c = await ca.pki.issue(
      { type: 'device', csr: k.csr, deviceId: 'live', userId: 'u' },
      OPERATOR,
    );
    const port = Number(new URL(url).port);
    const socket = connect({
      host: '127.0.0.1',
      port,
      key: k.keyPem,
      cert: c.chainPem,
      ca: ca.pki.ca.rootPem,
      servername: 'localhost',
    });
    await once(socket, 'secureConnect');
    socket.write('GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    const [first] = (await once(socket, 'data')) as [Buffer];
    assert.match(first.toString(), /^HTTP\/1\.1 200/);
    assert.equal(guard.liveConnections >= 1, true);
    const refusal = nextRefusal();
    const closed = once(socket, 'close');
    const started = Date.now();
    await ca.pki.revoke({ subject: 'urn:ztgate:device:live' });
    const event = await refusal;
    await closed;
    assert.ok(Date.now() - started < 1000, 'cut within a second');
    assert.equal(event.reason, 'revoked');
    assert.equal(event.cut, true);
  });

  it('serves the CRL as application/pkix-crl, signed by the intermediate, listing revocations', async () => {
    const out = join(ca.dir, 'fetched.crl');
    const { stdout: headers } = await execFileP('curl', [
      '-sS',
      '-D',
      '-',
      '-o',
      out,
      '--cacert',
      ca.rootFile,
      `${publicUrl}/pki/crl`,
    ]);
    assert.match(headers, /^HTTP\/1\.1 200/);
    assert.match(headers, /content-type: application\/pkix-crl/i);
    const { stdout, stderr } = await execFileP('openssl', [
      'crl',
      '-inform',
      'DER',
      '-in',
      out,
      '-noout',
      '-text',
      '-CAfile',
      ca.intermediateFile,
    ]);
    assert.match(stderr + stdout, /verify OK/);
    assert.match(stdout, /Next Update:/);
    const revoked = (await ca.store.list({ revoked: true })).map((r) => r.serial.toUpperCase());
    assert.ok(revoked.length >= 2);
    for (const s of revoked) assert.ok(stdout.includes(s), `the CRL lists ${s}`);
    assert.match(stdout, /Key Compromise/);
  });

  it('serves the SPIFFE trust bundle', async () => {
    const { stdout } = await execFileP('curl', [
      '-sS',
      '--cacert',
      ca.rootFile,
      `${publicUrl}/pki/bundle`,
    ]);
    const bundle = JSON.parse(stdout) as {
      keys: { use: string; kty: string; crv: string; x5c: string[]; kid?: string }[];
      spiffe_sequence: number;
      spiffe_refresh_hint: number;
    };
    assert.equal(bundle.spiffe_sequence, 1);
    assert.equal(bundle.spiffe_refresh_hint, 300);
    assert.equal(bundle.keys.length, 1);
    const [key] = bundle.keys;
    assert.equal(key?.use, 'x509-svid');
    assert.equal(key?.kty, 'EC');
    assert.equal(key?.crv, 'P-256');
    assert.equal(key?.kid, undefined, 'x509-svid keys carry no kid');
    assert.equal(key?.x5c.length, 1);
    assert.deepEqual(Buffer.from(key?.x5c[0] ?? '', 'base64'), ca.pki.ca.root.der);
  });

  it('every refusal carried a reason from the closed list', () => {
    assert.ok(refusals.length >= 8);
    assert.deepEqual(
      new Set(refusals.map((r) => r.reason)),
      new Set([
        'no-certificate',
        'expired',
        'not-yet-valid',
        'unknown-issuer',
        'revoked',
        'wrong-eku',
        'ca-flag-missing',
      ]),
    );
  });
});
