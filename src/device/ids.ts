import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** A new device id: `dev-` and 26 base32 characters (130 random bits), valid as a certificate name. */
export function newDeviceId(): string {
  let out = 'dev-';
  for (const b of randomBytes(26)) out += ALPHABET[b & 31];
  return out;
}
