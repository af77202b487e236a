/**
 * What each type of certificate contains (docs/pki.md, "Certificate types"):
 *
 * | type   | subject                                   | SAN                                               | EKU                    | default / max life |
 * |--------|-------------------------------------------|---------------------------------------------------|------------------------|--------------------|
 * | server | `O=ztgate, CN=<first name>`               | DNS names and IP addresses                        | serverAuth             | 30 d / 397 d       |
 * | device | `O=ztgate, OU=device, CN=<id>, UID=<user>` | `urn:ztgate:device:<id>`, `urn:ztgate:user:<user>` | clientAuth             | 30 d / 397 d       |
 * | svid   | `O=ztgate, OU=workload`                   | exactly one URI: the SPIFFE ID                    | serverAuth, clientAuth | 1 h / 24 h         |
 *
 * Every leaf: basicConstraints critical with cA false, keyUsage critical with digitalSignature
 * (plus keyEncipherment for RSA keys), subject and authority key identifiers, and the CRL
 * distribution point when the CA knows its public URL.
 */
import type { CertificateKind } from '../../store/store.js';
import { DEVICE_URN_PREFIX, USER_URN_PREFIX, type IpName } from '../names.js';
import { OID } from '../oids.js';
import type { SpiffeId } from '../spiffe.js';
import { encodeName, ext, KEY_USAGE, type GeneralName, type NameAttribute } from './encode.js';

export type CertificateType = 'server' | 'device' | 'svid';
export const CERTIFICATE_TYPES: readonly CertificateType[] = ['server', 'device', 'svid'];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface TypeLimits {
  readonly defaultTtlMs: number;
  readonly maxTtlMs: number;
  /** the kind recorded in the store */
  readonly kind: CertificateKind;
}

export const TYPE_LIMITS: Readonly<Record<CertificateType, TypeLimits>> = {
  server: { defaultTtlMs: 30 * DAY, maxTtlMs: 397 * DAY, kind: 'server' },
  device: { defaultTtlMs: 30 * DAY, maxTtlMs: 397 * DAY, kind: 'device' },
  svid: { defaultTtlMs: HOUR, maxTtlMs: 24 * HOUR, kind: 'workload' },
};

/** The validated names a leaf is for. */
export type LeafNames =
  | { readonly type: 'server'; readonly dns: readonly string[]; readonly ips: readonly IpName[] }
  | { readonly type: 'device'; readonly deviceId: string; readonly userId: string }
  | { readonly type: 'svid'; readonly spiffeId: SpiffeId };

export interface LeafProfile {
  readonly subject: Buffer;
  /** what the store records as the certificate's subject (and what `revoke --subject` matches) */
  readonly recordSubject: string;
  readonly sans: readonly GeneralName[];
  readonly purposes: readonly string[];
}

const CN_MAX = 64;

export function leafProfile(names: LeafNames): LeafProfile {
  switch (names.type) {
    case 'server': {
      const first = names.dns[0] ?? names.ips[0]?.text ?? '';
      const attrs: NameAttribute[] = [[OID.organizationName, 'ztgate']];
      if (first.length > 0 && first.length <= CN_MAX) attrs.push([OID.commonName, first]);
      return {
        subject: encodeName(attrs),
        recordSubject: first,
        sans: [
          ...names.dns.map((value) => ({ type: 'dns' as const, value })),
          ...names.ips.map((ip) => ({ type: 'ip' as const, value: ip.bytes })),
        ],
        purposes: [OID.serverAuth],
      };
    }
    case 'device': {
      const attrs: NameAttribute[] = [
        [OID.organizationName, 'ztgate'],
        [OID.organizationalUnitName, 'device'],
      ];
      if (names.deviceId.length <= CN_MAX) attrs.push([OID.commonName, names.deviceId]);
      attrs.push([OID.userId, names.userId]);
      const deviceUrn = `${DEVICE_URN_PREFIX}${names.deviceId}`;
      return {
        subject: encodeName(attrs),
        recordSubject: deviceUrn,
        sans: [
          { type: 'uri', value: deviceUrn },
          { type: 'uri', value: `${USER_URN_PREFIX}${names.userId}` },
        ],
        purposes: [OID.clientAuth],
      };
    }
    case 'svid':
      return {
        subject: encodeName([
          [OID.organizationName, 'ztgate'],
          [OID.organizationalUnitName, 'workload'],
        ]),
        recordSubject: names.spiffeId.id,
        sans: [{ type: 'uri', value: names.spiffeId.id }],
        purposes: [OID.serverAuth, OID.clientAuth],
      };
  }
}

/** The extensions of a leaf, in the order they are written. */
export function leafExtensions(
  profile: LeafProfile,
  keyType: 'ec' | 'rsa' | 'ed25519',
  subjectKeyId: Uint8Array,
  authorityKeyId: Uint8Array,
  crlUrl: string | undefined,
): Buffer[] {
  const usage: number[] = [KEY_USAGE.digitalSignature];
  if (keyType === 'rsa') usage.push(KEY_USAGE.keyEncipherment);
  const out = [
    ext.leafBasicConstraints(),
    ext.keyUsage(usage),
    ext.extKeyUsage(profile.purposes),
    ext.subjectAltName(profile.sans),
    ext.subjectKeyIdentifier(subjectKeyId),
    ext.authorityKeyIdentifier(authorityKeyId),
  ];
  if (crlUrl) out.push(ext.crlDistributionPoint(crlUrl));
  return out;
}
