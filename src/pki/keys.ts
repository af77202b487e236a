/**
 * CA key files: written 0600 in a 0700 directory, refused when group or others can read or write
 * them, optionally encrypted with a passphrase.
 *
 * Encryption: node:crypto's `KeyObject.export` writes PKCS#8 encrypted with PBES2 and AES-256-CBC,
 * but it always derives the AES key with PBKDF2 (2048 iterations, OpenSSL's default) and cannot
 * select scrypt. So the passphrase is first stretched with scrypt (N=2^17, r=8, p=1: 128 MiB,
 * about half a second) and the stretched key, base64-encoded, is the PKCS#8 passphrase. The salt
 * and scrypt parameters are kept next to the key (in `ca.json`). Both steps are node:crypto's; the
 * file stays standard encrypted PKCS#8 (`openssl pkcs8 -in root.key -passin pass:<stretched>`).
 */
import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
  fchmodSync,
  chmodSync,
  unlinkSync,
} from 'node:fs';
import { createPrivateKey, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { PkiError, quote } from './errors.js';

export const MAX_KEY_FILE_BYTES = 64 * 1024;
export const MIN_PASSPHRASE_LENGTH = 8;

export interface ScryptParams {
  readonly name: 'scrypt';
  /** CPU/memory cost, a power of two */
  readonly N: number;
  readonly r: number;
  readonly p: number;
  /** base64 */
  readonly salt: string;
}

export const DEFAULT_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;

function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

const POSIX = process.platform !== 'win32';

/** Creates `dir` (and parents) with mode 0700; an existing one must not be open to group or others. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkPrivateDir(dir);
}

export function checkPrivateDir(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    throw new PkiError('ZT_PKI_CA_NOT_FOUND', `the directory ${quote(dir)} cannot be read`, {
      cause: err,
      help: 'run `ztgate ca init` or check `data_dir`',
    });
  }
  if (!st.isDirectory()) {
    throw new PkiError('ZT_PKI_CA_INVALID', `${quote(dir)} is not a directory`);
  }
  if (POSIX && (st.mode & 0o077) !== 0) {
    throw new PkiError(
      'ZT_PKI_KEY_PERMISSIONS',
      `the directory ${quote(dir)} has mode ${modeText(st.mode)}: group or others can access it`,
      { help: `restrict it to its owner: \`chmod 700 ${dir}\`` },
    );
  }
}

/**
 * Writes a private file with mode 0600. `exclusive: true` refuses to replace an existing file;
 * otherwise the file is replaced atomically (temporary file, fsync, rename).
 */
export function writePrivateFile(
  path: string,
  data: string | Uint8Array,
  options: { exclusive?: boolean; mode?: number } = {},
): void {
  const mode = options.mode ?? 0o600;
  const target = options.exclusive
    ? path
    : join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(
      target,
      fsConstants.O_WRONLY |
        fsConstants.O_CREAT |
        fsConstants.O_EXCL |
        (fsConstants.O_NOFOLLOW ?? 0),
      mode,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new PkiError('ZT_PKI_CA_EXISTS', `${quote(path)} already exists`, {
        help: 'ztgate never overwrites a CA file: move it away first if you mean to replace it',
      });
    }
    throw new PkiError(
      'ZT_PKI_CA_INVALID',
      `cannot write ${quote(path)}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    if (POSIX) fchmodSync(fd, mode);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (!options.exclusive) {
    try {
      renameSync(target, path);
    } catch (err) {
      unlinkSync(target);
      throw err;
    }
  }
}

/** Writes a certificate or other public file (0644, atomically). */
export function writePublicFile(path: string, data: string | Uint8Array): void {
  writePrivateFile(path, data, { mode: 0o644 });
  if (POSIX) chmodSync(path, 0o644);
}

/**
 * Reads a key file: a regular file of at most 64 KiB that only its owner can read or write.
 * Anything else is refused with a ZtError that names the file and never shows its contents.
 */
export function readKeyFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PkiError(
      code === 'ENOENT' ? 'ZT_PKI_CA_NOT_FOUND' : 'ZT_PKI_KEY_INVALID',
      `the key file ${quote(path)} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}`,
      {
        help:
          code === 'ENOENT'
            ? 'run `ztgate ca init`, or check `data_dir`'
            : 'check the file and its permissions',
      },
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new PkiError('ZT_PKI_KEY_INVALID', `the key file ${quote(path)} is not a regular file`);
    if (POSIX && (st.mode & 0o077) !== 0) {
      throw new PkiError(
        'ZT_PKI_KEY_PERMISSIONS',
        `the key file ${quote(path)} has mode ${modeText(st.mode)}: group or others can access it`,
        { help: `restrict it to its owner: \`chmod 600 ${path}\`` },
      );
    }
    if (st.size > MAX_KEY_FILE_BYTES) {
      throw new PkiError('ZT_PKI_KEY_INVALID', `the key file ${quote(path)} is larger than 64 KiB`);
    }
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_KEY_FILE_BYTES) {
        throw new PkiError(
          'ZT_PKI_KEY_INVALID',
          `the key file ${quote(path)} is larger than 64 KiB`,
        );
      }
    }
    const text = buf.subarray(0, length).toString('utf8');
    buf.fill(0);
    return text;
  } finally {
    closeSync(fd);
  }
}

