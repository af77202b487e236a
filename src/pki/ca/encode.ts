/**
 * The DER encoding of a leaf certificate (RFC 5280 4.1) from a template: the CA's fixed parts
 * (issuer name, key identifier, signature algorithm) are encoded once, and only the serial,
 * dates, subject, public key and names change per certificate. The signature is node:crypto's.
 *
 * The CA certificates themselves and the CRL are built with @peculiar/x509; leaves are encoded
 * here because issuance is a hot path (SVIDs live an hour) and this is several times faster. Every
 * test parses what this writes with @peculiar/x509, node:crypto and `openssl x509`.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import {
  bitString,
  bitStringBytes,
  bool,
  children,
  context,
  expectTag,
  octetString,
  oid,
  readOnly,
  seq,
  set,
  smallInteger,
  TAG,
  time,
  tlv,
  unsignedInteger,
  utf8String,
} from '../der.js';
import { OID } from '../oids.js';

/** ecdsa-with-SHA256, without parameters (RFC 5758 3.2). */
export const ECDSA_WITH_SHA256 = seq(oid(OID.ecdsaWithSha256));

export interface TbsTemplate {
  /** the serial's magnitude (positive) */
  readonly serial: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER */
  readonly spki: Uint8Array;
  /** each one an Extension, DER */
  readonly extensions: readonly Uint8Array[];
}

export function encodeTbs(t: TbsTemplate): Buffer {
  return seq(
    context(0, true, smallInteger(2)), // v3
    unsignedInteger(t.serial),
    ECDSA_WITH_SHA256,
    t.issuer,
    seq(time(t.notBefore), time(t.notAfter)),
    t.subject,
    t.spki,
    context(3, true, seq(...t.extensions)),
  );
}

/** Signs a TBSCertificate with an ECDSA P-256 key and returns the Certificate DER. */
export function signTbs(tbs: Buffer, key: KeyObject): Buffer {
  const signature = sign('sha256', tbs, key);
  return seq(tbs, ECDSA_WITH_SHA256, bitString(signature));
}

export function extension(type: string, critical: boolean, value: Uint8Array): Buffer {
  return critical
    ? seq(oid(type), bool(true), octetString(value))
    : seq(oid(type), octetString(value));
}

export type NameAttribute = readonly [type: string, value: string];

/** A Name: one RDN per attribute, values as UTF8String. */
export function encodeName(attributes: readonly NameAttribute[]): Buffer {
  return seq(...attributes.map(([type, value]) => set(seq(oid(type), utf8String(value)))));
}

export const KEY_USAGE = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

/** A keyUsage BIT STRING value (named bits, trailing zero bits dropped as DER requires). */
export function keyUsageValue(bits: readonly number[]): Buffer {
  let mask = 0;
  for (const b of bits) mask |= 0x8000 >> b;
  const bytes = mask & 0xff ? [mask >> 8, mask & 0xff] : [mask >> 8];
  const last = bytes[bytes.length - 1] as number;
  let unused = 0;
  while (unused < 7 && ((last >> unused) & 1) === 0) unused++;
  return tlv(TAG.BIT_STRING, Buffer.from([unused, ...bytes]));
}

export type GeneralName =
  | { readonly type: 'dns'; readonly value: string }
  | { readonly type: 'ip'; readonly value: Uint8Array }
  | { readonly type: 'uri'; readonly value: string };

export function generalNames(names: readonly GeneralName[]): Buffer {
  return seq(
    ...names.map((n) => {
      switch (n.type) {
        case 'dns':
          return context(2, false, Buffer.from(n.value, 'latin1'));
        case 'ip':
          return context(7, false, n.value);
        case 'uri':
          return context(6, false, Buffer.from(n.value, 'latin1'));
      }
    }),
  );
}

/** The key identifier of RFC 5280 4.2.1.2 (1): SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(spki: Uint8Array): Buffer {
  const top = readOnly(spki, TAG.SEQUENCE);
  const [, key] = children(spki, top);
  const bits = bitStringBytes(spki, expectTag(key, TAG.BIT_STRING, 'subjectPublicKey'));
  return createHash('sha1').update(bits).digest();
}

export const ext = {
  /** basicConstraints for a leaf: critical, cA absent (= false) */
  leafBasicConstraints: (): Buffer => extension(OID.basicConstraints, true, seq()),
  keyUsage: (bits: readonly number[]): Buffer => extension(OID.keyUsage, true, keyUsageValue(bits)),
  extKeyUsage: (purposes: readonly string[]): Buffer =>
    extension(OID.extKeyUsage, false, seq(...purposes.map((p) => oid(p)))),
  subjectAltName: (names: readonly GeneralName[], critical = false): Buffer =>
    extension(OID.subjectAltName, critical, generalNames(names)),
  subjectKeyIdentifier: (id: Uint8Array): Buffer =>
    extension(OID.subjectKeyIdentifier, false, octetString(id)),
  authorityKeyIdentifier: (id: Uint8Array): Buffer =>
    extension(OID.authorityKeyIdentifier, false, seq(context(0, false, id))),
  crlDistributionPoint: (url: string): Buffer =>
    extension(
      OID.crlDistributionPoints,
      false,
      seq(seq(context(0, true, context(0, true, context(6, false, Buffer.from(url, 'latin1')))))),
    ),
};
