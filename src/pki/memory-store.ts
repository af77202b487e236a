/**
 * An in-memory CertificateStore with the store contract's semantics (duplicate serial is a
 * conflict, revoking twice keeps the first time and reason). For tests, benchmarks and tools that
 * issue without a database; the server uses the real store.
 */
import {
  StoreConflictError,
  StoreNotFoundError,
  type CertificateKind,
  type CertificateRecord,
  type CertificateStore,
} from '../store/store.js';

export class MemoryCertificateStore implements CertificateStore {
  private readonly records = new Map<string, CertificateRecord>();

  create(
    cert: Omit<CertificateRecord, 'revokedAt' | 'revocationReason'>,
  ): Promise<CertificateRecord> {
    const serial = cert.serial.toLowerCase();
    if (this.records.has(serial)) {
      return Promise.reject(
        new StoreConflictError(`a certificate with serial \`${serial}\` already exists`),
      );
    }
    const record: CertificateRecord = { ...cert, serial, revokedAt: null, revocationReason: null };
    this.records.set(serial, record);
    return Promise.resolve(record);
  }

  get(serial: string): Promise<CertificateRecord | undefined> {
    return Promise.resolve(this.records.get(serial.toLowerCase()));
  }

  list(
    filter: { readonly kind?: CertificateKind; readonly revoked?: boolean } = {},
  ): Promise<readonly CertificateRecord[]> {
    return Promise.resolve(
      [...this.records.values()]
        .filter((r) => filter.kind === undefined || r.kind === filter.kind)
        .filter((r) => filter.revoked === undefined || (r.revokedAt !== null) === filter.revoked)
        .sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0)),
    );
  }

  revoke(serial: string, at: number, reason: string): Promise<CertificateRecord> {
    const r = this.records.get(serial.toLowerCase());
    if (!r)
      return Promise.reject(new StoreNotFoundError(`certificate \`${serial}\` does not exist`));
    const revoked: CertificateRecord =
      r.revokedAt === null ? { ...r, revokedAt: at, revocationReason: reason } : r;
    this.records.set(r.serial, revoked);
    return Promise.resolve(revoked);
  }
}
