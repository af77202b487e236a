/**
 * Client certificate checks at the TLS layer, for a `tls.Server` or `https.Server` created with
 * `requestCert: true`. OpenSSL's own verdict is not used (`rejectUnauthorized: false`): this guard
 * runs full path validation with a typed reason and the live revocation set, refuses by closing
 * the connection before any request on it is read, and reports why.
 *
 * `attach(server)` puts the check first among the server's `secureConnection` listeners and
 * tracks accepted connections: when a certificate on their path is revoked, they are cut at once.
 * Request handlers read the verified identity with `identity(req.socket)` (not
 * `getPeerCertificate(true)`: Node gives the peer's chain only to the first caller, the guard).
 */
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type {
  LeafProfileRule,
  PathValidator,
  PeerIdentity,
  Purpose,
  RefusalReason,
  Verdict,
} from './path.js';
import type { RevocationSet } from './revocation.js';

export interface RefusedConnection {
  /** for the log line */
  readonly code: 'ZT_PKI_CLIENT_CERT_REFUSED';
  readonly reason: RefusalReason;
  readonly message: string;
  readonly depth: number;
  readonly serial?: string;
  readonly subject?: string;
  readonly remoteAddress?: string;
  readonly at: number;
  /** true when an accepted, live connection was cut because of a revocation */
  readonly cut: boolean;
}

export interface ClientCertificateGuardOptions {
  readonly validator: PathValidator;
  readonly revocations?: RevocationSet;
  readonly purpose?: Purpose;
  readonly profile?: LeafProfileRule;
  /**
   * false: a connection without a client certificate is let through without an identity (a
   * listener where certificates are optional); a certificate that is presented is still checked.
   * Default true.
   */
  readonly requireCertificate?: boolean;
  readonly now?: () => number;
  readonly onRefused?: (event: RefusedConnection) => void;
  readonly onAccepted?: (identity: PeerIdentity, socket: TLSSocket) => void;
}

export class ClientCertificateGuard {
  private readonly identities = new WeakMap<TLSSocket, PeerIdentity>();
  private readonly live = new Set<TLSSocket>();
  private readonly unsubscribe: (() => void) | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ClientCertificateGuardOptions) {
    this.now = options.now ?? Date.now;
    this.unsubscribe = options.revocations?.subscribe((serial) => this.cut(serial));
  }

  /** Validates the peer's certificate on an established TLS connection. Never throws. */
  check(socket: TLSSocket): Verdict {
    const opts = {
      at: this.now(),
      purpose: this.options.purpose ?? 'client',
      profile: this.options.profile ?? 'any',
      ...(this.options.revocations ? { revocation: this.options.revocations } : {}),
    } as const;
    try {
      // Node hands out the peer's chain only once per socket (the first getPeerCertificate(true)
      // or getPeerX509Certificate call). When OpenSSL already found a path to a configured CA
      // (`socket.authorized`), the leaf is enough: this validator knows the CA's intermediates,
      // and takes the cheap call. Otherwise the whole chain the client sent is read, so that a
      // refusal names its real reason (a presented intermediate without the CA flag, ...).
      if (socket.authorized) {
        const leaf = socket.getPeerX509Certificate();
        return this.options.validator.verify(leaf?.raw, opts);
      }
      const chain = peerChain(socket);
      const leaf = chain[0];
      if (!leaf) return this.options.validator.verify(undefined, opts);
      const presented = chain.slice(1);
      return this.options.validator.verify(leaf, presented.length ? { ...opts, presented } : opts);
    } catch (err) {
      return {
        ok: false,
        reason: 'malformed',
        message: `the client certificate cannot be read: ${(err as Error).message}`,
        depth: 0,
      };
    }
  }

  /** The verified identity of an accepted connection (`req.socket` in a request handler). */
  identity(socket: TLSSocket): PeerIdentity | undefined {
    return this.identities.get(socket);
  }

  /** Checks every new connection of `server` before anything else sees it; returns a detach function. */
  attach(server: TlsServer): () => void {
    const listener = (socket: TLSSocket) => {
      this.admit(socket);
    };
    server.prependListener('secureConnection', listener);
    return () => server.removeListener('secureConnection', listener);
  }

  /**
   * Checks one connection: accepted ones are tracked, refused ones destroyed. Returns the verdict
   * (a `no-certificate` verdict with `requireCertificate: false` leaves the connection open).
   */
  admit(socket: TLSSocket): Verdict {
    const verdict = this.check(socket);
    if (
      !verdict.ok &&
      verdict.reason === 'no-certificate' &&
      this.options.requireCertificate === false
    ) {
      return verdict;
    }
    if (!verdict.ok) {
      this.report(verdict, socket, false);
      socket.destroy();
      return verdict;
    }
    this.identities.set(socket, verdict.identity);
    this.live.add(socket);
    socket.once('close', () => this.live.delete(socket));
    this.options.onAccepted?.(verdict.identity, socket);
    return verdict;
  }

  get liveConnections(): number {
    return this.live.size;
  }

  close(): void {
    this.unsubscribe?.();
  }

  private cut(serial: string): void {
    for (const socket of [...this.live]) {
      const id = this.identities.get(socket);
      if (!id?.pathSerials.includes(serial)) continue;
      this.live.delete(socket);
      const depth = id.pathSerials.indexOf(serial);
      this.report(
        {
          ok: false,
          reason: 'revoked',
          message: `${depth === 0 ? 'the certificate' : `the issuing CA certificate at depth ${depth}`} (serial ${serial}) was revoked: the connection is closed`,
          depth,
          serial,
          subject: id.subject,
        },
        socket,
        true,
      );
      socket.destroy();
    }
  }

  private report(v: Extract<Verdict, { ok: false }>, socket: TLSSocket, cut: boolean): void {
    if (!this.options.onRefused) return;
    try {
      this.options.onRefused({
        code: 'ZT_PKI_CLIENT_CERT_REFUSED',
        reason: v.reason,
        message: v.message,
        depth: v.depth,
        ...(v.serial !== undefined ? { serial: v.serial } : {}),
        ...(v.subject !== undefined ? { subject: v.subject } : {}),
        ...(socket.remoteAddress !== undefined ? { remoteAddress: socket.remoteAddress } : {}),
        at: this.now(),
        cut,
      });
    } catch {
      // a failing logger must not keep a refused connection open
    }
  }
}

/** The peer's certificate and the chain it sent (DER, leaf first), from Node's detailed peer certificate. */
function peerChain(socket: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let cert = socket.getPeerCertificate(true) as {
    raw?: Buffer;
    issuerCertificate?: unknown;
  } | null;
  const seen = new Set<unknown>();
  while (cert && typeof cert === 'object' && cert.raw && !seen.has(cert) && out.length < 8) {
    seen.add(cert);
    out.push(cert.raw);
    cert = cert.issuerCertificate ?? null;
  }
  return out;
}
