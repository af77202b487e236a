/**
 * Encryption of identity secrets at rest: TOTP seeds, passkey credentials, refresh tokens, signing
 * keys. They live in the store (shared by every replica); the key that opens them lives in the data
 * directory (`identity.key`, mode 0600), so a copy of the database alone reveals none of them.
 *
 * AES-256-GCM with a random 96-bit nonce; the additional data is the record's store key, so a
 * ciphertext moved to another key (another user's MFA record) does not open. Sealed values are
 * `v1.<nonce>.<ciphertext+tag>` in base64url.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ZtError } from '../shared/errors.js';

export const IDENTITY_KEY_FILE = 'identity.key';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) throw new TypeError('a SecretBox key is 32 bytes');
    this.#key = Buffer.from(key);
  }

  /** A box with a fresh random key (tests, and tools that keep nothing). */
  static random(): SecretBox {
    return new SecretBox(randomBytes(KEY_BYTES));
  }

  seal(plaintext: string, aad: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([
      cipher.update(plaintext, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `v1.${nonce.toString('base64url')}.${body.toString('base64url')}`;
  }

  /** Throws `ZT_IDENTITY_SECRET_UNREADABLE` when the value was not sealed by this key for `aad`. */
  open(sealed: string, aad: string): string {
    const parts = sealed.split('.');
    const [version, nonceText, bodyText] = parts;
    if (parts.length !== 3 || version !== 'v1' || !nonceText || !bodyText) throw unreadable();
    const nonce = Buffer.from(nonceText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw unreadable();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce);
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw unreadable();
    }
  }
}

function unreadable(): ZtError {
  return new ZtError(
    'ZT_IDENTITY_SECRET_UNREADABLE',
    'an encrypted identity record cannot be read',
    {
      help: `the data directory's \`${IDENTITY_KEY_FILE}\` is not the key the record was written with; restore the right key file`,
    },
  );
}

/**
 * Reads `<dataDir>/identity.key`, creating it (mode 0600, 32 random bytes) when absent and
 * `create` is true. Refuses a key file that group or others can access. Replicas sharing one
 * PostgreSQL store must share this file too.
 */
export function loadIdentityKey(dataDir: string, options: { create?: boolean } = {}): SecretBox {
  const path = join(dataDir, IDENTITY_KEY_FILE);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || options.create === false) {
      throw keyFileError(
        path,
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read',
      );
    }
    return createKeyFile(dataDir, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw keyFileError(path, 'is not a regular file');
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new ZtError(
        'ZT_IDENTITY_KEY_FILE',
        `\`${path}\` has mode 0${(st.mode & 0o777).toString(8)}: group or others can access it`,
        { help: `restrict it to its owner: \`chmod 600 ${path}\`` },
      );
    }
    const text = readFileSync(fd, 'utf8').trim();
    const key = Buffer.from(text, 'base64url');
    if (!/^[A-Za-z0-9_-]{43}$/.test(text) || key.length !== KEY_BYTES) {
      throw keyFileError(path, 'does not hold a 32-byte base64url key');
    }
    return new SecretBox(key);
  } finally {
    closeSync(fd);
  }
}

function createKeyFile(dataDir: string, path: string): SecretBox {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // Written whole to a private temporary file, then linked into place: when two processes start at
  // once, one link wins and the other reads the winner's key; nobody reads a half-written file.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${key.toString('base64url')}\n`);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        return loadIdentityKey(dataDir, { create: false });
      }
      throw err;
    }
  } catch (err) {
    if (err instanceof ZtError) throw err;
    throw keyFileError(path, 'cannot be created');
  } finally {
    rmSync(tmp, { force: true });
  }
  return new SecretBox(key);
}

function keyFileError(path: string, what: string): ZtError {
  return new ZtError('ZT_IDENTITY_KEY_FILE', `the identity key file \`${path}\` ${what}`, {
    help: 'ztgate creates it on first use; if it was lost, encrypted identity records (TOTP, passkeys, refresh tokens, signing keys) must be enrolled again',
  });
}
