/**
 * The device module's entry to `@peculiar/x509` (as src/pki/x509.ts does for the CA): it needs
 * `reflect-metadata` loaded before it is first imported and signs through Node's WebCrypto.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

/** Limits for parsing DER from the network. */
export const UNTRUSTED_PARSE = {
  berOptions: { maxDepth: 32, maxNodes: 4096, maxContentLength: 64 * 1024 },
} as const;

export const OID_USER_ID = '0.9.2342.19200300.100.1.1';
export const DEVICE_URN_PREFIX = 'urn:ztgate:device:';
export const USER_URN_PREFIX = 'urn:ztgate:user:';

/**
 * The canonical text of a certificate serial, as the store keeps it: lower-case hex without
 * separators or leading zero bytes. Undefined when not hex.
 */
export function normalizeSerial(text: string): string | undefined {
  let s = text.trim().toLowerCase().replace(/^0x/, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-f]{1,64}$/.test(s)) return undefined;
  s = s.replace(/^0+/, '');
  if (s === '') s = '0';
  return s.length % 2 ? `0${s}` : s;
}

/** A SHA-256 fingerprint as lower-case hex without separators; undefined when malformed. */
export function normalizeFingerprint(text: string): string | undefined {
  const s = text.trim().toLowerCase().replace(/[:\s]/g, '');
  return /^[0-9a-f]{64}$/.test(s) ? s : undefined;
}

/** Splits a PEM bundle into its blocks of one label; refuses text outside blocks. */
export function pemBlocks(text: string, label: string): Buffer[] | undefined {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  const out: Buffer[] = [];
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (text.slice(last, m.index).trim() !== '') return undefined;
    if (m[1] !== label) return undefined;
    const body = (m[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) return undefined;
    out.push(Buffer.from(body, 'base64'));
    last = re.lastIndex;
  }
  if (text.slice(last).trim() !== '') return undefined;
  return out;
}
