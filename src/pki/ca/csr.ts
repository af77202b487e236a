/**
 * Certificate signing requests (PKCS#10, RFC 2986): the requester keeps its private key and sends
 * only its public key, signed to prove it holds the private half.
 *
 * Input is checked strictly before anything is parsed further: at most 64 KiB; either one PEM
 * block (`CERTIFICATE REQUEST`, with nothing but whitespace around it and strict base64 inside) or
 * DER that is exactly one well-formed structure. The signature is verified with node:crypto. The
 * subject and extensions a CSR asks for are never copied into a certificate: the CA decides what a
 * certificate says (a CSR asking for `CA:TRUE` gets a leaf like any other).
 */
import { createPublicKey, verify as verifySignature, webcrypto, type KeyObject } from 'node:crypto';
import {
  bitStringBytes,
  children,
  contents,
  decodeOid,
  DerError,
  expectTag,
  readOnly,
  TAG,
  whole,
} from '../der.js';
import { PkiError } from '../errors.js';
import { OID, SIGNATURE_ALGORITHMS } from '../oids.js';
import { EC_P256, UNTRUSTED_PARSE, x509, type CryptoKeyPair } from '../x509.js';

export const MAX_CSR_BYTES = 64 * 1024;

export interface DecodedCsr {
  readonly der: Buffer;
  /** the CertificationRequestInfo: the signed bytes */
  readonly info: Buffer;
  /** the SubjectPublicKeyInfo, DER */
  readonly spki: Buffer;
  /** the subject Name, DER */
  readonly subject: Buffer;
  readonly signatureAlgorithm: string;
  readonly signature: Buffer;
}

export interface CsrKey {
  readonly key: KeyObject;
  readonly type: 'ec' | 'rsa' | 'ed25519';
  /** `ECDSA P-256`, `RSA 2048`, `Ed25519` */
  readonly description: string;
}

const PEM_LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'];

function malformed(message: string, help?: string): PkiError {
  return new PkiError('ZT_PKI_CSR_MALFORMED', message, {
    help:
      help ??
      'give a PKCS#10 request, PEM (`-----BEGIN CERTIFICATE REQUEST-----`) or DER, as `openssl req -new` writes it',
  });
}

/** Turns PEM or DER input into the DER bytes of one request; refuses anything else. */
export function csrDer(input: Uint8Array | string): Buffer {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > MAX_CSR_BYTES) {
    throw new PkiError(
      'ZT_PKI_CSR_TOO_LARGE',
      `the certificate signing request is ${size} bytes, more than the 64 KiB accepted`,
      {
        help: 'a request for an ECDSA or RSA key is well under 4 KiB: check that this is the right file',
      },
    );
  }
  if (size === 0) throw malformed('the certificate signing request is empty');
  if (typeof input !== 'string' && input[0] === TAG.SEQUENCE) return Buffer.from(input);
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  return pemBody(text);
}

function pemBody(text: string): Buffer {
  const trimmed = text.replace(/^[\s]+|[\s]+$/g, '');
  const begin = /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(trimmed);
  if (!begin) {
    throw trimmed.includes('-----BEGIN')
      ? malformed(
          'the certificate signing request has text before its PEM block',
          'give only the PEM block (`openssl req -outform PEM`), without `-text` output around it',
        )
      : malformed('the certificate signing request is neither PEM nor DER');
  }
  const label = begin[1] as string;
  if (!PEM_LABELS.includes(label)) {
    throw malformed(`the PEM block is a \`${label}\`, not a \`CERTIFICATE REQUEST\``);
  }
  const endMarker = `-----END ${label}-----`;
  const endAt = trimmed.indexOf(endMarker);
  if (endAt < 0) throw malformed('the PEM block has no END line');
  if (endAt + endMarker.length !== trimmed.length) {
    throw malformed(
      'the certificate signing request has text after its PEM block',
      'give exactly one PEM block',
    );
  }
  const body = trimmed.slice(begin[0].length, endAt);
  if (body.includes(':')) throw malformed('the PEM block has headers, which a request never has');
  const b64 = body.replace(/[\r\n\t ]/g, '');
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw malformed('the PEM block is not valid base64');
  }
  return Buffer.from(b64, 'base64');
}

/** Decodes the structure of a request (no signature check yet). */
export function decodeCsr(input: Uint8Array | string): DecodedCsr {
  const der = csrDer(input);
  try {
    const top = readOnly(der, TAG.SEQUENCE);
    const [infoT, algT, sigT, ...extra] = children(der, top);
    if (extra.length) throw new DerError('extra elements after the signature');
    const info = expectTag(infoT, TAG.SEQUENCE, 'certificationRequestInfo');
    const [versionT, subjectT, spkiT, attrsT, ...more] = children(der, info);
    if (more.length) throw new DerError('extra elements in certificationRequestInfo');
    const version = contents(der, expectTag(versionT, TAG.INTEGER, 'version'));
    if (version.length !== 1 || version[0] !== 0) throw new DerError('version is not 0 (v1)');
    expectTag(subjectT, TAG.SEQUENCE, 'subject');
    const spki = expectTag(spkiT, TAG.SEQUENCE, 'subjectPublicKeyInfo');
    const [spkiAlg, spkiKey] = children(der, spki);
    expectTag(spkiAlg, TAG.SEQUENCE, 'public key algorithm');
    expectTag(spkiKey, TAG.BIT_STRING, 'public key');
    if (attrsT) expectTag(attrsT, 0xa0, 'attributes');
    const alg = expectTag(algT, TAG.SEQUENCE, 'signatureAlgorithm');
    const [algOid, algParams, ...algMore] = children(der, alg);
    if (
      algMore.length ||
      (algParams && !(algParams.tag === TAG.NULL && algParams.end === algParams.contentStart))
    ) {
      throw new DerError('unexpected signature algorithm parameters');
    }
    const signatureAlgorithm = decodeOid(
      contents(der, expectTag(algOid, TAG.OID, 'signature algorithm')),
    );
    const signature = bitStringBytes(der, expectTag(sigT, TAG.BIT_STRING, 'signature'));
    return {
      der,
      info: whole(der, info),
      spki: whole(der, spki),
      subject: whole(der, subjectT as NonNullable<typeof subjectT>),
      signatureAlgorithm,
      signature,
    };
  } catch (err) {
    if (err instanceof DerError) {
      throw malformed(`the certificate signing request is not well-formed DER: ${err.message}`);
    }
    throw err;
  }
}

