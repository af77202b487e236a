/**
 * The online issuing CA: the intermediate certificate and key, and `issue`, which turns a CSR
 * into a certificate: decode and verify the CSR, validate the names, apply the issuance policy,
 * encode and sign the leaf, record it in the store.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { formatDuration } from '../../shared/duration.js';
import type { CertificateKind, CertificateStore } from '../../store/store.js';
import { PkiError, quote } from '../errors.js';
import { parseDeviceId, parseDnsName, parseIpAddress, parseUserId, type IpName } from '../names.js';
import { randomSerial, serialHex } from '../serial.js';
import { parseSpiffeId } from '../spiffe.js';
import { PathValidator, type Verdict } from '../verify/path.js';
import { toPem, type ParsedCertificate } from '../verify/parse.js';
import { csrRequestedNames, decodeCsr, verifyCsr, type DecodedCsr } from './csr.js';
import { encodeTbs, keyIdentifier, signTbs } from './encode.js';
import type { IssuancePolicy } from './policy.js';
import {
  leafExtensions,
  leafProfile,
  TYPE_LIMITS,
  type CertificateType,
  type LeafNames,
} from './profiles.js';

/** How far before "now" a certificate's validity starts, for clocks slightly behind ours. */
export const BACKDATE_MS = 30_000;
export const MAX_SERVER_NAMES = 100;

export interface IssueRequest {
  readonly type: CertificateType;
  /** the PKCS#10 request: PEM text or DER */
  readonly csr: Uint8Array | string;
  /** server: DNS names (default: those the CSR asks for) */
  readonly dns?: readonly string[];
  /** server: IP addresses */
  readonly ips?: readonly string[];
  /** svid: the SPIFFE ID (default: the one URI the CSR asks for) */
  readonly spiffeId?: string;
  /** device: the device id and its user */
  readonly deviceId?: string;
  readonly userId?: string;
  /** lifetime; default per type (server and device 30 d, svid 1 h) */
  readonly ttlMs?: number;
  /** explicit validity (tests, backfills); both or neither */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

export interface IssueAuthorization {
  /** who asks: a user, a device, a workload, `operator` for the local CLI */
  readonly requester: string;
  readonly policy: IssuancePolicy;
}

export interface IssuedCertificate {
  readonly serial: string;
  readonly type: CertificateType;
  readonly kind: CertificateKind;
  /** what the store records (first DNS name, `urn:ztgate:device:<id>` or the SPIFFE ID) */
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly der: Buffer;
  /** the leaf alone */
  readonly pem: string;
  /** the leaf followed by the intermediate: what a server or client presents */
  readonly chainPem: string;
  /** `ECDSA P-256`, ... */
  readonly keyType: string;
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  readonly uris: readonly string[];
}

export interface CaMaterial {
  readonly trustDomain: string;
  readonly crlUrl: string | undefined;
  readonly root: ParsedCertificate;
  readonly intermediate: ParsedCertificate;
  readonly intermediateKey: KeyObject;
  /** older intermediates, still valid, whose certificates must keep verifying */
  readonly previousIntermediates?: readonly ParsedCertificate[];
}

export class CertificateAuthority {
  readonly trustDomain: string;
  readonly crlUrl: string | undefined;
  readonly root: ParsedCertificate;
  readonly intermediate: ParsedCertificate;
  readonly rootPem: string;
  readonly intermediatePem: string;
  readonly validator: PathValidator;
  private readonly key: KeyObject;
  private readonly authorityKeyId: Buffer;
  private readonly store: CertificateStore | undefined;
  private readonly now: () => number;

  constructor(
    material: CaMaterial,
    options: { store?: CertificateStore; now?: () => number } = {},
  ) {
    this.trustDomain = material.trustDomain;
    this.crlUrl = material.crlUrl;
    this.root = material.root;
    this.intermediate = material.intermediate;
    this.key = material.intermediateKey;
    this.rootPem = toPem(material.root.der);
    this.intermediatePem = toPem(material.intermediate.der);
    this.authorityKeyId = material.intermediate.subjectKeyId
      ? Buffer.from(material.intermediate.subjectKeyId, 'hex')
      : keyIdentifier(material.intermediate.node.publicKey.export({ type: 'spki', format: 'der' }));
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.validator = new PathValidator({
      roots: [material.root.der],
      intermediates: [
        material.intermediate.der,
        ...(material.previousIntermediates ?? []).map((c) => c.der),
      ],
      trustDomain: material.trustDomain,
    });
  }