/** A private key from unencrypted PKCS#8 PEM; it must be ECDSA P-256 unless `anyType`. */
export function parsePrivateKey(
  pem: string,
  file: string,
  options: { anyType?: boolean } = {},
): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    const encrypted = pem.includes('ENCRYPTED');
    throw new PkiError(
      encrypted ? 'ZT_PKI_PASSPHRASE_REQUIRED' : 'ZT_PKI_KEY_INVALID',
      encrypted
        ? `the key file ${quote(file)} is encrypted`
        : `the key file ${quote(file)} is not a PEM private key`,
      {
        cause: err,
        ...(encrypted
          ? {
              help: 'give its passphrase with `--root-passphrase-file FILE` (or `-` for standard input)',
            }
          : {}),
      },
    );
  }
  if (!options.anyType) checkP256(key, file);
  return key;
}

function checkP256(key: KeyObject, file: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new PkiError(
      'ZT_PKI_KEY_INVALID',
      `the key file ${quote(file)} does not hold an ECDSA P-256 key`,
    );
  }
}

function stretch(passphrase: string, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      Buffer.from(passphrase.normalize('NFC'), 'utf8'),
      Buffer.from(params.salt, 'base64'),
      32,
      {
        N: params.N,
        r: params.r,
        p: params.p,
        maxmem: 256 * params.N * params.r + 16 * 1024 * 1024,
      },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

export function checkNewPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new PkiError(
      'ZT_PKI_PASSPHRASE_INVALID',
      passphrase.length === 0
        ? 'the root key passphrase is empty'
        : `the root key passphrase is shorter than ${MIN_PASSPHRASE_LENGTH} characters`,
      { help: 'use a long random passphrase, kept in a password manager' },
    );
  }
}

/** Encrypted PKCS#8 PEM of `key` under a scrypt-stretched passphrase, and the scrypt parameters. */
export async function encryptPrivateKey(
  key: KeyObject,
  passphrase: string,
  cost: { N: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<{ pem: string; kdf: ScryptParams }> {
  checkNewPassphrase(passphrase);
  const kdf: ScryptParams = { name: 'scrypt', ...cost, salt: randomBytes(16).toString('base64') };
  const stretched = await stretch(passphrase, kdf);
  const pem = key.export({
    type: 'pkcs8',
    format: 'pem',
    cipher: 'aes-256-cbc',
    passphrase: stretched.toString('base64'),
  }) as string;
  stretched.fill(0);
  return { pem, kdf };
}

/** Decrypts a key written by `encryptPrivateKey`; a wrong passphrase is `ZT_PKI_PASSPHRASE_WRONG`. */
export async function decryptPrivateKey(
  pem: string,
  passphrase: string,
  kdf: ScryptParams,
  file: string,
): Promise<KeyObject> {
  const stretched = await stretch(passphrase, kdf);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', passphrase: stretched.toString('base64') });
  } catch (err) {
    throw new PkiError(
      'ZT_PKI_PASSPHRASE_WRONG',
      `the passphrase does not decrypt ${quote(file)}`,
      {
        cause: err,
        help: 'check the passphrase file (a trailing newline is ignored)',
      },
    );
  } finally {
    stretched.fill(0);
  }
  checkP256(key, file);
  return key;
}

export function isScryptParams(v: unknown): v is ScryptParams {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  const int = (x: unknown, max: number) =>
    typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= max;
  return (
    o.name === 'scrypt' &&
    int(o.N, 2 ** 22) &&
    ((o.N as number) & ((o.N as number) - 1)) === 0 &&
    int(o.r, 64) &&
    int(o.p, 16) &&
    typeof o.salt === 'string' &&
    /^[A-Za-z0-9+/]{16,64}={0,2}$/.test(o.salt)
  );
}
