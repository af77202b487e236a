/**
 * Facts about a client connection, computed once when its TLS handshake completes and attached to
 * the socket: the peer address and the verified client certificate. HTTP/2 requests reach the
 * same object through their session's socket.
 */
import type { TLSSocket } from 'node:tls';
import { normalizePeer } from './addresses.js';

export const CONNECTION = Symbol('ztgate.connection');

export interface ConnectionInfo {
  readonly socket: TLSSocket;
  readonly peerIp: string;
  readonly h2: boolean;
  /** lower-case hex SHA-256 of the client certificate; only when it verified against the client CA */
  readonly fingerprint: string | undefined;
  /** the certificate's `spiffe://` URI SAN, if any */
  readonly spiffeId: string | undefined;
  /** the certificate's subject CN, if any */
  readonly subject: string | undefined;
  /** requests in flight on this connection (HTTP/1.1) */
  active: number;
}

type Tagged = TLSSocket & { [CONNECTION]?: ConnectionInfo };

export function describeConnection(socket: TLSSocket): ConnectionInfo {
  let fingerprint: string | undefined;
  let spiffeId: string | undefined;
  let subject: string | undefined;
  if (socket.authorized) {
    const cert = socket.getPeerCertificate(false);
    if (cert && typeof cert.fingerprint256 === 'string' && cert.fingerprint256 !== '') {
      fingerprint = cert.fingerprint256.replace(/:/g, '').toLowerCase();
      const uri = (cert.subjectaltname ?? '')
        .split(', ')
        .find((s) => s.startsWith('URI:spiffe://'));
      spiffeId = uri?.slice(4);
      const cn = cert.subject?.CN;
      subject = Array.isArray(cn) ? cn[0] : cn;
    }
  }
  const info: ConnectionInfo = {
    socket,
    peerIp: normalizePeer(socket.remoteAddress),
    h2: socket.alpnProtocol === 'h2',
    fingerprint,
    spiffeId,
    subject,
    active: 0,
  };
  (socket as Tagged)[CONNECTION] = info;
  return info;
}

/**
 * The info of the connection a request came on. `socket` is the TLS socket (HTTP/1.1) or the
 * proxy Node puts in front of it for HTTP/2 (symbol properties pass through).
 */
export function connectionOf(socket: unknown): ConnectionInfo | undefined {
  return (socket as Tagged | undefined)?.[CONNECTION];
}
