/**
 * Enrollment and renewal: the server side of `ztgate agent enroll` and of the agent's automatic
 * renewal. Transport-free (the HTTP handlers in ../http call it), every outcome audited.
 *
 * enroll(code, csr, device):
 *  1. the code is checked and consumed at once: the first request that presents a valid code uses
 *     it up, whatever happens next (no race lets two devices enroll with one code);
 *  2. the user the code was issued to must still exist and be enabled;
 *  3. the CSR must be well-formed, signed by its key, ECDSA, and name that user and nobody else;
 *  4. a `pending` device record is created, the CA port issues the certificate, the certificate is
 *     checked (the CSR's key, the device URN, the serial), then the device becomes `active`.
 *     If issuance fails the pending record is removed.
 *
 * renew(cert, csr): the current, unexpired device certificate is the proof (authenticated as for
 * reports); the new certificate replaces it in the record only if the proof is still the current
 * certificate (compare-and-set: of two renewals with one certificate, on any replicas, one wins and
 * the loser's new certificate is revoked unused); the old serial is kept in the record as the
 * previous one and revoked as superseded.
 */
import { X509Certificate } from 'node:crypto';
import type { AuditEvent } from '../../audit/record.js';
import {
  StoreError,
  type DeviceRecord,
  type DeviceStore,
  type UserStore,
} from '../../store/store.js';
import { authenticateDevice, type PresentedCertificate } from '../auth.js';
import { DeviceError, storeFailed } from '../errors.js';
import { newDeviceId } from '../ids.js';
import { safeAudit, type Clock, type DeviceAuditSink } from '../ports.js';
import { DEVICE_URN_PREFIX, normalizeFingerprint, normalizeSerial } from '../x509.js';
import {
  EnrollmentCodeError,
  hashEnrollmentCode,
  normalizeEnrollmentCode,
  type EnrollmentCodeRecord,
  type EnrollmentCodeStore,
} from './codes.js';
import { checkCsrIdentity, parseDeviceCsr, type DeviceCsr } from './csr.js';
import type { DeviceCertificateIssuer, IssuedDeviceCertificate } from './issuer.js';

export interface DeviceInfo {
  readonly hostname: string;
  /** `linux`, `macos`, `windows` or another short name */
  readonly os: string;
}

export interface EnrollmentResult {
  readonly deviceId: string;
  readonly userId: string;
  readonly certificatePem: string;
  readonly chainPem: string;
  readonly serial: string;
  readonly notAfter: number;
}

export interface RequestMeta {
  readonly sourceIp?: string | undefined;
  readonly requestId?: string | undefined;
}

