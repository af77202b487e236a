/**
 * What the real openssl says about what the CA writes: `openssl verify -CAfile root -untrusted
 * intermediate leaf` accepts every chain (from CSRs made by openssl itself), `openssl x509 -text`
 * shows the right extensions for each certificate type and for the two CA certificates, and with
 * the CRL (`-crl_check`) a revoked certificate is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IssuedCertificate } from '../../src/pki/index.js';
import { execFileP, OPERATOR, opensslKeyAndCsr, testCa, write, type TestCa } from './helpers.js';

let ca: TestCa;
let server: IssuedCertificate;
let device: IssuedCertificate;
let svid: IssuedCertificate;
const file: Record<string, string> = {};

async function text(path: string): Promise<string> {
  return (await execFileP('openssl', ['x509', '-in', path, '-noout', '-text'])).stdout;
}

/** The lines under an extension heading in `openssl x509 -text`, joined. */
function extension(out: string, name: string): { critical: boolean; value: string } | undefined {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.trim().startsWith(`${name}:`));
  if (i < 0) return undefined;
  const value: string[] = [];
  for (let j = i + 1; j < lines.length; j++) {
    const l = lines[j] as string;
    if (/^\s{12}X509v3 |^\s{12}Authority Information|^\s{4}Signature Algorithm/.test(l)) break;
    value.push(l.trim());
  }
  return { critical: (lines[i] as string).includes('critical'), value: value.join(' ').trim() };
}

before(async () => {
  ca = await testCa();
  const s = await opensslKeyAndCsr(ca.dir, 'server');
  const d = await opensslKeyAndCsr(ca.dir, 'device');
  const w = await opensslKeyAndCsr(ca.dir, 'workload');
  server = await ca.pki.issue(
    {
      type: 'server',
      csr: readFileSync(s.csrFile),
      dns: ['*.localhost', 'localhost'],
      ips: ['127.0.0.1', '::1'],
    },
    OPERATOR,
  );
  device = await ca.pki.issue(
    {
      type: 'device',
      csr: readFileSync(d.csrFile),
      deviceId: 'laptop-42',
      userId: 'alice@example.com',
    },
    OPERATOR,
  );
  // a DER request this time
  await execFileP('openssl', [
    'req',
    '-in',
    w.csrFile,
    '-outform',
    'DER',
    '-out',
    `${w.csrFile}.der`,
  ]);
  svid = await ca.pki.issue(
    {
      type: 'svid',
      csr: readFileSync(`${w.csrFile}.der`),
      spiffeId: 'spiffe://example.org/ns/prod/sa/payments',
    },
    OPERATOR,
  );
  for (const [name, c] of [
    ['server', server],
    ['device', device],
    ['svid', svid],
  ] as const) {
    file[name] = write(ca.dir, `${name}.crt`, c.pem);
    file[`${name}-chain`] = write(ca.dir, `${name}-chain.crt`, c.chainPem);
  }
});
after(() => ca.cleanup());

