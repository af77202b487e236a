/**
 * The port to the certificate authority. src/pki implements it; the device module only asks for
 * certificates and revocations and checks what comes back.
 */

export interface DeviceCertificateRequest {
  /** the device's PKCS#10 request, PEM; its key is the device's, its subject is ignored by the CA */
  readonly csrPem: string;
  readonly deviceId: string;
  readonly userId: string;
  /** on renewal: the serial of the certificate being replaced (proof was checked by the caller) */
  readonly renewalOf?: string;
}

export interface IssuedDeviceCertificate {
  /** the leaf, PEM */
  readonly certificatePem: string;
  /** the issuing CA chain up to the root, PEM, leaf excluded */
  readonly chainPem: string;
  /** lower-case hex (any case and colons are accepted and normalized) */
  readonly serial: string;
  /** ms since the epoch */
  readonly notAfter: number;
}

export type RevocationReason =
  'superseded' | 'cessationOfOperation' | 'keyCompromise' | 'affiliationChanged';

export interface DeviceCertificateIssuer {
  /**
   * Issues a device certificate (clientAuth; SAN `urn:ztgate:device:<deviceId>` and
   * `urn:ztgate:user:<userId>`) for the CSR's key. Throws on refusal; the device module turns any
   * error into `ZT_DEVICE_ISSUANCE_FAILED` without its details reaching the client.
   */
  issueDeviceCertificate(request: DeviceCertificateRequest): Promise<IssuedDeviceCertificate>;
  /** Revokes a certificate (device revoked, certificate superseded). Optional until PKI wires it. */
  revokeCertificate?(serial: string, reason: RevocationReason): Promise<void>;
}
