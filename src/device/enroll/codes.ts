/**
 * One-time enrollment codes. A signed-in user asks the portal for one; it is shown once, lives for
 * `enroll_code_ttl` (10 minutes by default), is bound to that user, and is used by the first
 * enrollment request that presents it, whatever the outcome. Only its SHA-256 is stored: the code
 * carries 100 random bits, so a copy of the store cannot be turned back into codes.
 *
 * Form: 20 Crockford base32 characters in groups of five (`7KQ2M-XW4PA-93RTV-0BN8E`); reading it
 * back ignores case, dashes and spaces, and takes `O` for `0` and `I`/`L` for `1`.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  StoreConflictError,
  type EnrollmentCodeRecord,
  type EnrollmentCodeStore,
} from '../../store/store.js';
import { DeviceError } from '../errors.js';

/**
 * Where codes live: `store.enrollmentCodes` (table `enrollment_codes`), shared by every replica, so
 * a code issued by one works on any other. `consume` is one conditional UPDATE: of two concurrent
 * calls for one code, in any process, exactly one wins.
 */
export type { EnrollmentCodeRecord, EnrollmentCodeStore };

/** Codes in memory, with the store's semantics: for tests that run without a database. */
export class InMemoryEnrollmentCodeStore implements EnrollmentCodeStore {
  private readonly codes = new Map<string, EnrollmentCodeRecord>();

  put(record: EnrollmentCodeRecord): Promise<void> {
    if (this.codes.has(record.codeHash))
      return Promise.reject(new StoreConflictError('an enrollment code with this hash exists'));
    this.codes.set(record.codeHash, record);
    return Promise.resolve();
  }

  get(codeHash: string): Promise<EnrollmentCodeRecord | undefined> {
    return Promise.resolve(this.codes.get(codeHash));
  }

  consume(codeHash: string, at: number): Promise<EnrollmentCodeRecord | undefined> {
    const record = this.codes.get(codeHash);
    if (!record || record.usedAt !== null || at >= record.expiresAt)
      return Promise.resolve(undefined);
    const used = { ...record, usedAt: at };
    this.codes.set(codeHash, used);
    return Promise.resolve(used);
  }

  deleteExpired(now: number): Promise<number> {
    let n = 0;
    for (const [k, r] of this.codes) {
      if (r.expiresAt <= now) {
        this.codes.delete(k);
        n++;
      }
    }
    return Promise.resolve(n);
  }
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const CODE_LENGTH = 20;

/** A fresh random code (100 bits from node:crypto), grouped for reading aloud. */
export function newEnrollmentCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  let out = '';
  // 256 is a multiple of 32: taking the low five bits of each byte is uniform
  for (const b of bytes) out += ALPHABET[b & 31];
  return out.match(/.{5}/g)?.join('-') ?? out;
}

/** The canonical form of a typed code, or undefined when it cannot be one. */
export function normalizeEnrollmentCode(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 64) return undefined;
  const s = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (s.length !== CODE_LENGTH) return undefined;
  for (const ch of s) if (!ALPHABET.includes(ch)) return undefined;
  return s;
}

export function hashEnrollmentCode(normalized: string): string {
  return createHash('sha256').update(`ztgate-enroll:${normalized}`, 'utf8').digest('hex');
}

export interface IssuedEnrollmentCode {
  /** shown to the user once; never stored */
  readonly code: string;
  readonly userId: string;
  readonly expiresAt: number;
}

export const DEFAULT_ENROLL_CODE_TTL_MS = 10 * 60_000;

/** Issues a code for a signed-in user (the portal calls this). */
export async function issueEnrollmentCode(
  codes: EnrollmentCodeStore,
  user: { readonly id: string; readonly email?: string | null },
  options: { readonly now: number; readonly ttlMs?: number },
): Promise<IssuedEnrollmentCode> {
  const ttl = options.ttlMs ?? DEFAULT_ENROLL_CODE_TTL_MS;
  if (!Number.isSafeInteger(ttl) || ttl < 1000 || ttl > 24 * 3_600_000)
    throw new DeviceError('ZT_DEVICE_SETTINGS_INVALID', 'an enrollment code lives from 1s to 24h');
  const code = newEnrollmentCode();
  const normalized = normalizeEnrollmentCode(code) as string;
  const expiresAt = options.now + ttl;
  await codes.put({
    codeHash: hashEnrollmentCode(normalized),
    userId: user.id,
    email: user.email ?? null,
    createdAt: options.now,
    expiresAt,
    usedAt: null,
  });
  return { code, userId: user.id, expiresAt };
}

/** Why a code is refused, for the audit log only: the client always hears the same message. */
export type CodeRefusal = 'malformed' | 'unknown' | 'expired' | 'used';

/** The code was refused; `refusal` says why for the audit log. */
export class EnrollmentCodeError extends DeviceError {
  constructor(readonly refusal: CodeRefusal) {
    super(
      'ZT_DEVICE_ENROLL_CODE_INVALID',
      'the enrollment code is not valid (unknown, expired or already used)',
      { help: 'ask the portal for a new code; a code works once, for a short time' },
    );
    this.name = 'EnrollmentCodeError';
  }
}
