/**
 * Device authentication by its client certificate. The TLS layer (the proxy's listener, or the
 * enrollment server in tests) verifies the chain against the internal CA; this module then finds
 * the device whose *current* certificate it is, by its SHA-256 fingerprint (which the device record
 * keeps since schema 2) and its serial, so a superseded, foreign or forged certificate is refused
 * even when a CA signed it. Devices recorded before the fingerprint was kept are found by serial.
 *
 * What the TLS layer passes is `PresentedCertificate`: the fields of Node's
 * `tls.PeerCertificate` (`fingerprint256`, `serialNumber`, `raw`), so
 * `socket.getPeerCertificate()` can be passed as is. With `raw`, the fingerprint is recomputed and
 * the certificate's device URN and validity are checked too.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { DeviceRecord, DeviceStore } from '../store/store.js';
import { DeviceError, storeFailed } from './errors.js';
import { DEVICE_URN_PREFIX, normalizeFingerprint, normalizeSerial } from './x509.js';

export interface PresentedCertificate {
  /** SHA-256 of the DER certificate: hex, any case, colons allowed */
  readonly fingerprint256: string;
  readonly serialNumber: string;
  /** the DER certificate, when the TLS layer has it */
  readonly raw?: Buffer | undefined;
}

/** The verified client certificate of a TLS connection, or undefined when there is none. */
export function presentedCertificate(socket: unknown): PresentedCertificate | undefined {
  const s = socket as Partial<TLSSocket> | null | undefined;
  if (!s || typeof s.getPeerCertificate !== 'function' || s.authorized !== true) return undefined;
  const peer = s.getPeerCertificate(false);
  if (!peer || typeof peer.fingerprint256 !== 'string' || typeof peer.serialNumber !== 'string')
    return undefined;
  return { fingerprint256: peer.fingerprint256, serialNumber: peer.serialNumber, raw: peer.raw };
}

function unknownCert(message: string): DeviceError {
  return new DeviceError('ZT_DEVICE_CLIENT_CERT_UNKNOWN', message, {
    help: 'use the certificate from the last enrollment or renewal; enroll again if it was lost',
  });
}

export interface AuthenticatedDevice {
  readonly device: DeviceRecord;
  readonly serial: string;
  readonly fingerprint: string;
  /** from the certificate when `raw` was given, ms */
  readonly notAfter: number | undefined;
}

export async function authenticateDevice(
  devices: DeviceStore,
  cert: PresentedCertificate | undefined,
  now: number,
): Promise<AuthenticatedDevice> {
  if (!cert)
    throw new DeviceError(
      'ZT_DEVICE_CLIENT_CERT_REQUIRED',
      'this endpoint needs the device certificate',
      {
        help: 'connect with the device key and certificate (mutual TLS), as `ztgate agent run` does',
      },
    );
  const serial = normalizeSerial(String(cert.serialNumber));
  const fingerprint = normalizeFingerprint(String(cert.fingerprint256));
  if (!serial || !fingerprint)
    throw unknownCert('the client certificate has a malformed serial or fingerprint');
  let notAfter: number | undefined;
  let urnDevice: string | undefined;
  if (cert.raw) {
    if (createHash('sha256').update(cert.raw).digest('hex') !== fingerprint)
      throw unknownCert('the client certificate does not match its fingerprint');
    let x: X509Certificate;
    try {
      x = new X509Certificate(cert.raw);
    } catch {
      throw unknownCert('the client certificate cannot be read');
    }
    if (normalizeSerial(x.serialNumber) !== serial)
      throw unknownCert('the client certificate does not match its serial');
    notAfter = Date.parse(x.validTo);
    const notBefore = Date.parse(x.validFrom);
    if (!(now >= notBefore && now <= notAfter))
      throw unknownCert('the client certificate is expired or not yet valid');
    for (const part of (x.subjectAltName ?? '').split(/,\s*/)) {
      if (part.startsWith(`URI:${DEVICE_URN_PREFIX}`))
        urnDevice = part.slice(4 + DEVICE_URN_PREFIX.length);
    }
    if (urnDevice === undefined)
      throw unknownCert('the client certificate is not a device certificate');
  }
  let device: DeviceRecord | undefined;
  try {
    device =
      (await devices.getByCertificateFingerprint(fingerprint)) ??
      (await devices.getByCertificateSerial(serial));
  } catch (err) {
    throw storeFailed('find the device of this certificate', err);
  }
  if (!device || device.certificateSerial !== serial)
    throw unknownCert(
      'the client certificate is not the current certificate of an enrolled device',
    );
  // a recorded fingerprint must match: same serial, other certificate is a forgery or a CA mix-up
  if (device.certificateFingerprint !== null && device.certificateFingerprint !== fingerprint)
    throw unknownCert('the client certificate is not the one recorded for the device');
  if (urnDevice !== undefined && urnDevice !== device.id)
    throw unknownCert('the client certificate names another device');
  if (device.state === 'revoked')
    throw new DeviceError('ZT_DEVICE_REVOKED', 'this device was revoked', {
      help: 'ask an administrator, then enroll the device again',
    });
  if (device.state !== 'active') throw unknownCert('the device has not finished enrolling');
  return { device, serial, fingerprint, notAfter };
}