export interface DeviceEnrollmentOptions {
  readonly devices: DeviceStore;
  readonly codes: EnrollmentCodeStore;
  readonly issuer: DeviceCertificateIssuer;
  /** when given, the code's user must exist and be enabled, and its email may name it in the CSR */
  readonly users?: UserStore;
  readonly audit?: DeviceAuditSink;
  readonly now?: Clock;
  readonly newDeviceId?: () => string;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$/;
const OS = /^[a-z][a-z0-9_-]{0,31}$/;

/** Checks the device description an agent sends; throws `ZT_DEVICE_REQUEST_MALFORMED`. */
export function parseDeviceInfo(value: unknown): DeviceInfo {
  const bad = (what: string): DeviceError =>
    new DeviceError('ZT_DEVICE_REQUEST_MALFORMED', `\`device.${what}\` is missing or malformed`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('hostname');
  const v = value as Record<string, unknown>;
  if (typeof v.hostname !== 'string' || !HOSTNAME.test(v.hostname)) throw bad('hostname');
  if (typeof v.os !== 'string' || !OS.test(v.os)) throw bad('os');
  return { hostname: v.hostname, os: v.os };
}

export class DeviceEnrollment {
  private readonly now: Clock;
  private readonly makeId: () => string;

  constructor(private readonly options: DeviceEnrollmentOptions) {
    this.now = options.now ?? Date.now;
    this.makeId = options.newDeviceId ?? newDeviceId;
  }

  /** Which user a code is for, without using it up (the agent names that user in its CSR). */
  async lookupCode(
    code: string,
    meta: RequestMeta = {},
  ): Promise<{ userId: string; email: string | null; expiresAt: number }> {
    try {
      const record = await this.validCode(code);
      return { userId: record.userId, email: record.email, expiresAt: record.expiresAt };
    } catch (err) {
      this.refused('device.enroll_lookup_refused', err, meta);
      throw err;
    }
  }

  async enroll(
    code: string,
    csrPem: string,
    info: DeviceInfo,
    meta: RequestMeta = {},
  ): Promise<EnrollmentResult> {
    let record: EnrollmentCodeRecord | undefined;
    try {
      record = await this.validCode(code);
      const consumed = await this.options.codes
        .consume(record.codeHash, this.now())
        .catch((err: unknown) => {
          throw storeFailed('use the enrollment code', err);
        });
      if (!consumed) throw new EnrollmentCodeError('used');
      const user = await this.codeUser(consumed);
      const csr = await parseDeviceCsr(csrPem);
      checkCsrIdentity(csr, user);
      return await this.createDevice(consumed.userId, csr, info, meta);
    } catch (err) {
      this.refused('device.enroll_refused', err, meta, record?.userId);
      throw err;
    }
  }

  async renew(
    cert: PresentedCertificate | undefined,
    csrPem: string,
    meta: RequestMeta = {},
  ): Promise<EnrollmentResult> {
    let device: DeviceRecord | undefined;
    try {
      const auth = await authenticateDevice(this.options.devices, cert, this.now());
      device = auth.device;
      const csr = await parseDeviceCsr(csrPem);
      if (
        csr.devices.some((d) => d !== auth.device.id) ||
        csr.users.some((u) => u !== auth.device.userId)
      ) {
        throw new DeviceError(
          'ZT_DEVICE_CSR_IDENTITY_MISMATCH',
          'the renewal request names another device or user',
        );
      }
      const { fingerprint, ...issued } = await this.issue(
        csr,
        auth.device.id,
        auth.device.userId,
        auth.serial,
      );
      try {
        await this.options.devices.setCertificate(
          auth.device.id,
          { serial: issued.serial, fingerprint },
          this.now(),
          { expectedSerial: auth.serial },
        );
      } catch (err) {
        if (err instanceof StoreError && err.code === 'ZT_STORE_CONFLICT') {
          // lost the race: the record will never hold this certificate, so it must not stay valid
          await this.revokeQuietly(issued.serial, 'superseded');
          throw new DeviceError(
            'ZT_DEVICE_CLIENT_CERT_UNKNOWN',
            'the client certificate was replaced meanwhile (a concurrent renewal)',
            { help: 'use the certificate from the last renewal; enroll again if it was lost' },
          );
        }
        throw storeFailed('record the renewed certificate', err);
      }
      await this.revokeQuietly(auth.serial, 'superseded');
      this.audit(
        {
          action: 'device.certificate_renewed',
          outcome: 'success',
          actor: { user: auth.device.userId, device: auth.device.id },
          resource: `device:${auth.device.id}`,
          details: {
            serial: issued.serial,
            previous_serial: auth.serial,
            not_after: issued.notAfter,
          },
        },
        meta,
      );
      return { deviceId: auth.device.id, userId: auth.device.userId, ...issued };
    } catch (err) {
      this.refused('device.renew_refused', err, meta, device?.userId, device?.id);
      throw err;
    }
  }

  private async validCode(code: string): Promise<EnrollmentCodeRecord> {
    const normalized = normalizeEnrollmentCode(code);
    if (!normalized) throw new EnrollmentCodeError('malformed');
    let record: EnrollmentCodeRecord | undefined;
    try {
      record = await this.options.codes.get(hashEnrollmentCode(normalized));
    } catch (err) {
      throw storeFailed('read the enrollment code', err);
    }
    if (!record) throw new EnrollmentCodeError('unknown');
    if (record.usedAt !== null) throw new EnrollmentCodeError('used');
    if (this.now() >= record.expiresAt) throw new EnrollmentCodeError('expired');
    return record;
  }

  private async codeUser(
    record: EnrollmentCodeRecord,
  ): Promise<{ id: string; email: string | null }> {
    if (!this.options.users) return { id: record.userId, email: record.email };
    let user;
    try {
      user = await this.options.users.get(record.userId);
    } catch (err) {
      throw storeFailed('read the user of the enrollment code', err);
    }
    if (!user || user.disabled) throw new EnrollmentCodeError('unknown');
    return { id: user.id, email: user.email };
  }

  private async createDevice(
    userId: string,
    csr: DeviceCsr,
    info: DeviceInfo,
    meta: RequestMeta,
  ): Promise<EnrollmentResult> {
    const { devices } = this.options;
    const deviceId = this.makeId();
    try {
      await devices.create({
        id: deviceId,
        userId,
        hostname: info.hostname,
        os: info.os,
        enrolledAt: this.now(),
        state: 'pending',
      });
    } catch (err) {
      throw storeFailed('create the device record', err);
    }
    let issued: IssuedDeviceCertificate | undefined;
    try {
      const { fingerprint, ...certificate } = await this.issue(csr, deviceId, userId, undefined);
      issued = certificate;
      await devices.setCertificate(
        deviceId,
        { serial: certificate.serial, fingerprint },
        this.now(),
        { expectedSerial: null },
      );
      await devices.setState(deviceId, 'active', this.now());
    } catch (err) {
      await devices.delete(deviceId).catch(() => false);
      if (issued) await this.revokeQuietly(issued.serial, 'cessationOfOperation');
      throw err instanceof DeviceError ? err : storeFailed('activate the device', err);
    }
    this.audit(
      {
        action: 'device.enrolled',
        outcome: 'success',
        actor: { user: userId, device: deviceId },
        resource: `device:${deviceId}`,
        details: {
          hostname: info.hostname,
          os: info.os,
          serial: issued.serial,
          key: csr.keyDescription,
        },
      },
      meta,
    );
    return { deviceId, userId, ...issued };
  }

  /** Revokes through the CA port when it is wired; a failure is left to the CA's own checks. */
  private async revokeQuietly(
    serial: string,
    reason: 'superseded' | 'cessationOfOperation',
  ): Promise<void> {
    await this.options.issuer.revokeCertificate?.(serial, reason).catch(() => undefined);
  }

  /**
   * Asks the CA and checks its answer: the certificate must be for this key and this device.
   * Returns it with its SHA-256 fingerprint, which the device record keeps.
   */
  private async issue(
    csr: DeviceCsr,
    deviceId: string,
    userId: string,
    renewalOf: string | undefined,
  ): Promise<IssuedDeviceCertificate & { readonly fingerprint: string }> {
    const failed = (why: string, cause?: unknown): DeviceError =>
      new DeviceError(
        'ZT_DEVICE_ISSUANCE_FAILED',
        `the device certificate was not issued: ${why}`,
        {
          help: 'check the certificate authority (`ztgate ca list`) and the server log',
          ...(cause !== undefined ? { cause } : {}),
        },
      );
    let issued: IssuedDeviceCertificate;
    try {
      issued = await this.options.issuer.issueDeviceCertificate({
        csrPem: csr.pem,
        deviceId,
        userId,
        ...(renewalOf !== undefined ? { renewalOf } : {}),
      });
    } catch (err) {
      throw failed('the certificate authority refused or failed', err);
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(issued.certificatePem);
    } catch (err) {
      throw failed('the certificate authority returned an unreadable certificate', err);
    }
    const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
    if (!spki.equals(csr.spki)) throw failed('the certificate is not for the requested key');
    const serial = normalizeSerial(issued.serial);
    if (!serial || serial !== normalizeSerial(cert.serialNumber))
      throw failed('the serial does not match the certificate');
    if (!(cert.subjectAltName ?? '').split(/,\s*/).includes(`URI:${DEVICE_URN_PREFIX}${deviceId}`))
      throw failed('the certificate does not name the device');
    const notAfter = Date.parse(cert.validTo);
    if (!(notAfter > this.now())) throw failed('the certificate is already expired');
    const fingerprint = normalizeFingerprint(cert.fingerprint256);
    if (!fingerprint) throw failed('the certificate has no SHA-256 fingerprint');
    return {
      certificatePem: issued.certificatePem,
      chainPem: chainWithoutLeaf(issued.chainPem, cert.raw),
      serial,
      notAfter,
      fingerprint,
    };
  }

  private refused(
    action: string,
    err: unknown,
    meta: RequestMeta,
    userId?: string,
    deviceId?: string,
  ): void {
    const code = err instanceof DeviceError ? err.code : 'internal';
    this.audit(
      {
        action,
        outcome: 'failure',
        ...(userId || deviceId
          ? {
              actor: {
                ...(userId ? { user: userId } : {}),
                ...(deviceId ? { device: deviceId } : {}),
              },
            }
          : {}),
        ...(deviceId ? { resource: `device:${deviceId}` } : {}),
        details: {
          code,
          ...(err instanceof EnrollmentCodeError ? { refusal: err.refusal } : {}),
          ...(err instanceof DeviceError ? { message: err.message } : {}),
        },
      },
      meta,
    );
  }

  private audit(event: Omit<AuditEvent, 'kind' | 'time'>, meta: RequestMeta): void {
    safeAudit(this.options.audit, {
      kind: 'device',
      time: this.now(),
      ...event,
      ...(meta.sourceIp ? { source_ip: meta.sourceIp } : {}),
      ...(meta.requestId ? { request_id: meta.requestId } : {}),
    });
  }
}

/** The CA chain without the leaf (a CA may return "leaf + intermediate" as its chain). */
export function chainWithoutLeaf(chainPem: string, leafDer: Buffer): string {
  const blocks =
    chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const kept = blocks.filter((b) => {
    const der = Buffer.from(b.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    return !der.equals(leafDer);
  });
  return kept.length > 0 ? `${kept.join('\n')}\n` : '';
}
