/**
 * TOTP (RFC 6238) through otpauth: SHA-1, 6 digits, 30-second steps, the parameters every
 * authenticator app supports. A code is accepted one step either side of now (clock drift), and
 * each step is accepted at most once per user (the caller records used steps: see MfaStore).
 *
 * Recovery codes: 10 one-time codes of 16 characters (80 bits) from a 32-letter alphabet without
 * look-alikes, shown once, stored only as SHA-256 hashes (80 random bits need no slow hash).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** steps either side of now that are accepted */
export const TOTP_WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;

/** A new TOTP secret: 20 random bytes (160 bits, RFC 4226's recommendation), base32. */
export function newTotpSecret(): string {
  return new Secret({ buffer: randomBytes(20).buffer }).base32;
}

function totpFor(secret: string, label = 'ztgate', issuer = 'ztgate'): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secret),
  });
}

/** The `otpauth://totp/...` URI an authenticator app imports (usually as a QR code). */
export function totpUri(secret: string, account: string, issuer = 'ztgate'): string {
  return totpFor(secret, account, issuer).toString();
}

/** The code for a time (tests, and the enrolment page's self-check). */
export function totpCode(secret: string, at: number): string {
  return totpFor(secret).generate({ timestamp: at });
}

/**
 * The time step a code belongs to, when it is valid at `at` (within the window); undefined
 * otherwise. Only digits are considered: `123 456` and `123456` are the same code.
 */
export function matchTotp(secret: string, code: string, at: number): number | undefined {
  const token = code.replace(/[\s-]/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const totp = totpFor(secret);
  const delta = totp.validate({ token, timestamp: at, window: TOTP_WINDOW });
  if (delta === null) return undefined;
  return totp.counter({ timestamp: at }) + delta;
}

const RECOVERY_ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ0123456789'; // 32 letters: no I, L, O, U

/** `ABCD-EFGH-JKMN-PQRS`: 16 characters, 5 bits each. */
export function newRecoveryCode(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (let i = 0; i < 16; i++) {
    if (i > 0 && i % 4 === 0) out += '-';
    out += RECOVERY_ALPHABET[(bytes[i] ?? 0) & 31];
  }
  return out;
}

export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, newRecoveryCode);
}

/** Upper-cases, drops spaces and dashes, and reads the look-alikes a person may type. */
export function normalizeRecoveryCode(code: string): string {
  return code
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1')
    .replace(/U/g, 'V');
}

export function hashRecoveryCode(code: string): string {
  return createHash('sha256')
    .update(`ztgate-recovery:${normalizeRecoveryCode(code)}`)
    .digest('hex');
}

/** True when the text has the shape of a recovery code (as opposed to a 6-digit TOTP code). */
export function looksLikeRecoveryCode(code: string): boolean {
  return /^[A-Z0-9]{16}$/.test(normalizeRecoveryCode(code));
}
