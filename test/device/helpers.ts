/**
 * Test helpers for the device tests: recorded command outputs and files as a fake machine, a
 * throwaway CA (node:crypto + @peculiar/x509) behind a fake `DeviceCertificateIssuer`, HTTPS servers
 * on 127.0.0.1 port 0, and a SQLite store with users.
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type {
  CollectorContext,
  CommandResult,
  Platform,
} from '../../src/device/agent/collectors/types.js';
import type {
  DeviceCertificateIssuer,
  DeviceCertificateRequest,
  IssuedDeviceCertificate,
  RevocationReason,
} from '../../src/device/enroll/issuer.js';
import { x509 } from '../../src/device/x509.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../../src/store/testing.js';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export function fixture(path: string): string {
  return readFileSync(join(FIXTURES, path), 'utf8');
}

export interface FakeMachine {
  /** `command arg arg` -> output (a string is stdout with exit 0) */
  readonly commands?: Readonly<Record<string, string | CommandResult>>;
  readonly files?: Readonly<Record<string, string | Buffer>>;
  readonly dirs?: Readonly<Record<string, readonly string[]>>;
  readonly mtimes?: Readonly<Record<string, number>>;
  readonly now?: number;
  readonly edr?: readonly string[];
  readonly uid?: number;
  readonly platform?: Platform;
  readonly kernel?: string;
}

/** A collector context over recorded outputs; unknown commands are "not installed". */
export function fakeContext(m: FakeMachine): CollectorContext & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    platform: m.platform ?? 'linux',
    run: (command, args) => {
      const key = [command, ...args].join(' ');
      calls.push(key);
      const r = m.commands?.[key];
      if (r === undefined)
        return Promise.resolve({ code: null, stdout: '', stderr: '', error: 'is not installed' });
      return Promise.resolve(typeof r === 'string' ? { code: 0, stdout: r, stderr: '' } : r);
    },
    fs: {
      readFile: (path) => {
        const f = m.files?.[path];
        return Promise.resolve(f === undefined ? undefined : Buffer.from(f));
      },
      readDir: (path) => Promise.resolve(m.dirs?.[path]),
      mtime: (path) => Promise.resolve(m.mtimes?.[path]),
    },
    now: () => m.now ?? Date.UTC(2026, 10, 22, 12, 0, 0),
    commandTimeoutMs: 1000,
    edrProcesses: m.edr ?? [],
    agentVersion: '0.1.0',
    kernelRelease: () => m.kernel ?? '6.1.0-27-amd64',
    uid: m.uid ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------
// a throwaway CA

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface TestCa {
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly pem: string;
}

export async function createTestCa(name = 'ztgate test CA'): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(15).toString('hex')}`,
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  return { cert, keys, pem: cert.toString('pem') };
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)
    ?.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/** A TLS server certificate for 127.0.0.1 and localhost. */
export async function serverCredentials(ca: TestCa): Promise<{ key: string; cert: string }> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `02${randomBytes(15).toString('hex')}`,
    subject: 'CN=localhost',
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  });
  return { key: await exportKeyPem(keys.privateKey), cert: cert.toString('pem') };
}

/** Signs device certificates from CSRs with the test CA, as src/pki will. */
export class FakeIssuer implements DeviceCertificateIssuer {
  readonly issued: DeviceCertificateRequest[] = [];
  readonly revoked: { serial: string; reason: RevocationReason }[] = [];
  /** makes the next issuance fail */
  failNext = false;
  /** lifetime of issued certificates */
  lifetimeMs = 30 * 86_400_000;
  /** issues a certificate for another key than the CSR's (a broken CA) */
  wrongKey = false;

  constructor(readonly ca: TestCa) {}

  async issueDeviceCertificate(
    request: DeviceCertificateRequest,
  ): Promise<IssuedDeviceCertificate> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('the CA is down');
    }
    this.issued.push(request);
    const csr = new x509.Pkcs10CertificateRequest(request.csrPem);
    const publicKey = this.wrongKey
      ? new x509.Pkcs10CertificateRequest(await csrFor({ user: 'someone' })).publicKey
      : csr.publicKey;
    const serial = `3${randomBytes(15).toString('hex')}`;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `O=ztgate, OU=device, CN=${request.deviceId}`,
      issuer: this.ca.cert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + this.lifetimeMs),
      publicKey,
      signingKey: this.ca.keys.privateKey,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: `urn:ztgate:device:${request.deviceId}` },
          { type: 'url', value: `urn:ztgate:user:${request.userId}` },
        ]),
      ],
    });
    return {
      certificatePem: cert.toString('pem'),
      chainPem: this.ca.pem,
      serial,
      notAfter: cert.notAfter.getTime(),
    };
  }

  revokeCertificate(serial: string, reason: RevocationReason): Promise<void> {
    this.revoked.push({ serial, reason });
    return Promise.resolve();
  }
}

/** A CSR for `userId` signed by a fresh key (what a hostile client could send). */
export async function csrFor(
  names: { user?: string; email?: string; device?: string },
  curve = 'P-256',
): Promise<string> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, true, [
    'sign',
    'verify',
  ]);
  const sans: x509.JsonGeneralName[] = [];
  if (names.user) sans.push({ type: 'url', value: `urn:ztgate:user:${names.user}` });
  if (names.email) sans.push({ type: 'email', value: names.email });
  if (names.device) sans.push({ type: 'url', value: `urn:ztgate:device:${names.device}` });
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=test',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: curve === 'P-384' ? 'SHA-384' : 'SHA-256' },
    ...(sans.length ? { extensions: [new x509.SubjectAlternativeNameExtension(sans)] } : {}),
  });
  return csr.toString('pem');
}

// ---------------------------------------------------------------------------------------------
// servers and stores

export interface TestServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1:0 that asks for (and verifies, without requiring) client certificates. */
export async function startHttpsServer(
  ca: TestCa,
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
): Promise<TestServer> {
  const creds = await serverCredentials(ca);
  const server: Server = createServer(
    { key: creds.key, cert: creds.cert, ca: ca.pem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      Promise.resolve(handler(req, res)).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function openTestStore(
  users: readonly { id: string; email: string; disabled?: boolean }[] = [],
): Promise<Store> {
  const store = await openStore({
    kind: 'sqlite',
    dataDir: join(tempDir('ztgate-device-'), 'data'),
  });
  for (const u of users)
    await store.users.create({
      id: u.id,
      email: u.email,
      at: Date.now(),
      ...(u.disabled ? { disabled: true } : {}),
    });
  return store;
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function peerOf(req: IncomingMessage): TLSSocket {
  return req.socket as TLSSocket;
}
