/**
 * What the composition root reads from a request's TLS client certificate: its SHA-256 fingerprint
 * and, for a device certificate, the device it names. Only a certificate that verified against the
 * internal CA counts (`socket.authorized`); the PKI guard has already cut connections whose
 * certificate is revoked or expired. Works for HTTP/1.1 sockets and HTTP/2 requests alike (Node's
 * HTTP/2 compatibility `req.socket` forwards to the session's TLS socket).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { DEVICE_URN_PREFIX } from '../../device/x509.js';

function verifiedPeer(socket: unknown): ReturnType<TLSSocket['getPeerCertificate']> | undefined {
  const s = socket as Partial<TLSSocket> | null | undefined;
  if (!s || s.authorized !== true || typeof s.getPeerCertificate !== 'function') return undefined;
  const peer = s.getPeerCertificate(false);
  return peer && typeof peer.fingerprint256 === 'string' ? peer : undefined;
}

/** Lower-case hex without colons, or undefined without a verified certificate. */
export function clientCertFingerprint(req: Pick<IncomingMessage, 'socket'>): string | undefined {
  const fp = verifiedPeer(req.socket)?.fingerprint256;
  return fp ? fp.replace(/:/g, '').toLowerCase() : undefined;
}

const DEVICE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * The device id of a verified device certificate (its `urn:ztgate:device:<id>` SAN URI), so that a
 * session started with it is bound to that device. Undefined for other certificates.
 */
export function clientCertDeviceId(req: Pick<IncomingMessage, 'socket'>): string | undefined {
  const san = verifiedPeer(req.socket)?.subjectaltname ?? '';
  let found: string | undefined;
  for (const part of san.split(/,\s*/)) {
    if (!part.startsWith(`URI:${DEVICE_URN_PREFIX}`)) continue;
    const id = part.slice(4 + DEVICE_URN_PREFIX.length);
    // two device URNs in one certificate name no device
    if (found !== undefined || !DEVICE_ID.test(id)) return undefined;
    found = id;
  }
  return found;
}
