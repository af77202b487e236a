/**
 * The device key and its certificate signing request, made on the device: an ECDSA P-256 key from
 * node:crypto's WebCrypto, exported as PKCS#8 PEM for the agent directory, and a PKCS#10 request
 * that names the user the enrollment code belongs to (`UID=<user>` and the SAN URI
 * `urn:ztgate:user:<user>`). The private key never leaves the device.
 */
import { webcrypto } from 'node:crypto';
import { OID_USER_ID, USER_URN_PREFIX, x509 } from '../x509.js';

export interface DeviceKeyAndCsr {
  readonly keyPem: string;
  readonly csrPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export async function createDeviceKeyAndCsr(userId: string): Promise<DeviceKeyAndCsr> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${
    pkcs8
      .toString('base64')
      .match(/.{1,64}/g)
      ?.join('\n') ?? ''
  }\n-----END PRIVATE KEY-----\n`;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ '2.5.4.10': ['ztgate'] }, { '2.5.4.11': ['device'] }, { [OID_USER_ID]: [userId] }],
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: `${USER_URN_PREFIX}${userId}` },
      ]),
    ],
  });
  return { keyPem, csrPem: csr.toString('pem') };
}
