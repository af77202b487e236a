/**
 * An in-memory CertificateStore with the store contract's semantics (duplicate serial is a
 * conflict, revoking twice keeps the first time and reason, lists ordered by serial with the same
 * filters and cursors). For tests, benchmarks and tools that issue without a database; the server
 * uses the real store.
 */
import {
  StoreConflictError,
  StoreNotFoundError,
  certificatePage,
  clampLimit,
  decodeCursor,
  MAX_LIST_LIMIT,
  type CertificateFilter,
  type CertificateList,
  type CertificateRecord,
  type CertificateStore,
  type NewCertificate,
} from '../store/store.js';

export class MemoryCertificateStore implements CertificateStore {
  private readonly records = new Map<string, CertificateRecord>();

  create(cert: NewCertificate): Promise<CertificateRecord> {
    const serial = cert.serial.toLowerCase();
    if (this.records.has(serial)) {
      return Promise.reject(
        new StoreConflictError(`a certificate with serial \`${serial}\` already exists`),
      );
    }
    const record: CertificateRecord = {
      serial,
      subject: cert.subject,
      kind: cert.kind,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      revokedAt: null,
      revocationReason: null,
      der: cert.der == null ? null : Buffer.from(cert.der),
      names: cert.names == null ? null : [...new Set(cert.names)],
      issuerSerial: cert.issuerSerial == null ? null : cert.issuerSerial.toLowerCase(),
    };
    this.records.set(serial, record);
    return Promise.resolve(record);
  }

  get(serial: string): Promise<CertificateRecord | undefined> {
    return Promise.resolve(this.records.get(serial.toLowerCase()));
  }

  list(filter: CertificateFilter = {}): Promise<CertificateList> {
    try {
      const after = decodeCursor(filter.cursor);
      const limit =
        filter.limit === undefined ? undefined : clampLimit(filter.limit, 0, MAX_LIST_LIMIT);
      const rows = [...this.records.values()]
        .filter((r) => filter.kind === undefined || r.kind === filter.kind)
        .filter((r) => filter.revoked === undefined || (r.revokedAt !== null) === filter.revoked)
        .filter((r) => filter.subject === undefined || r.subject === filter.subject)
        .filter((r) => filter.notExpiredAt === undefined || r.notAfter >= filter.notExpiredAt)
        .filter((r) => after === undefined || r.serial > after)
        .sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
      return Promise.resolve(
        certificatePage(limit === undefined ? rows : rows.slice(0, limit + 1), limit),
      );
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
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
