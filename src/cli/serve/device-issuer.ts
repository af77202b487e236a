/**
 * The device module's certificate port implemented by the internal CA: device certificates for
 * enrollment and renewal, and their revocation. The issuance policy entry `enrollment` allows
 * device certificates only (no server names, no SPIFFE IDs), whatever a CSR asks for.
 */
import type {
  DeviceCertificateIssuer,
  DeviceCertificateRequest,
  IssuedDeviceCertificate,
  RevocationReason,
} from '../../device/enroll/issuer.js';
import { IssuancePolicy } from '../../pki/ca/policy.js';
import type { Pki } from '../../pki/pki.js';

export const ENROLLMENT_POLICY = IssuancePolicy.fromEntries([
  {
    name: 'enrollment',
    types: ['device'],
    dns: [],
    ips: [],
    spiffeIds: [],
    devices: ['*'],
    users: ['*'],
    maxTtlMs: undefined,
  },
]);

export interface PkiDeviceIssuerOptions {
  readonly ttlMs?: number;
  /** told of every revoked serial (the server publishes `certificate.revoked` to every replica) */
  readonly onRevoked?: (serial: string) => Promise<void>;
}

export function pkiDeviceIssuer(
  pki: Pki,
  options: PkiDeviceIssuerOptions = {},
): DeviceCertificateIssuer {
  return {
    async issueDeviceCertificate(r: DeviceCertificateRequest): Promise<IssuedDeviceCertificate> {
      const issued = await pki.issue(
        {
          type: 'device',
          csr: r.csrPem,
          deviceId: r.deviceId,
          userId: r.userId,
          ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
        },
        { requester: 'enrollment', policy: ENROLLMENT_POLICY },
      );
      return {
        certificatePem: issued.pem,
        chainPem: pki.ca.intermediatePem + pki.ca.rootPem,
        serial: issued.serial,
        notAfter: issued.notAfter.getTime(),
      };
    },
    async revokeCertificate(serial: string, reason: RevocationReason): Promise<void> {
      const revoked = await pki.revoke({ serial }, reason);
      for (const r of revoked) await options.onRevoked?.(r.serial);
    },
  };
}
