/**
 * The PKI as the server (and the CLI) uses it: the online CA loaded from `<data_dir>/pki` and
 * self-tested, the store's certificate records, the in-process revocation set, the CRL and the
 * trust bundle, behind one object.
 */
import { join } from 'node:path';
import type { ErrorCode } from '../shared/errors.js';
import type { CertificateRecord, CertificateStore } from '../store/store.js';
import { buildTrustBundle, type SpiffeBundle } from './bundle.js';
import {
  CertificateAuthority,
  type IssueAuthorization,
  type IssuedCertificate,
  type IssueRequest,
} from './ca/authority.js';
import { FILES, loadCaMaterial, type CaMeta } from './ca/store-files.js';
import {
  CrlPublisher,
  isRevocationReason,
  REVOCATION_REASONS,
  type RevocationReason,
} from './crl/crl.js';
import { PkiError, quote } from './errors.js';
import { normalizeSerial } from './serial.js';
import type { LeafProfileRule, PathValidator, Purpose } from './verify/path.js';
import { RevocationSet } from './verify/revocation.js';
import { ClientCertificateGuard, type ClientCertificateGuardOptions } from './verify/tls-guard.js';

export interface PkiOptions {
  readonly dataDir: string;
  readonly store: CertificateStore;
  /** overrides the CRL URL recorded at `ca init` (normally `{public_url}/pki/crl`) */
  readonly crlUrl?: string;
  readonly now?: () => number;
  readonly crlValidityMs?: number;
  /** seconds, for the trust bundle's `spiffe_refresh_hint` */
  readonly bundleRefreshHintSeconds?: number;
  readonly onWarning?: (code: ErrorCode, message: string) => void;
}

export type RevokeTarget = { readonly serial: string } | { readonly subject: string };

/** Page size of the subject lookup behind `revoke({subject})`. */
const SUBJECT_PAGE = 500;

export class Pki {
  private constructor(
    readonly ca: CertificateAuthority,
    readonly revocations: RevocationSet,
    readonly crl: CrlPublisher,
    readonly meta: CaMeta,
    private readonly store: CertificateStore,
    private readonly options: PkiOptions,
  ) {}

  /** Loads and self-tests the CA, and loads the revocation set from the store. */
  static async open(options: PkiOptions): Promise<Pki> {
    const material = loadCaMaterial(
      options.dataDir,
      options.crlUrl !== undefined ? { crlUrl: options.crlUrl } : {},
    );
    const ca = new CertificateAuthority(material, {
      store: options.store,
      ...(options.now ? { now: options.now } : {}),
    });
    ca.selfTest();
    // expired certificates fail by their dates: only the revocations that still matter are loaded
    const revocations = await RevocationSet.load(options.store, (options.now ?? Date.now)());
    const crl = new CrlPublisher({
      issuer: material,
      store: options.store,
      file: join(material.dir, FILES.crl),
      ...(options.now ? { now: options.now } : {}),
      ...(options.crlValidityMs !== undefined ? { validityMs: options.crlValidityMs } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
    const pki = new Pki(ca, revocations, crl, material.meta, options.store, options);
    // Revocations that arrive from elsewhere (the event bus) also make the CRL stale.
    revocations.subscribe(() => crl.invalidate());
    return pki;
  }

  get validator(): PathValidator {
    return this.ca.validator;
  }

  issue(request: IssueRequest, auth: IssueAuthorization): Promise<IssuedCertificate> {
    return this.ca.issue(request, auth);
  }

  /**
   * Revokes one certificate by serial, or every unexpired certificate recorded with a subject (the
   * first DNS name, `urn:ztgate:device:<id>` or the SPIFFE ID). The revocation set is updated at
   * once (connections using those certificates are cut) and the CRL regenerated.
   */
  async revoke(
    target: RevokeTarget,
    reason: RevocationReason = 'unspecified',
  ): Promise<readonly CertificateRecord[]> {
    if (!isRevocationReason(reason)) {
      throw new TypeError(
        `${quote(reason)} is not a revocation reason (${REVOCATION_REASONS.join(', ')})`,
      );
    }
    let records: CertificateRecord[];
    if ('serial' in target) {
      const serial = normalizeSerial(target.serial);
      const record = serial === undefined ? undefined : await this.store.get(serial);
      if (!record) {
        throw new PkiError(
          'ZT_PKI_CERT_NOT_FOUND',
          `no certificate has the serial ${quote(target.serial)}`,
          {
            help: 'list certificates with `ztgate ca list`',
          },
        );
      }
      records = [record];
    } else {
      records = await this.bySubject(target.subject);
    }
    const ca = records.find((r) => r.kind === 'ca');
    if (ca) {
      throw new PkiError(
        'ZT_PKI_REVOKE_CA',
        `${quote(ca.serial)} is a CA certificate, which \`revoke\` does not revoke`,
        {
          help: 'to replace the intermediate, use `ztgate ca rotate`; a compromised root means a new CA (`ztgate ca init` in a new data directory)',
        },
      );
    }
    const at = (this.options.now ?? Date.now)();
    const out: CertificateRecord[] = [];
    for (const r of records) {
      const revoked = await this.store.revoke(r.serial, at, reason);
      out.push(revoked);
      this.revocations.add(revoked.serial);
    }
    this.crl.invalidate();
    try {
      await this.crl.regenerate();
    } catch (err) {
      this.options.onWarning?.(
        'ZT_PKI_CRL_FAILED',
        `the CRL could not be regenerated after a revocation: ${(err as Error).message}`,
      );
    }
    return out;
  }

  /**
   * The certificates recorded with a subject that have not expired (an expired certificate fails
   * validation by its dates: revoking it would change nothing), through the store's subject index.
   */
  private async bySubject(subject: string): Promise<CertificateRecord[]> {
    const now = (this.options.now ?? Date.now)();
    const out: CertificateRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.store.list({
        subject,
        notExpiredAt: now,
        limit: SUBJECT_PAGE,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      out.push(...page);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    if (out.length > 0) return out;
    const expired = await this.store.list({ subject, limit: 1 });
    throw new PkiError(
      'ZT_PKI_CERT_NOT_FOUND',
      expired.length > 0
        ? `every certificate with the subject ${quote(subject)} has expired`
        : `no certificate has the subject ${quote(subject)}`,
      {
        help:
          expired.length > 0
            ? 'an expired certificate is refused by its dates; there is nothing to revoke'
            : 'subjects are the first DNS name, `urn:ztgate:device:<id>` or the SPIFFE ID: see `ztgate ca list`',
      },
    );
  }

  /** The SPIFFE trust bundle: the root (the X.509 authority of the trust domain). */
  bundle(): SpiffeBundle {
    return buildTrustBundle([this.ca.root.der], {
      sequence: this.meta.bundle_sequence,
      ...(this.options.bundleRefreshHintSeconds !== undefined
        ? { refreshHintSeconds: this.options.bundleRefreshHintSeconds }
        : {}),
    });
  }

  /** A TLS client-certificate guard wired to this CA's validator and live revocation set. */
  guard(
    options: {
      readonly purpose?: Purpose;
      readonly profile?: LeafProfileRule;
    } & Pick<ClientCertificateGuardOptions, 'onRefused' | 'onAccepted' | 'requireCertificate'> = {},
  ): ClientCertificateGuard {
    return new ClientCertificateGuard({
      validator: this.ca.validator,
      revocations: this.revocations,
      ...(this.options.now ? { now: this.options.now } : {}),
      ...options,
    });
  }

  close(): void {
    this.crl.stop();
  }
}
