/**
 * A certificate parsed once into the facts path validation needs. Parsing uses @peculiar/x509
 * with resource limits (certificates come from untrusted peers); signatures are checked with
 * node:crypto's X509Certificate.
 */
import { createHash, X509Certificate as NodeCertificate } from 'node:crypto';
import { OID } from '../oids.js';
import { normalizeSerial } from '../serial.js';
import { UNTRUSTED_PARSE, x509 } from '../x509.js';

export interface SubjectAltNames {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  readonly uris: readonly string[];
  /** names of other types (email, directory name, ...) */
  readonly other: number;
}

export interface ParsedCertificate {
  readonly der: Buffer;
  /** lower-case hex SHA-256 of the DER */
  readonly fingerprint256: string;
  readonly node: NodeCertificate;
  /** canonical lower-case hex */
  readonly serial: string;
  readonly subject: string;
  readonly issuer: string;
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly basicConstraints:
    { readonly ca: boolean; readonly pathLength: number | undefined } | undefined;
  /** KeyUsageFlags bits (digitalSignature 1, keyCertSign 32, cRLSign 64, ...) */
  readonly keyUsage: number | undefined;
  readonly extKeyUsage: readonly string[] | undefined;
  readonly san: SubjectAltNames | undefined;
  readonly subjectKeyId: string | undefined;
  readonly authorityKeyId: string | undefined;
  /** OIDs of critical extensions this validator does not process */
  readonly unhandledCritical: readonly string[];
  readonly selfIssued: boolean;
}

const HANDLED = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.crlDistributionPoints,
]);

export const MAX_CERTIFICATE_BYTES = 16 * 1024;

export class CertificateParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateParseError';
  }
}

export function fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

export function parseCertificate(input: Uint8Array): ParsedCertificate {
  if (input.length > MAX_CERTIFICATE_BYTES)
    throw new CertificateParseError('the certificate is larger than 16 KiB');
  const der = Buffer.from(input);
  let cert: x509.X509Certificate;
  let node: NodeCertificate;
  try {
    cert = new x509.X509Certificate(der, UNTRUSTED_PARSE);
    node = new NodeCertificate(der);
  } catch (err) {
    throw new CertificateParseError(`the certificate cannot be parsed: ${(err as Error).message}`);
  }
  let basicConstraints: ParsedCertificate['basicConstraints'];
  let keyUsage: number | undefined;
  let extKeyUsage: string[] | undefined;
  let san: SubjectAltNames | undefined;
  let subjectKeyId: string | undefined;
  let authorityKeyId: string | undefined;
  const unhandledCritical: string[] = [];
  const seen = new Set<string>();
  try {
    for (const e of cert.extensions) {
      if (seen.has(e.type))
        throw new CertificateParseError(`the extension ${e.type} appears twice`);
      seen.add(e.type);
      if (e.critical && !HANDLED.has(e.type)) unhandledCritical.push(e.type);
      switch (e.type) {
        case OID.basicConstraints: {
          const bc = new x509.BasicConstraintsExtension(e.rawData);
          basicConstraints = { ca: bc.ca, pathLength: bc.pathLength };
          break;
        }
        case OID.keyUsage:
          keyUsage = new x509.KeyUsagesExtension(e.rawData).usages;
          break;
        case OID.extKeyUsage:
          extKeyUsage = Array.from(new x509.ExtendedKeyUsageExtension(e.rawData).usages, String);
          break;
        case OID.subjectAltName: {
          const dns: string[] = [];
          const ips: string[] = [];
          const uris: string[] = [];
          let other = 0;
          for (const n of new x509.SubjectAlternativeNameExtension(e.rawData).names.items) {
            if (n.type === 'dns') dns.push(n.value);
            else if (n.type === 'ip') ips.push(n.value);
            else if (n.type === 'url') uris.push(n.value);
            else other++;
          }
          san = { dns, ips, uris, other };
          break;
        }
        case OID.subjectKeyIdentifier:
          subjectKeyId = new x509.SubjectKeyIdentifierExtension(e.rawData).keyId.toLowerCase();
          break;
        case OID.authorityKeyIdentifier:
          authorityKeyId = new x509.AuthorityKeyIdentifierExtension(e.rawData).keyId?.toLowerCase();
          break;
        default:
          break;
      }
    }
  } catch (err) {
    if (err instanceof CertificateParseError) throw err;
    throw new CertificateParseError(
      `an extension of the certificate is malformed: ${(err as Error).message}`,
    );
  }
  const subjectDer = Buffer.from(cert.subjectName.toArrayBuffer());
  const issuerDer = Buffer.from(cert.issuerName.toArrayBuffer());
  return {
    der,
    fingerprint256: fingerprint(der),
    node,
    serial: normalizeSerial(cert.serialNumber) ?? cert.serialNumber.toLowerCase(),
    subject: cert.subject,
    issuer: cert.issuer,
    subjectDer,
    issuerDer,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    basicConstraints,
    keyUsage,
    extKeyUsage,
    san,
    subjectKeyId,
    authorityKeyId,
    unhandledCritical,
    selfIssued: subjectDer.equals(issuerDer),
  };
}

/** DER certificates from PEM text (every CERTIFICATE block) or from one DER buffer. */
export function certificatesFrom(input: Uint8Array | string): Buffer[] {
  const text =
    typeof input === 'string'
      ? input
      : input[0] === 0x30
        ? undefined
        : Buffer.from(input).toString('latin1');
  if (text === undefined) return [Buffer.from(input as Uint8Array)];
  const out: Buffer[] = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;
  for (let m = re.exec(text); m; m = re.exec(text))
    out.push(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'));
  return out;
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}