/** The requester's public key, checked to be a type and size the CA certifies. */
export function csrPublicKey(csr: DecodedCsr): CsrKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: csr.spki, format: 'der', type: 'spki' });
  } catch (err) {
    throw new PkiError(
      'ZT_PKI_CSR_KEY_UNSUPPORTED',
      'the public key in the certificate signing request cannot be read',
      {
        cause: err,
        help: 'use an ECDSA P-256 key (`openssl ecparam -name prime256v1 -genkey`)',
      },
    );
  }
  const details = key.asymmetricKeyDetails ?? {};
  const unsupported = (what: string) =>
    new PkiError(
      'ZT_PKI_CSR_KEY_UNSUPPORTED',
      `the certificate signing request is for ${what}, which ztgate does not certify`,
      {
        help: 'use ECDSA P-256 (preferred), P-384, Ed25519 or RSA of 2048 to 8192 bits',
      },
    );
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve;
      if (curve === 'prime256v1') return { key, type: 'ec', description: 'ECDSA P-256' };
      if (curve === 'secp384r1') return { key, type: 'ec', description: 'ECDSA P-384' };
      throw unsupported(`an ECDSA key on the curve \`${curve ?? 'unknown'}\``);
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048 || bits > 8192) throw unsupported(`an RSA key of ${bits} bits`);
      return { key, type: 'rsa', description: `RSA ${bits}` };
    }
    case 'ed25519':
      return { key, type: 'ed25519', description: 'Ed25519' };
    default:
      throw unsupported(`a key of type \`${key.asymmetricKeyType ?? 'unknown'}\``);
  }
}

/** Checks that the request is signed by the key it carries; returns that key. */
export function verifyCsr(csr: DecodedCsr): CsrKey {
  const key = csrPublicKey(csr);
  const alg = SIGNATURE_ALGORITHMS.get(csr.signatureAlgorithm);
  if (!alg) {
    throw new PkiError(
      'ZT_PKI_CSR_KEY_UNSUPPORTED',
      `the certificate signing request is signed with an unsupported algorithm (${csr.signatureAlgorithm})`,
      {
        help: 'sign it with ECDSA and SHA-256 (`openssl req -new -sha256`)',
      },
    );
  }
  if (alg.keyType !== key.type) {
    throw new PkiError(
      'ZT_PKI_CSR_SIGNATURE',
      `the certificate signing request is signed with ${alg.name}, which does not fit its ${key.description} key`,
    );
  }
  let ok = false;
  try {
    ok = verifySignature(
      alg.hash,
      csr.info,
      key.type === 'ec' ? { key: key.key, dsaEncoding: 'der' } : key.key,
      csr.signature,
    );
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new PkiError(
      'ZT_PKI_CSR_SIGNATURE',
      'the signature of the certificate signing request does not match its public key',
      {
        help: 'the request was altered or signed with another key: create it again with the key it names',
      },
    );
  }
  return key;
}

export interface RequestedNames {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  readonly uris: readonly string[];
}

/** The names a CSR asks for in a subjectAltName extension request (empty when it asks for none). */
export function csrRequestedNames(csr: DecodedCsr): RequestedNames {
  let req: x509.Pkcs10CertificateRequest;
  try {
    req = new x509.Pkcs10CertificateRequest(csr.der, UNTRUSTED_PARSE);
  } catch (err) {
    throw malformed(`the certificate signing request cannot be parsed: ${(err as Error).message}`);
  }
  const dns: string[] = [];
  const ips: string[] = [];
  const uris: string[] = [];
  for (const ext of req.extensions) {
    if (ext.type !== OID.subjectAltName) continue;
    const san = new x509.SubjectAlternativeNameExtension(ext.rawData);
    for (const n of san.names.items) {
      if (n.type === 'dns') dns.push(n.value);
      else if (n.type === 'ip') ips.push(n.value);
      else if (n.type === 'url') uris.push(n.value);
    }
  }
  return { dns, ips, uris };
}

/**
 * Creates a PEM request for a key pair held here (the manager renewing its own server certificate,
 * `ztgate ca issue --generate-key`). The private key never leaves the process.
 */
export async function createCsr(
  privateKey: KeyObject,
  publicKey: KeyObject,
  subject = 'O=ztgate',
): Promise<string> {
  const keys = {
    privateKey: await webcrypto.subtle.importKey(
      'pkcs8',
      privateKey.export({ type: 'pkcs8', format: 'der' }),
      EC_P256,
      false,
      ['sign'],
    ),
    publicKey: await webcrypto.subtle.importKey(
      'spki',
      publicKey.export({ type: 'spki', format: 'der' }),
      EC_P256,
      true,
      ['verify'],
    ),
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys: keys satisfies CryptoKeyPair,
    signingAlgorithm: EC_P256,
  });
  return csr.toString('pem');
}
