/**
 * Certificates the CA would never issue, made directly with @peculiar/x509 and a CA key, to check
 * that verification refuses them: an intermediate without the CA flag, a sub-CA below a pathlen:0
 * intermediate, a leaf that is a CA, an SVID with two URIs, an unknown critical extension, ...
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { generateP256, type ParsedCertificate } from '../../src/pki/index.js';
import { parseCertificate, toPem } from '../../src/pki/verify/parse.js';
import { EC_P256, x509 } from '../../src/pki/x509.js';
import { randomSerial, serialHex } from '../../src/pki/serial.js';

export interface Signer {
  readonly cert: ParsedCertificate;
  readonly key: KeyObject;
}

export interface Forged {
  readonly cert: ParsedCertificate;
  readonly der: Buffer;
  readonly pem: string;
  readonly key: KeyObject;
  readonly keyPem: string;
}

export function loadSigner(pkiDir: string, which: 'root' | 'intermediate'): Signer {
  const cert = parseCertificate(
    Buffer.from(
      readFileSync(join(pkiDir, `${which}.crt`), 'utf8')
        .replace(/-----[A-Z ]+-----/g, '')
        .replace(/\s+/g, ''),
      'base64',
    ),
  );
  return { cert, key: createPrivateKey(readFileSync(join(pkiDir, `${which}.key`), 'utf8')) };
}

export const EKU = x509.ExtendedKeyUsage;
export const KU = x509.KeyUsageFlags;

export function ext(kind: 'ca' | 'leaf', options: { pathLength?: number } = {}): x509.Extension[] {
  return kind === 'ca'
    ? [
        new x509.BasicConstraintsExtension(true, options.pathLength, true),
        new x509.KeyUsagesExtension(KU.keyCertSign | KU.cRLSign, true),
      ]
    : [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(KU.digitalSignature, true),
      ];
}

export async function forge(o: {
  readonly issuer: Signer;
  readonly subject: string;
  readonly extensions: readonly x509.Extension[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}): Promise<Forged> {
  const { privateKey, publicKey } = generateP256();
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    o.issuer.key.export({ type: 'pkcs8', format: 'der' }),
    EC_P256,
    false,
    ['sign'],
  );
  const pub = await webcrypto.subtle.importKey(
    'spki',
    publicKey.export({ type: 'spki', format: 'der' }),
    EC_P256,
    true,
    ['verify'],
  );
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(randomSerial()),
    subject: o.subject,
    issuer: new x509.Name(o.issuer.cert.subjectDer),
    notBefore: o.notBefore ?? new Date(now - 60_000),
    notAfter: o.notAfter ?? new Date(now + 3_600_000),
    publicKey: pub,
    signingKey,
    signingAlgorithm: EC_P256,
    extensions: [
      ...o.extensions,
      await x509.SubjectKeyIdentifierExtension.create(pub),
      new x509.AuthorityKeyIdentifierExtension(o.issuer.cert.subjectKeyId ?? ''),
    ],
  });
  const der = Buffer.from(cert.rawData);
  return {
    cert: parseCertificate(der),
    der,
    pem: toPem(der),
    key: privateKey,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
