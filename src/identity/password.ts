/**
 * Password hashing for the built-in IdP: scrypt (memory-hard) from node:crypto.
 *
 * Encoded form (PHC-like, versioned): `$scrypt$v=1$ln=15,r=8,p=1$<salt>$<hash>`, salt and hash in
 * unpadded base64. `ln` is log2 of the cost N (15: N = 32768, 32 MiB per hash with r = 8). Each
 * password gets its own 16-byte random salt. Verification recomputes with the stored parameters and
 * compares in constant time; `needsRehash` tells when stored parameters are below today's.
 *
 * Passwords are normalized to Unicode NFKC before hashing (NIST SP 800-63B 5.1.1.2), so the same
 * password typed on two keyboards matches.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ZtError } from '../shared/errors.js';

export const PASSWORD_MIN_LENGTH = 12;
/** bytes of UTF-8: bounds the work an attacker can ask for */
export const PASSWORD_MAX_BYTES = 1024;

export interface ScryptParams {
  /** log2 of the cost N */
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

/** Today's parameters: N = 2^15, r = 8, p = 1 (the OWASP 2023 floor is N = 2^15 at r = 8). */
export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Stored parameters outside these bounds are refused rather than computed (a planted hash must not DoS). */
const LIMITS = { lnMin: 10, lnMax: 20, rMax: 32, pMax: 16 };

function scryptAsync(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    // scrypt needs 128 * N * r bytes; leave headroom for the p lanes.
    maxmem: 128 * N * params.r * (params.p + 1) + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, HASH_BYTES, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Problems with a new password, as sentences for the user; empty when it is acceptable. */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  const normalized = password.normalize('NFKC');
  if ([...normalized].length < PASSWORD_MIN_LENGTH) {
    problems.push(`a password must be at least ${PASSWORD_MIN_LENGTH} characters long`);
  }
  if (Buffer.byteLength(normalized, 'utf8') > PASSWORD_MAX_BYTES) {
    problems.push(`a password must be at most ${PASSWORD_MAX_BYTES} bytes long`);
  }
  if (normalized.trim().length === 0) problems.push('a password cannot be only spaces');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(normalized)) {
    problems.push('a password cannot contain control characters (a pasted newline?)');
  }
  return problems;
}

/** Throws `ZT_IDENTITY_PASSWORD_POLICY` listing what is wrong with a new password. */
export function checkPasswordPolicy(password: string): void {
  const problems = passwordProblems(password);
  if (problems.length > 0) {
    throw new ZtError('ZT_IDENTITY_PASSWORD_POLICY', problems.join('; '), {
      help: 'choose a longer passphrase; a password manager can generate one',
    });
  }
}

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<string> {
  checkPasswordPolicy(password);
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(password.normalize('NFKC'), salt, params);
  return `$scrypt$v=1$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64').replace(/=+$/, '')}$${hash.toString('base64').replace(/=+$/, '')}`;
}

interface ParsedHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const ENCODED =
  /^\$scrypt\$v=1\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{43,88})$/;

export function parsePasswordHash(encoded: string): ParsedHash {
  const m = ENCODED.exec(encoded);
  if (!m) throw invalidHash('is not a ztgate scrypt hash (`$scrypt$v=1$...`)');
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (
    params.ln < LIMITS.lnMin ||
    params.ln > LIMITS.lnMax ||
    params.r < 1 ||
    params.r > LIMITS.rMax ||
    params.p < 1 ||
    params.p > LIMITS.pMax
  ) {
    throw invalidHash('has scrypt parameters outside the accepted range');
  }
  const salt = Buffer.from(m[4] ?? '', 'base64');
  const hash = Buffer.from(m[5] ?? '', 'base64');
  if (salt.length < SALT_BYTES || hash.length !== HASH_BYTES) {
    throw invalidHash('has a salt or hash of the wrong length');
  }
  return { params, salt, hash };
}

function invalidHash(what: string): ZtError {
  return new ZtError('ZT_IDENTITY_PASSWORD_HASH_INVALID', `the stored password hash ${what}`, {
    help: 'set the password again with `ztgate user passwd`',
  });
}

/**
 * True when `password` matches `encoded`. Throws `ZT_IDENTITY_PASSWORD_HASH_INVALID` for a
 * malformed stored hash (a store problem, not a wrong password). Inputs longer than the policy
 * allows are compared against the hash anyway (same time) and never match.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const { params, salt, hash } = parsePasswordHash(encoded);
  const normalized = password.normalize('NFKC');
  const tooLong = Buffer.byteLength(normalized, 'utf8') > PASSWORD_MAX_BYTES;
  const candidate = await scryptAsync(tooLong ? '' : normalized, salt, params);
  return timingSafeEqual(candidate, hash) && !tooLong;
}

/** True when a stored hash uses weaker parameters than today's: rehash after a successful sign-in. */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  try {
    const parsed = parsePasswordHash(encoded).params;
    return parsed.ln < params.ln || parsed.r < params.r || parsed.p < params.p;
  } catch {
    return true;
  }
}

let dummy: Promise<string> | undefined;

/**
 * Spends the time of one verification against a hash no password matches. Called when the email
 * is unknown or has no password, so that the response time does not tell which accounts exist.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(24).toString('base64'));
  await verifyPassword(password, await dummy);
  return false;
}
