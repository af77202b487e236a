/**
 * Certification path validation (RFC 5280 section 6, the parts a private CA needs) with a typed
 * reason for every refusal. A chain builder alone is not validation: after a path to a trust
 * anchor is found, every certificate on it is checked for its dates, every issuer for the CA flag,
 * key usage and path length, the leaf for its purpose (EKU), key usage and names, and every
 * certificate below the anchor against the revocation set.
 *
 * Trust anchors are only the roots given to the validator. Intermediates come from the validator's
 * own list (the CA's intermediate) and, untrusted, from what the peer presented: they are used to
 * build a path, never trusted by themselves.
 */
import { PkiError } from '../errors.js';
import { DEVICE_URN_PREFIX, USER_URN_PREFIX } from '../names.js';
import { OID } from '../oids.js';
import { parseSpiffeId } from '../spiffe.js';
import {
  certificatesFrom,
  CertificateParseError,
  fingerprint,
  parseCertificate,
  type ParsedCertificate,
} from './parse.js';

/** Why a certificate was refused: a closed list, used in logs, metrics and tests. */
export type RefusalReason =
  | 'no-certificate'
  | 'malformed'
  | 'expired'
  | 'not-yet-valid'
  | 'unknown-issuer'
  | 'bad-signature'
  | 'chain-too-long'
  | 'ca-flag-missing'
  | 'path-length-exceeded'
  | 'leaf-is-ca'
  | 'wrong-key-usage'
  | 'wrong-eku'
  | 'unsupported-critical-extension'
  | 'invalid-spiffe-id'
  | 'wrong-trust-domain'
  | 'not-a-device-certificate'
  | 'revoked';

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'no-certificate',
  'malformed',
  'expired',
  'not-yet-valid',
  'unknown-issuer',
  'bad-signature',
  'chain-too-long',
  'ca-flag-missing',
  'path-length-exceeded',
  'leaf-is-ca',
  'wrong-key-usage',
  'wrong-eku',
  'unsupported-critical-extension',
  'invalid-spiffe-id',
  'wrong-trust-domain',
  'not-a-device-certificate',
  'revoked',
];

/** Who a verified certificate identifies. */
export interface PeerIdentity {
  readonly serial: string;
  readonly subject: string;
  readonly fingerprint256: string;
  readonly notAfter: number;
  /** serials of every certificate on the path below the anchor, leaf first */
  readonly pathSerials: readonly string[];
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  readonly spiffeId?: string;
  readonly deviceId?: string;
  readonly userId?: string;
}

export type Verdict =
  | {
      readonly ok: true;
      readonly identity: PeerIdentity;
      readonly chain: readonly ParsedCertificate[];
    }
  | {
      readonly ok: false;
      readonly reason: RefusalReason;
      readonly message: string;
      /** 0 for the leaf, 1 for its issuer, ... */
      readonly depth: number;
      readonly serial?: string;
      readonly subject?: string;
    };

export interface RevocationChecker {
  isRevoked(serial: string): boolean;
}

export type Purpose = 'client' | 'server';
export type LeafProfileRule = 'any' | 'svid' | 'device';

export interface VerifyOptions {
  /** the time to validate at (ms or Date); default now */
  readonly at?: number | Date;
  readonly purpose: Purpose;
  /** extra rules for the leaf's names; default `any` */
  readonly profile?: LeafProfileRule;
  /** intermediates the peer sent (untrusted: used only to build a path) */
  readonly presented?: readonly Uint8Array[];
  readonly revocation?: RevocationChecker;
}

export interface PathValidatorOptions {
  /** trust anchors: PEM text or DER */
  readonly roots: readonly (Uint8Array | string)[];
  /** known intermediates (the CA's own) */
  readonly intermediates?: readonly (Uint8Array | string)[];
  /** SVIDs must belong to this trust domain */
  readonly trustDomain?: string;
  /** the longest path, anchor included (default 4) */
  readonly maxLength?: number;
}

const KU_DIGITAL_SIGNATURE = 1;
const KU_KEY_CERT_SIGN = 32;
const KU_CRL_SIGN = 64;
const CACHE_LIMIT = 4096;

type Refusal = Extract<Verdict, { ok: false }>;

