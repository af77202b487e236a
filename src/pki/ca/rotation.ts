/**
 * Server certificate rotation: a manager obtains a certificate (a fresh key each time, through a
 * CSR), renews it when half of its life has passed, and installs it in every attached server with
 * `server.setSecureContext()`. Connections already open keep their TLS session; new ones get the
 * new certificate. A failed renewal keeps the current certificate and is retried (every minute, or
 * sooner as the certificate nears its end).
 */
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import { PkiError } from '../errors.js';
import { generateP256 } from './init.js';
import { createCsr } from './csr.js';
import type { IssueAuthorization } from './authority.js';
import type { Pki } from '../pki.js';

export interface ServerCertificate {
  /** the leaf and its chain, PEM */
  readonly certPem: string;
  /** PKCS#8 PEM: kept in memory only */
  readonly keyPem: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface CertificateManagerOptions {
  /** obtains a new certificate (with a new key) */
  readonly obtain: () => Promise<ServerCertificate>;
  /** the rest of every attached server's secure context (`ca` for client certificates, ciphers, ...) */
  readonly contextOptions?: Omit<SecureContextOptions, 'cert' | 'key'>;
  /** the fraction of a certificate's life after which it is renewed (default 0.5) */
  readonly renewAt?: number;
  readonly retryMs?: number;
  readonly now?: () => number;
  readonly timers?: Timers;
  readonly onRenewed?: (cert: ServerCertificate) => void;
  readonly onError?: (err: PkiError) => void;
}

export class CertificateManager {
  private cert: ServerCertificate | undefined;
  private readonly servers = new Set<TlsServer>();
  private timer: unknown;
  private stopped = false;
  private readonly now: () => number;
  private readonly timers: Timers;

  constructor(private readonly options: CertificateManagerOptions) {
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realTimers;
  }

  /** Obtains the first certificate and schedules its renewal. */
  async start(): Promise<ServerCertificate> {
    this.stopped = false;
    const cert = await this.rotate();
    return cert;
  }

  /** The current certificate, for the server's initial options (`cert`, `key`). */
  current(): ServerCertificate {
    if (!this.cert) throw new Error('CertificateManager.start() has not completed');
    return this.cert;
  }

  /** The options to create a server with: `{...contextOptions, cert, key}`. */
  secureContextOptions(): SecureContextOptions {
    const c = this.current();
    return { ...this.options.contextOptions, cert: c.certPem, key: c.keyPem };
  }

  /** Installs every future certificate in `server` (and the current one now). */
  attach(server: TlsServer): () => void {
    this.servers.add(server);
    if (this.cert) server.setSecureContext(this.secureContextOptions());
    return () => this.servers.delete(server);
  }

  /** When the current certificate will be renewed (ms since the epoch). */
  renewalTime(cert = this.cert): number | undefined {
    if (!cert) return undefined;
    return (
      cert.notBefore + Math.floor((cert.notAfter - cert.notBefore) * (this.options.renewAt ?? 0.5))
    );
  }

  /** Obtains a new certificate now and installs it everywhere. */
  async rotate(): Promise<ServerCertificate> {
    const cert = await this.options.obtain();
    this.cert = cert;
    for (const s of this.servers) s.setSecureContext(this.secureContextOptions());
    this.options.onRenewed?.(cert);
    this.schedule(this.renewalTime(cert) ?? this.now());
    return cert;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const delay = Math.min(Math.max(at - this.now(), 0), 2 ** 31 - 1);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      if (this.cert && this.now() < (this.renewalTime() ?? 0)) {
        this.schedule(this.renewalTime() ?? 0); // woke early (long delays are capped)
        return;
      }
      this.rotate().catch((err: unknown) => {
        const e =
          err instanceof PkiError
            ? new PkiError(
                'ZT_PKI_ROTATION_FAILED',
                `renewing the server certificate failed: ${err.code}: ${err.message}`,
                { cause: err },
              )
            : new PkiError(
                'ZT_PKI_ROTATION_FAILED',
                `renewing the server certificate failed: ${(err as Error).message}`,
                { cause: err },
              );
        this.options.onError?.(e);
        const left = (this.cert?.notAfter ?? 0) - this.now();
        this.schedule(
          this.now() + Math.max(1000, Math.min(this.options.retryMs ?? 60_000, left / 10)),
        );
      });
    }, delay);
  }
}

/**
 * A certificate source for the manager backed by this process's CA: a new P-256 key, a CSR, a
 * server certificate for `dns`/`ips` through the issuance policy.
 */
export function pkiServerCertificates(
  pki: Pki,
  request: {
    readonly dns?: readonly string[];
    readonly ips?: readonly string[];
    readonly ttlMs?: number;
  },
  auth: IssueAuthorization,
): () => Promise<ServerCertificate> {
  return async () => {
    const { privateKey, publicKey } = generateP256();
    const csr = await createCsr(privateKey, publicKey);
    const issued = await pki.issue(
      {
        type: 'server',
        csr,
        dns: request.dns ?? [],
        ips: request.ips ?? [],
        ...(request.ttlMs !== undefined ? { ttlMs: request.ttlMs } : {}),
      },
      auth,
    );
    return {
      certPem: issued.chainPem,
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      serial: issued.serial,
      notBefore: issued.notBefore.getTime(),
      notAfter: issued.notAfter.getTime(),
    };
  };
}