  /** Issues a certificate from a CSR; every refusal is a PkiError with a clear message. */
  async issue(request: IssueRequest, auth: IssueAuthorization): Promise<IssuedCertificate> {
    const csr = decodeCsr(request.csr);
    const key = verifyCsr(csr);
    const names = this.resolveNames(request, csr);
    const { notBefore, notAfter, ttlMs } = this.validity(request);
    auth.policy.authorize(auth.requester, {
      type: names.type,
      ttlMs,
      ...(names.type === 'server' ? { dns: names.dns, ips: names.ips } : {}),
      ...(names.type === 'device' ? { deviceId: names.deviceId, userId: names.userId } : {}),
      ...(names.type === 'svid' ? { spiffeId: names.spiffeId.id } : {}),
    });
    const profile = leafProfile(names);
    const { der, serial } = this.signLeaf(names, csr.spki, key.type, notBefore, notAfter);
    const kind = TYPE_LIMITS[names.type].kind;
    const dns = names.type === 'server' ? names.dns : [];
    const ips = names.type === 'server' ? names.ips.map((i) => i.text) : [];
    const uris = profile.sans.flatMap((s) => (s.type === 'uri' ? [s.value] : []));
    await this.store?.create({
      serial,
      subject: profile.recordSubject,
      kind,
      notBefore: notBefore.getTime(),
      notAfter: notAfter.getTime(),
      der,
      names: [...dns, ...ips, ...uris],
      issuerSerial: this.intermediate.serial,
    });
    const pem = toPem(der);
    return {
      serial,
      type: names.type,
      kind,
      subject: profile.recordSubject,
      notBefore,
      notAfter,
      der,
      pem,
      chainPem: pem + this.intermediatePem,
      keyType: key.description,
      dns,
      ips,
      uris,
    };
  }

  /** Encodes and signs a leaf for a public key (SPKI DER). Synchronous; records nothing. */
  signLeaf(
    names: LeafNames,
    spki: Uint8Array,
    keyType: 'ec' | 'rsa' | 'ed25519',
    notBefore: Date,
    notAfter: Date,
  ): { der: Buffer; serial: string } {
    const profile = leafProfile(names);
    const serialBytes = randomSerial();
    const tbs = encodeTbs({
      serial: serialBytes,
      issuer: this.intermediate.subjectDer,
      subject: profile.subject,
      notBefore,
      notAfter,
      spki,
      extensions: leafExtensions(
        profile,
        keyType,
        keyIdentifier(spki),
        this.authorityKeyId,
        this.crlUrl,
      ),
    });
    return { der: signTbs(tbs, this.key), serial: serialHex(serialBytes) };
  }

