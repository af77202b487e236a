/**
 * The certificate revocation list: DER, signed by the intermediate, listing every revoked
 * certificate the store knows that has not expired yet. It is valid 24 hours (`nextUpdate`) and kept fresh: regenerated
 * after every revocation and, before it ages, once half of its validity has passed (on the next
 * request, and by a timer when `start()`ed). If regeneration fails, the previous CRL is served
 * while it is still valid; after its `nextUpdate` nothing is (fail closed: a stale CRL would
 * hide revocations).
 */
import { webcrypto, type KeyObject } from 'node:crypto';
import type { CertificateRecord, CertificateStore } from '../../store/store.js';
import type { ErrorCode } from '../../shared/errors.js';
import { context, seq, smallInteger } from '../der.js';
import { PkiError } from '../errors.js';
import { writePublicFile } from '../keys.js';
import { OID } from '../oids.js';
import type { ParsedCertificate } from '../verify/parse.js';
import { EC_P256, x509, type CryptoKey } from '../x509.js';

export const CRL_VALIDITY_MS = 24 * 3_600_000;
/** Certificates read from the store per query while building a CRL. */
const CRL_PAGE = 1000;

/** RFC 5280 5.3.1 reason names, as `ztgate ca revoke --reason` takes them. */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
  'aACompromise',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export function isRevocationReason(v: string): v is RevocationReason {
  return (REVOCATION_REASONS as readonly string[]).includes(v);
}

export interface CrlSnapshot {
  readonly der: Buffer;
  readonly thisUpdate: number;
  readonly nextUpdate: number;
  /** the cRLNumber extension: increases with every CRL */
  readonly number: number;
  readonly entries: number;
}

export interface CrlIssuer {
  readonly intermediate: ParsedCertificate;
  readonly intermediateKey: KeyObject;
}

export interface CrlPublisherOptions {
  readonly issuer: CrlIssuer;
  /** only `list` is used */
  readonly store: Pick<CertificateStore, 'list'>;
  readonly now?: () => number;
  readonly validityMs?: number;
  /** also written here (0644) after each regeneration, for `openssl verify -CRLfile` and offline use */
  readonly file?: string;
  readonly onWarning?: (code: ErrorCode, message: string) => void;
}

export class CrlPublisher {
  private snapshot: CrlSnapshot | undefined;
  private dirty = true;
  private inflight: Promise<CrlSnapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private signingKey: Promise<CryptoKey> | undefined;
  private readonly now: () => number;
  private readonly validityMs: number;

  constructor(private readonly options: CrlPublisherOptions) {
    this.now = options.now ?? Date.now;
    this.validityMs = options.validityMs ?? CRL_VALIDITY_MS;
  }

  /** When the current CRL should be replaced: half-way through its validity. */
  refreshAt(snapshot = this.snapshot): number {
    return snapshot
      ? snapshot.thisUpdate + Math.floor((snapshot.nextUpdate - snapshot.thisUpdate) / 2)
      : 0;
  }

  /** True when there is no CRL yet, a revocation happened since, or it is past its refresh time. */
  isStale(at = this.now()): boolean {
    return this.dirty || this.snapshot === undefined || at >= this.refreshAt();
  }

  /** Marks the CRL out of date (a revocation happened); the next `current()` regenerates it. */
  invalidate(): void {
    this.dirty = true;
  }

  /** The CRL to serve: fresh, regenerated first when stale. Throws only when none is valid. */
  async current(): Promise<CrlSnapshot> {
    if (!this.isStale()) return this.snapshot as CrlSnapshot;
    try {
      return await this.regenerate();
    } catch (err) {
      const old = this.snapshot;
      if (old && this.now() < old.nextUpdate) {
        this.options.onWarning?.(
          'ZT_PKI_CRL_FAILED',
          `the CRL could not be regenerated, serving the previous one: ${(err as Error).message}`,
        );
        return old;
      }
      throw new PkiError(
        'ZT_PKI_CRL_FAILED',
        `the CRL could not be regenerated: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** Builds and signs a new CRL now (one at a time: concurrent callers share it). */
  regenerate(): Promise<CrlSnapshot> {
    if (this.inflight) {
      // A revocation may have landed after the running build read the store: build again after it.
      const again = this.inflight.then(() =>
        this.dirty ? this.regenerate() : (this.snapshot as CrlSnapshot),
      );
      return again;
    }
    this.dirty = false;
    const run = this.build()
      .then((snapshot) => {
        this.snapshot = snapshot;
        if (this.options.file) writePublicFile(this.options.file, snapshot.der);
        if (this.running) this.schedule();
        return snapshot;
      })
      .catch((err: unknown) => {
        this.dirty = true;
        throw err;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    this.inflight = run;
    return run;
  }

  /** Regenerates on a timer, at each CRL's refresh time (the timer does not keep the process alive). */
  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(Math.max(this.refreshAt() - this.now(), 1000), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.regenerate().catch((err: unknown) => {
        this.options.onWarning?.(
          'ZT_PKI_CRL_FAILED',
          `the CRL could not be regenerated: ${(err as Error).message}`,
        );
        if (this.running) {
          this.timer = setTimeout(() => this.schedule(), 60_000);
          this.timer.unref();
        }
      });
    }, delay);
    this.timer.unref();
  }

  private async build(): Promise<CrlSnapshot> {
    const { intermediate, intermediateKey } = this.options.issuer;
    this.signingKey ??= webcrypto.subtle.importKey(
      'pkcs8',
      intermediateKey.export({ type: 'pkcs8', format: 'der' }),
      EC_P256,
      false,
      ['sign'],
    );
    const key = await this.signingKey;
    const now = this.now();
    // Expired certificates fail validation by their dates: the CRL leaves them out (RFC 5280 3.3),
    // and the store's query does too, so its size follows the live revocations, not all history.
    const revoked: CertificateRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.options.store.list({
        revoked: true,
        notExpiredAt: now,
        limit: CRL_PAGE,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      for (const r of page) if (r.kind !== 'ca') revoked.push(r);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const thisUpdate = Math.floor(now / 1000) * 1000;
    const nextUpdate = thisUpdate + this.validityMs;
    const number = Math.max(Math.floor(now / 1000), (this.snapshot?.number ?? 0) + 1);
    const crl = await x509.X509CrlGenerator.create({
      issuer: new x509.Name(intermediate.subjectDer),
      thisUpdate: new Date(thisUpdate),
      nextUpdate: new Date(nextUpdate),
      signingKey: key,
      signingAlgorithm: EC_P256,
      extensions: [
        new x509.Extension(OID.authorityKeyIdentifier, false, authorityKeyIdValue(intermediate)),
        new x509.Extension(OID.crlNumber, false, smallInteger(number)),
      ],
      entries: revoked.map((r) => {
        const reason = r.revocationReason ?? 'unspecified';
        return {
          serialNumber: r.serial,
          revocationDate: new Date(Math.floor((r.revokedAt ?? now) / 1000) * 1000),
          ...(reason !== 'unspecified' && isRevocationReason(reason)
            ? { reason: x509.X509CrlReason[reason] }
            : {}),
        };
      }),
    });
    return {
      der: Buffer.from(crl.rawData),
      thisUpdate,
      nextUpdate,
      number,
      entries: revoked.length,
    };
  }
}

function authorityKeyIdValue(issuer: ParsedCertificate): Buffer {
  // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
  return seq(context(0, false, Buffer.from(issuer.subjectKeyId ?? '', 'hex')));
}
