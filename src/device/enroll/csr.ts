/**
 * Checks a device's certificate signing request before the CA sees it: one PEM block of at most
 * 8 KiB, well-formed, signed by its own key (the device holds the private key), an ECDSA P-256 or
 * P-384 key, and the identity it asks for. The CA ignores the subject; the device module uses it
 * only to refuse a request made for somebody else.
 *
 * The identity a CSR asks for: `UID` subject attributes, `urn:ztgate:user:<id>` URIs and email
 * addresses in its subjectAltName extension request. It must name the user at least once and name
 * nobody else; it may not name a device (the server assigns device ids).
 */
import { createHash, createPublicKey } from 'node:crypto';
import { DeviceError } from '../errors.js';
import {
  DEVICE_URN_PREFIX,
  OID_USER_ID,
  pemBlocks,
  UNTRUSTED_PARSE,
  USER_URN_PREFIX,
  x509,
} from '../x509.js';

const OID_SUBJECT_ALT_NAME = '2.5.29.17';

export const MAX_DEVICE_CSR_BYTES = 8 * 1024;

export interface DeviceCsr {
  readonly pem: string;
  /** SubjectPublicKeyInfo, DER */
  readonly spki: Buffer;
  /** SHA-256 of the SPKI, hex: identifies the device key */
  readonly keyId: string;
  /** `ECDSA P-256` */
  readonly keyDescription: string;
  /** user ids and emails the CSR names */
  readonly users: readonly string[];
  /** device ids the CSR names (must be none at enrollment) */
  readonly devices: readonly string[];
}

function csrError(message: string, cause?: unknown): DeviceError {
  return new DeviceError('ZT_DEVICE_CSR_INVALID', message, {
    help: 'the agent builds the request itself (`ztgate agent enroll`); upgrade it if it is old',
    ...(cause !== undefined ? { cause } : {}),
  });
}

export async function parseDeviceCsr(pem: unknown): Promise<DeviceCsr> {
  if (typeof pem !== 'string' || pem.length === 0) throw csrError('the request has no `csr`');
  if (Buffer.byteLength(pem, 'utf8') > MAX_DEVICE_CSR_BYTES)
    throw csrError(`the certificate signing request is larger than ${MAX_DEVICE_CSR_BYTES} bytes`);
  const blocks = pemBlocks(pem, 'CERTIFICATE REQUEST');
  if (!blocks || blocks.length !== 1 || !blocks[0])
    throw csrError('`csr` is not exactly one PEM `CERTIFICATE REQUEST` block');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(blocks[0], UNTRUSTED_PARSE);
  } catch (err) {
    throw csrError('the certificate signing request is not well-formed', err);
  }
  let spki: Buffer;
  let keyDescription: string;
  try {
    spki = Buffer.from(csr.publicKey.rawData);
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType !== 'ec' || (curve !== 'prime256v1' && curve !== 'secp384r1')) {
      throw csrError(
        `the request is for a ${key.asymmetricKeyType ?? 'unknown'} key; devices use ECDSA P-256 or P-384`,
      );
    }
    keyDescription = curve === 'prime256v1' ? 'ECDSA P-256' : 'ECDSA P-384';
  } catch (err) {
    if (err instanceof DeviceError) throw err;
    throw csrError('the public key of the request cannot be read', err);
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch (err) {
    throw csrError('the signature of the request cannot be checked', err);
  }
  if (!valid) throw csrError('the signature of the request does not match its key');

  const users: string[] = [];
  const devices: string[] = [];
  try {
    for (const v of csr.subjectName.getField(OID_USER_ID)) users.push(v);
    const ext = csr.getExtension(OID_SUBJECT_ALT_NAME);
    const san = ext ? new x509.SubjectAlternativeNameExtension(ext.rawData) : undefined;
    for (const name of san?.names.items ?? []) {
      if (name.type === 'url') {
        if (name.value.startsWith(USER_URN_PREFIX))
          users.push(name.value.slice(USER_URN_PREFIX.length));
        else if (name.value.startsWith(DEVICE_URN_PREFIX))
          devices.push(name.value.slice(DEVICE_URN_PREFIX.length));
      } else if (name.type === 'email') {
        users.push(name.value);
      }
    }
  } catch (err) {
    throw csrError('the names in the request cannot be read', err);
  }
  return {
    pem,
    spki,
    keyId: createHash('sha256').update(spki).digest('hex'),
    keyDescription,
    users,
    devices,
  };
}

/**
 * Refuses a request that names someone other than `user` (by id, or by email case-insensitively),
 * names no user at all, or names a device.
 */
export function checkCsrIdentity(
  csr: DeviceCsr,
  user: { readonly id: string; readonly email: string | null },
): void {
  const mismatch = (message: string): DeviceError =>
    new DeviceError('ZT_DEVICE_CSR_IDENTITY_MISMATCH', message, {
      help: 'enroll with a code you asked for yourself; each code is bound to the user who asked for it',
    });
  if (csr.devices.length > 0)
    throw mismatch('the request names a device; the server assigns device ids');
  if (csr.users.length === 0) throw mismatch('the request does not name the user it is for');
  const email = user.email?.trim().toLowerCase();
  for (const name of csr.users) {
    const ok = name === user.id || (email !== undefined && name.trim().toLowerCase() === email);
    if (!ok) throw mismatch('the request is for another user than the enrollment code');
  }
}