describe('openssl', () => {
  it('verify accepts every chain (root as anchor, intermediate untrusted)', async () => {
    for (const name of ['server', 'device', 'svid']) {
      const { stdout } = await execFileP('openssl', [
        'verify',
        '-CAfile',
        ca.rootFile,
        '-untrusted',
        ca.intermediateFile,
        file[name] as string,
      ]);
      assert.match(stdout, /: OK\n$/);
    }
    // the purpose checks of openssl agree with the certificate types
    await execFileP('openssl', [
      'verify',
      '-purpose',
      'sslserver',
      '-CAfile',
      ca.rootFile,
      '-untrusted',
      ca.intermediateFile,
      file.server as string,
    ]);
    await execFileP('openssl', [
      'verify',
      '-purpose',
      'sslclient',
      '-CAfile',
      ca.rootFile,
      '-untrusted',
      ca.intermediateFile,
      file.device as string,
    ]);
    await execFileP('openssl', [
      'verify',
      '-purpose',
      'sslclient',
      '-CAfile',
      ca.rootFile,
      '-untrusted',
      ca.intermediateFile,
      file.svid as string,
    ]);
    await execFileP('openssl', [
      'verify',
      '-purpose',
      'sslserver',
      '-CAfile',
      ca.rootFile,
      '-untrusted',
      ca.intermediateFile,
      file.svid as string,
    ]);
    await assert.rejects(
      execFileP('openssl', [
        'verify',
        '-purpose',
        'sslclient',
        '-CAfile',
        ca.rootFile,
        '-untrusted',
        ca.intermediateFile,
        file.server as string,
      ]),
      (err: { stdout: string; stderr: string }) =>
        /unsuitable certificate purpose/.test(err.stdout + err.stderr),
    );
    // and a chain is not accepted without the intermediate, nor with another root
    await assert.rejects(
      execFileP('openssl', ['verify', '-CAfile', ca.rootFile, file.svid as string]),
    );
  });

  it('the root and the intermediate: CA:TRUE with path lengths, certificate and CRL signing', async () => {
    const root = await text(ca.rootFile);
    assert.match(root, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(root, /NIST CURVE: P-256/);
    assert.deepEqual(extension(root, 'X509v3 Basic Constraints'), {
      critical: true,
      value: 'CA:TRUE, pathlen:1',
    });
    assert.deepEqual(extension(root, 'X509v3 Key Usage'), {
      critical: true,
      value: 'Certificate Sign, CRL Sign',
    });
    assert.deepEqual(extension(root, 'X509v3 Subject Alternative Name'), {
      critical: false,
      value: 'URI:spiffe://example.org',
    });
    const inter = await text(ca.intermediateFile);
    assert.deepEqual(extension(inter, 'X509v3 Basic Constraints'), {
      critical: true,
      value: 'CA:TRUE, pathlen:0',
    });
    assert.deepEqual(extension(inter, 'X509v3 Key Usage'), {
      critical: true,
      value: 'Certificate Sign, CRL Sign',
    });
    assert.match(inter, /Issuer: O = ztgate, OU = example.org, CN = ztgate root CA/);
    assert.ok(
      extension(inter, 'X509v3 Authority Key Identifier')?.value.includes(
        extension(root, 'X509v3 Subject Key Identifier')?.value ?? '?',
      ),
    );
  });

  it('a server certificate: DNS and IP names, serverAuth', async () => {
    const out = await text(file.server as string);
    assert.match(out, /Subject: O = ztgate, CN = \*\.localhost/);
    assert.deepEqual(extension(out, 'X509v3 Basic Constraints'), {
      critical: true,
      value: 'CA:FALSE',
    });
    assert.deepEqual(extension(out, 'X509v3 Key Usage'), {
      critical: true,
      value: 'Digital Signature',
    });
    assert.deepEqual(extension(out, 'X509v3 Extended Key Usage'), {
      critical: false,
      value: 'TLS Web Server Authentication',
    });
    assert.deepEqual(extension(out, 'X509v3 Subject Alternative Name'), {
      critical: false,
      value: 'DNS:*.localhost, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    });
    assert.match(
      extension(out, 'X509v3 CRL Distribution Points')?.value ?? '',
      /URI:https:\/\/auth\.localhost:8443\/pki\/crl/,
    );
    assert.match(out, /Serial Number:\s*\n\s*([0-9a-f]{2}:){15}[0-9a-f]{2}\n/, '16-byte serial');
    const [, hours] = /Not Before: (.*)\n\s*Not After : (.*)\n/.exec(out) ?? [];
    assert.ok(hours);
  });

  it('a device certificate: device and user in the subject and as URNs, clientAuth', async () => {
    const out = await text(file.device as string);
    assert.match(out, /Subject: O = ztgate, OU = device, CN = laptop-42, UID = alice@example\.com/);
    assert.deepEqual(extension(out, 'X509v3 Extended Key Usage'), {
      critical: false,
      value: 'TLS Web Client Authentication',
    });
    assert.deepEqual(extension(out, 'X509v3 Subject Alternative Name'), {
      critical: false,
      value: 'URI:urn:ztgate:device:laptop-42, URI:urn:ztgate:user:alice@example.com',
    });
    assert.deepEqual(extension(out, 'X509v3 Basic Constraints'), {
      critical: true,
      value: 'CA:FALSE',
    });
  });

  it('an SVID: one spiffe URI, CA:FALSE, digitalSignature only, serverAuth and clientAuth, one hour', async () => {
    const out = await text(file.svid as string);
    assert.deepEqual(extension(out, 'X509v3 Subject Alternative Name'), {
      critical: false,
      value: 'URI:spiffe://example.org/ns/prod/sa/payments',
    });
    assert.deepEqual(extension(out, 'X509v3 Basic Constraints'), {
      critical: true,
      value: 'CA:FALSE',
    });
    assert.deepEqual(extension(out, 'X509v3 Key Usage'), {
      critical: true,
      value: 'Digital Signature',
    });
    assert.deepEqual(extension(out, 'X509v3 Extended Key Usage'), {
      critical: false,
      value: 'TLS Web Server Authentication, TLS Web Client Authentication',
    });
    const m = /Not Before: (.*)\n\s*Not After : (.*)\n/.exec(out);
    const life = Date.parse(m?.[2] ?? '') - Date.parse(m?.[1] ?? '');
    assert.equal(life, 3_600_000 + 30_000, 'one hour, plus the 30 s backdating');
    assert.ok(extension(out, 'X509v3 Subject Key Identifier'));
    assert.ok(extension(out, 'X509v3 Authority Key Identifier'));
  });

  it('with the CRL, openssl refuses a revoked certificate and accepts the others', async () => {
    await ca.pki.revoke({ serial: device.serial }, 'keyCompromise');
    const crlDer = join(ca.dataDir, 'pki', 'crl.der');
    const crlPem = join(ca.dir, 'crl.pem');
    await execFileP('openssl', ['crl', '-inform', 'DER', '-in', crlDer, '-out', crlPem]);
    const args = [
      'verify',
      '-crl_check',
      '-CAfile',
      ca.rootFile,
      '-untrusted',
      ca.intermediateFile,
      '-CRLfile',
      crlPem,
    ];
    await execFileP('openssl', [...args, file.svid as string]);
    await assert.rejects(
      execFileP('openssl', [...args, file.device as string]),
      (err: { stdout: string; stderr: string }) =>
        /certificate revoked/.test(err.stdout + err.stderr),
    );
  });
});