  /**
   * The SPIRE-style self-test: issue a throwaway SVID for a fresh key and verify it through the
   * whole path (root, intermediate, leaf) before this CA issues anything real.
   */
  selfTest(): void {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const now = this.now();
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const names: LeafNames = {
      type: 'svid',
      spiffeId: parseSpiffeId(`spiffe://${this.trustDomain}/ztgate/ca-self-test`),
    };
    let verdict: Verdict;
    try {
      const { der } = this.signLeaf(
        names,
        spki,
        'ec',
        new Date(now - BACKDATE_MS),
        new Date(now + 300_000),
      );
      verdict = this.validator.verify(der, { at: now, purpose: 'client', profile: 'svid' });
      if (verdict.ok && !verdict.chain[0]?.node.checkPrivateKey(privateKey)) {
        throw new Error('the test certificate does not carry the test key');
      }
    } catch (err) {
      throw new PkiError(
        'ZT_PKI_CA_INVALID',
        `the CA failed its self-test: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (!verdict.ok) {
      throw new PkiError(
        'ZT_PKI_CA_INVALID',
        `the CA failed its self-test (${verdict.reason}): ${verdict.message}`,
        {
          help:
            verdict.reason === 'expired' || verdict.reason === 'not-yet-valid'
              ? 'check the system clock, or rotate the intermediate'
              : 'the CA files do not belong together: restore them from a backup',
        },
      );
    }
  }

  private resolveNames(request: IssueRequest, csr: DecodedCsr): LeafNames {
    const extra = (fields: readonly (keyof IssueRequest)[], allowed: string) => {
      const given = fields.filter((f) => request[f] !== undefined);
      if (given.length) {
        throw new PkiError(
          'ZT_PKI_NAME_INVALID',
          `${typeName(request.type)} does not take ${given.map((g) => `\`${g}\``).join(', ')}`,
          {
            help: `${typeName(request.type)} is for ${allowed}`,
          },
        );
      }
    };
    switch (request.type) {
      case 'server': {
        extra(['spiffeId', 'deviceId', 'userId'], 'DNS names and IP addresses');
        let dnsIn = request.dns ?? [];
        let ipsIn = request.ips ?? [];
        if (request.dns === undefined && request.ips === undefined) {
          const asked = csrRequestedNames(csr);
          dnsIn = asked.dns;
          ipsIn = asked.ips;
        }
        const dns = [...new Set(dnsIn.map(parseDnsName))];
        const seen = new Set<string>();
        const ips: IpName[] = [];
        for (const ip of ipsIn.map(parseIpAddress)) {
          if (!seen.has(ip.text)) ips.push(ip);
          seen.add(ip.text);
        }
        if (dns.length + ips.length === 0) {
          throw new PkiError(
            'ZT_PKI_NAME_INVALID',
            'a server certificate needs at least one DNS name or IP address',
            {
              help: 'give `--dns NAME` or `--ip ADDRESS` (or put them in the CSR)',
            },
          );
        }
        if (dns.length + ips.length > MAX_SERVER_NAMES) {
          throw new PkiError(
            'ZT_PKI_NAME_INVALID',
            `a server certificate holds at most ${MAX_SERVER_NAMES} names`,
          );
        }
        return { type: 'server', dns, ips };
      }
      case 'device': {
        extra(['dns', 'ips', 'spiffeId'], 'one device and its user');
        if (request.deviceId === undefined || request.userId === undefined) {
          throw new PkiError(
            'ZT_PKI_NAME_INVALID',
            'a device certificate needs a device id and a user id',
            {
              help: 'give `--device ID` and `--user ID`',
            },
          );
        }
        return {
          type: 'device',
          deviceId: parseDeviceId(request.deviceId),
          userId: parseUserId(request.userId),
        };
      }
      case 'svid': {
        extra(['dns', 'ips', 'deviceId', 'userId'], 'one SPIFFE ID');
        let id = request.spiffeId;
        if (id === undefined) {
          const uris = csrRequestedNames(csr).uris;
          if (uris.length === 1) id = uris[0];
        }
        if (id === undefined) {
          throw new PkiError('ZT_PKI_SPIFFE_ID_INVALID', 'an SVID needs exactly one SPIFFE ID', {
            help: 'give `--spiffe-id spiffe://trust-domain/path`',
          });
        }
        const spiffeId = parseSpiffeId(id, { leaf: true });
        if (spiffeId.trustDomain !== this.trustDomain) {
          throw new PkiError(
            'ZT_PKI_SPIFFE_ID_INVALID',
            `the SPIFFE ID ${quote(id)} is in the trust domain ${quote(spiffeId.trustDomain)}, but this CA is for ${quote(this.trustDomain)}`,
            { help: `use \`spiffe://${this.trustDomain}/...\`` },
          );
        }
        return { type: 'svid', spiffeId };
      }
    }
  }

  private validity(request: IssueRequest): { notBefore: Date; notAfter: Date; ttlMs: number } {
    const limits = TYPE_LIMITS[request.type];
    const now = this.now();
    const caEnd = this.intermediate.notAfter;
    const bad = (message: string, help?: string): never => {
      throw new PkiError('ZT_PKI_VALIDITY_INVALID', message, { ...(help ? { help } : {}) });
    };
    if ((request.notBefore === undefined) !== (request.notAfter === undefined)) {
      bad('give both `notBefore` and `notAfter`, or neither');
    }
    if (request.notBefore && request.notAfter) {
      const nb = request.notBefore.getTime();
      const na = request.notAfter.getTime();
      if (!Number.isFinite(nb) || !Number.isFinite(na) || na <= nb)
        bad('the validity period is empty: notAfter must be after notBefore');
      if (na - nb > limits.maxTtlMs + BACKDATE_MS)
        bad(`${typeName(request.type)} is valid for ${formatDuration(limits.maxTtlMs)} at most`);
      if (na > caEnd)
        bad(
          `the certificate would outlive the intermediate CA (valid until ${new Date(caEnd).toISOString()})`,
        );
      return {
        notBefore: new Date(Math.floor(nb / 1000) * 1000),
        notAfter: new Date(Math.floor(na / 1000) * 1000),
        ttlMs: na - nb,
      };
    }
    const ttlMs = request.ttlMs ?? limits.defaultTtlMs;
    if (!Number.isFinite(ttlMs) || ttlMs < 60_000)
      bad('a certificate must be valid for at least one minute');
    if (ttlMs > limits.maxTtlMs) {
      bad(
        `${typeName(request.type)} is valid for ${formatDuration(limits.maxTtlMs)} at most, not ${formatDuration(ttlMs)}`,
        'ask for a shorter `--ttl`',
      );
    }
    if (now >= caEnd - 60_000)
      bad(
        'the intermediate CA has expired or is about to',
        'rotate the intermediate: `ztgate ca rotate` (docs/pki.md)',
      );
    const notBefore = Math.floor((now - BACKDATE_MS) / 1000) * 1000;
    const notAfter = Math.floor(Math.min(now + ttlMs, caEnd) / 1000) * 1000;
    return { notBefore: new Date(notBefore), notAfter: new Date(notAfter), ttlMs };
  }
}

function typeName(type: CertificateType): string {
  return type === 'svid' ? 'an SVID' : `a ${type} certificate`;
}