function refuse(
  reason: RefusalReason,
  message: string,
  depth: number,
  cert?: ParsedCertificate,
): Refusal {
  return {
    ok: false,
    reason,
    message,
    depth,
    ...(cert ? { serial: cert.serial, subject: cert.subject } : {}),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function what(depth: number): string {
  return depth === 0 ? 'the certificate' : `the issuing CA certificate at depth ${depth}`;
}

export class PathValidator {
  readonly roots: readonly ParsedCertificate[];
  readonly intermediates: readonly ParsedCertificate[];
  private readonly rootPrints: ReadonlySet<string>;
  private readonly trustDomain: string | undefined;
  private readonly maxLength: number;
  private readonly parsed = new Map<string, ParsedCertificate>();
  private readonly signatures = new Map<string, boolean>();

  constructor(options: PathValidatorOptions) {
    this.roots = options.roots.flatMap((r) => certificatesFrom(r)).map((d) => this.parse(d));
    if (this.roots.length === 0) throw new Error('a path validator needs at least one root');
    this.intermediates = (options.intermediates ?? [])
      .flatMap((r) => certificatesFrom(r))
      .map((d) => this.parse(d));
    this.rootPrints = new Set(this.roots.map((r) => r.fingerprint256));
    this.trustDomain = options.trustDomain;
    this.maxLength = options.maxLength ?? 4;
  }

  /** Parses a certificate, from a small cache keyed by its SHA-256 (TLS clients reconnect). */
  parse(der: Uint8Array): ParsedCertificate {
    const fp = fingerprint(der);
    const hit = this.parsed.get(fp);
    if (hit) {
      this.parsed.delete(fp);
      this.parsed.set(fp, hit);
      return hit;
    }
    const p = parseCertificate(der);
    if (this.parsed.size >= CACHE_LIMIT)
      this.parsed.delete(this.parsed.keys().next().value as string);
    this.parsed.set(fp, p);
    return p;
  }

  private signedBy(child: ParsedCertificate, issuer: ParsedCertificate): boolean {
    const key = `${child.fingerprint256}:${issuer.fingerprint256}`;
    const hit = this.signatures.get(key);
    if (hit !== undefined) return hit;
    let ok = false;
    try {
      ok = child.node.verify(issuer.node.publicKey);
    } catch {
      ok = false;
    }
    if (this.signatures.size >= CACHE_LIMIT) this.signatures.clear();
    this.signatures.set(key, ok);
    return ok;
  }

  /** Validates `leaf` (DER, or already parsed); never throws for bad input: it is a refusal. */
  verify(leaf: Uint8Array | ParsedCertificate | undefined, options: VerifyOptions): Verdict {
    if (leaf === undefined || (leaf instanceof Uint8Array && leaf.length === 0)) {
      return refuse('no-certificate', 'no client certificate was presented', 0);
    }
    let cert: ParsedCertificate;
    const presented: ParsedCertificate[] = [];
    try {
      cert = leaf instanceof Uint8Array ? this.parse(leaf) : leaf;
      for (const d of options.presented ?? []) {
        const p = this.parse(d);
        if (p.fingerprint256 !== cert.fingerprint256) presented.push(p);
      }
    } catch (err) {
      if (err instanceof CertificateParseError) return refuse('malformed', err.message, 0);
      throw err;
    }
    const at =
      options.at === undefined
        ? Date.now()
        : typeof options.at === 'number'
          ? options.at
          : options.at.getTime();
    const built = this.buildPath(cert, presented);
    if (!built.ok) return built;
    return this.validatePath(built.path, at, options);
  }

  private buildPath(
    leaf: ParsedCertificate,
    presented: readonly ParsedCertificate[],
  ): { ok: true; path: ParsedCertificate[] } | Refusal {
    if (this.rootPrints.has(leaf.fingerprint256)) {
      return refuse(
        'leaf-is-ca',
        'the certificate is a trusted root CA certificate, not a leaf',
        0,
        leaf,
      );
    }
    const pool = [...this.roots, ...this.intermediates, ...presented];
    let best: Refusal | undefined;
    const search = (path: ParsedCertificate[]): ParsedCertificate[] | undefined => {
      const cert = path[path.length - 1] as ParsedCertificate;
      const depth = path.length - 1;
      const named = pool.filter((c) => c.subjectDer.equals(cert.issuerDer) && !path.includes(c));
      for (const issuer of named) {
        const keyMatches =
          cert.authorityKeyId === undefined ||
          issuer.subjectKeyId === undefined ||
          cert.authorityKeyId === issuer.subjectKeyId;
        if (!keyMatches) continue;
        if (!this.signedBy(cert, issuer)) {
          if (cert.authorityKeyId !== undefined && cert.authorityKeyId === issuer.subjectKeyId) {
            best ??= refuse(
              'bad-signature',
              `the signature of ${what(depth)} does not verify with its issuer's key: it was altered`,
              depth,
              cert,
            );
          }
          continue;
        }
        const next = [...path, issuer];
        if (this.rootPrints.has(issuer.fingerprint256)) return next;
        if (next.length >= this.maxLength) {
          best ??= refuse(
            'chain-too-long',
            `no trusted root is reached within ${this.maxLength} certificates`,
            depth + 1,
            issuer,
          );
          continue;
        }
        const found = search(next);
        if (found) return found;
      }
      best ??= refuse(
        'unknown-issuer',
        `${what(depth)} was issued by \`${cert.issuer}\`${named.length ? ' with a different key' : ''}, which is not a CA this server trusts`,
        depth,
        cert,
      );
      return undefined;
    };
    const path = search([leaf]);
    return path ? { ok: true, path } : (best as Refusal);
  }

  private validatePath(
    path: readonly ParsedCertificate[],
    at: number,
    options: VerifyOptions,
  ): Verdict {
    const purposeOid = options.purpose === 'client' ? OID.clientAuth : OID.serverAuth;
    const purposeName = options.purpose === 'client' ? 'clientAuth' : 'serverAuth';
    // Dates and unknown critical extensions, on every certificate (the anchor too).
    for (let depth = 0; depth < path.length; depth++) {
      const c = path[depth] as ParsedCertificate;
      if (at < c.notBefore) {
        return refuse(
          'not-yet-valid',
          `${what(depth)} is not valid before ${iso(c.notBefore)}`,
          depth,
          c,
        );
      }
      if (at > c.notAfter)
        return refuse('expired', `${what(depth)} expired at ${iso(c.notAfter)}`, depth, c);
      if (c.unhandledCritical.length) {
        return refuse(
          'unsupported-critical-extension',
          `${what(depth)} has a critical extension this validator does not process (${c.unhandledCritical.join(', ')})`,
          depth,
          c,
        );
      }
    }
    // Issuers: CA flag, key usage, path length, EKU when they carry one.
    let intermediatesBelow = 0;
    for (let depth = 1; depth < path.length; depth++) {
      const c = path[depth] as ParsedCertificate;
      if (!c.basicConstraints?.ca) {
        return refuse(
          'ca-flag-missing',
          `${what(depth)} (\`${c.subject}\`) is not a CA certificate (basicConstraints cA is not set) and may not issue certificates`,
          depth,
          c,
        );
      }
      if (c.keyUsage !== undefined && (c.keyUsage & KU_KEY_CERT_SIGN) === 0) {
        return refuse(
          'wrong-key-usage',
          `${what(depth)} lacks the keyCertSign key usage`,
          depth,
          c,
        );
      }
      const limit = c.basicConstraints.pathLength;
      if (limit !== undefined && intermediatesBelow > limit) {
        return refuse(
          'path-length-exceeded',
          `${what(depth)} allows ${limit} intermediate CA certificate${limit === 1 ? '' : 's'} below it, the path has ${intermediatesBelow}`,
          depth,
          c,
        );
      }
      if (
        c.extKeyUsage !== undefined &&
        !c.extKeyUsage.includes(purposeOid) &&
        !c.extKeyUsage.includes(OID.anyExtendedKeyUsage)
      ) {
        return refuse(
          'wrong-eku',
          `${what(depth)} restricts its certificates to purposes without ${purposeName}`,
          depth,
          c,
        );
      }
      if (!c.selfIssued) intermediatesBelow++;
    }
    // The leaf.
    const leaf = path[0] as ParsedCertificate;
    const profile = options.profile ?? 'any';
    if (leaf.basicConstraints?.ca) {
      return refuse(
        'leaf-is-ca',
        'the certificate is a CA certificate, not a leaf: it cannot identify a client or server',
        0,
        leaf,
      );
    }
    if (leaf.keyUsage !== undefined) {
      if ((leaf.keyUsage & KU_DIGITAL_SIGNATURE) === 0) {
        return refuse(
          'wrong-key-usage',
          'the certificate lacks the digitalSignature key usage',
          0,
          leaf,
        );
      }
      if (profile === 'svid' && (leaf.keyUsage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) !== 0) {
        return refuse(
          'wrong-key-usage',
          'the SVID has keyCertSign or cRLSign key usage, which a leaf SVID must not have',
          0,
          leaf,
        );
      }
    } else if (profile === 'svid') {
      return refuse(
        'wrong-key-usage',
        'the SVID has no key usage extension (SPIFFE requires it)',
        0,
        leaf,
      );
    }
    if (leaf.extKeyUsage === undefined || !leaf.extKeyUsage.includes(purposeOid)) {
      return refuse(
        'wrong-eku',
        `the certificate is not for ${options.purpose === 'client' ? 'TLS clients' : 'TLS servers'}: its extended key usage ${
          leaf.extKeyUsage === undefined ? 'is missing' : `lacks ${purposeName}`
        }`,
        0,
        leaf,
      );
    }
    const uris = leaf.san?.uris ?? [];
    const spiffeUris = uris.filter((u) => u.toLowerCase().startsWith('spiffe:'));
    let spiffeId: string | undefined;
    if (profile === 'svid') {
      if (uris.length !== 1) {
        return refuse(
          'invalid-spiffe-id',
          `an SVID has exactly one URI name, this certificate has ${uris.length}`,
          0,
          leaf,
        );
      }
      try {
        const id = parseSpiffeId(uris[0] as string, { leaf: true });
        if (this.trustDomain !== undefined && id.trustDomain !== this.trustDomain) {
          return refuse(
            'wrong-trust-domain',
            `the SVID belongs to the trust domain \`${id.trustDomain}\`, not \`${this.trustDomain}\``,
            0,
            leaf,
          );
        }
        spiffeId = id.id;
      } catch (err) {
        return refuse('invalid-spiffe-id', (err as Error).message, 0, leaf);
      }
    } else if (spiffeUris.length === 1 && uris.length === 1) {
      try {
        const id = parseSpiffeId(spiffeUris[0] as string, { leaf: true });
        if (this.trustDomain === undefined || id.trustDomain === this.trustDomain) spiffeId = id.id;
      } catch {
        spiffeId = undefined;
      }
    }
    const devices = uris.filter((u) => u.startsWith(DEVICE_URN_PREFIX));
    const users = uris.filter((u) => u.startsWith(USER_URN_PREFIX));
    if (profile === 'device' && (devices.length !== 1 || users.length !== 1)) {
      return refuse(
        'not-a-device-certificate',
        'the certificate does not name exactly one device and one user',
        0,
        leaf,
      );
    }
    // Revocation, for every certificate below the anchor.
    if (options.revocation) {
      for (let depth = 0; depth < path.length - 1; depth++) {
        const c = path[depth] as ParsedCertificate;
        if (options.revocation.isRevoked(c.serial)) {
          return refuse(
            'revoked',
            `${what(depth)} (serial ${c.serial}) has been revoked`,
            depth,
            c,
          );
        }
      }
    }
    const deviceId =
      devices.length === 1 ? (devices[0] as string).slice(DEVICE_URN_PREFIX.length) : undefined;
    const userId =
      users.length === 1 ? (users[0] as string).slice(USER_URN_PREFIX.length) : undefined;
    return {
      ok: true,
      chain: path,
      identity: {
        serial: leaf.serial,
        subject: leaf.subject,
        fingerprint256: leaf.fingerprint256,
        notAfter: leaf.notAfter,
        pathSerials: path.slice(0, -1).map((c) => c.serial),
        dnsNames: leaf.san?.dns ?? [],
        uris,
        ...(spiffeId !== undefined ? { spiffeId } : {}),
        ...(deviceId !== undefined ? { deviceId } : {}),
        ...(userId !== undefined ? { userId } : {}),
      },
    };
  }
}

/** The identity of an accepted verdict; a refusal becomes a `ZT_PKI_CERT_INVALID` error with its reason. */
export function assertVerified(verdict: Verdict): PeerIdentity {
  if (verdict.ok) return verdict.identity;
  throw new PkiError('ZT_PKI_CERT_INVALID', `${verdict.reason}: ${verdict.message}`);
}
