/** Certificate serial numbers: random, positive, 16 bytes (RFC 5280 allows up to 20). */
import { randomBytes } from 'node:crypto';

export const SERIAL_BYTES = 16;

/** 16 random bytes from node:crypto, first byte 0x01-0x7f: positive and no leading zero byte. */
export function randomSerial(): Buffer {
  const b = randomBytes(SERIAL_BYTES);
  b[0] = (b[0] as number) & 0x7f || 0x01;
  return b;
}

/**
 * The canonical text of a serial: lower-case hex without separators or leading zero bytes (the
 * form the store keeps). Accepts `AB:CD`, `abcd` and `0x...`. Returns undefined when not hex.
 */
export function normalizeSerial(text: string): string | undefined {
  let s = text.trim().toLowerCase().replace(/^0x/, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-f]{1,64}$/.test(s)) return undefined;
  s = s.replace(/^0+/, '');
  if (s === '') s = '0';
  return s.length % 2 ? `0${s}` : s;
}

export function serialHex(bytes: Uint8Array): string {
  return normalizeSerial(Buffer.from(bytes).toString('hex')) ?? '00';
}
