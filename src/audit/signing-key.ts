/**
 * The Ed25519 key that signs audit checkpoints. It lives in a PEM (PKCS#8) file, by default
 * `<data_dir>/audit-signing-key.pem`, mode 0600, generated with node:crypto on first use. A key file
 * readable or writable by group or others is refused (`ZT_AUDIT_KEY_PERMISSIONS`): whoever can
 * read it can forge checkpoints.
 *
 * A checkpoint signs the canonical JSON statement
 * `{"hash":…,"key_id":…,"kind":…,"seq":…,"time":"<ISO>","type":"ztgate-audit-checkpoint","v":1}`;
 * `key_id` is the first 16 hex digits of SHA-256 over the public key (SPKI DER).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ZtError } from '../shared/errors.js';
import type { AuditCheckpointRow, NewAuditCheckpoint } from '../store/store.js';
import { canonicalJson } from './canonical.js';

export const AUDIT_KEY_FILE = 'audit-signing-key.pem';

export function defaultAuditKeyPath(dataDir: string): string {
  return join(dataDir, AUDIT_KEY_FILE);
}

export interface AuditSigningKey {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  /** base64 Ed25519 signature */
  sign(message: string): string;
}

export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

function checkPermissions(path: string): void {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) {
    throw new ZtError(
      'ZT_AUDIT_KEY_PERMISSIONS',
      `the audit signing key \`${path}\` is accessible by group or others (mode ${(st.mode & 0o777).toString(8)})`,
      { help: `run \`chmod 600 ${path}\`` },
    );
  }
}

function fromPem(path: string, pem: string): AuditSigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new ZtError(
      'ZT_AUDIT_KEY_INVALID',
      `the audit signing key \`${path}\` is not a PEM private key`,
      {
        cause: err,
      },
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ZtError(
      'ZT_AUDIT_KEY_INVALID',
      `the audit signing key \`${path}\` is not an Ed25519 key`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKey,
    sign: (message) => sign(null, Buffer.from(message, 'utf8'), privateKey).toString('base64'),
  };
}

/**
 * Loads the key, creating it (mode 0600, atomically: several processes starting at once end up
 * with the same key) when `create` is true and the file does not exist.
 */
export function loadAuditSigningKey(
  path: string,
  options: { create?: boolean } = {},
): AuditSigningKey {
  let pem: string;
  try {
    checkPermissions(path);
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT') {
      if (err instanceof ZtError) throw err;
      throw new ZtError('ZT_AUDIT_KEY_INVALID', `cannot read the audit signing key \`${path}\``, {
        cause: err,
      });
    }
    if (options.create !== true) {
      throw new ZtError('ZT_AUDIT_KEY_INVALID', `there is no audit signing key at \`${path}\``, {
        help: 'give the key file with `--key`, or a public key with `--public-key`',
      });
    }
    createKeyFile(path);
    checkPermissions(path);
    pem = readFileSync(path, 'utf8');
  }
  return fromPem(path, pem);
}

function createKeyFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path); // atomic, and fails if another process created the key first
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** A public key for verification, from a PEM public key or a PEM private key file. */
export function loadAuditPublicKey(path: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ZtError('ZT_AUDIT_KEY_INVALID', `cannot read the public key \`${path}\``, {
      cause: err,
    });
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new ZtError('ZT_AUDIT_KEY_INVALID', `\`${path}\` is not a PEM public or private key`, {
      cause: err,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ZtError('ZT_AUDIT_KEY_INVALID', `\`${path}\` is not an Ed25519 key`);
  }
  return key;
}

export function exportPublicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

export interface CheckpointClaim {
  readonly seq: number;
  readonly hash: string;
  readonly time: number;
  readonly kind: string;
}

export function checkpointStatement(claim: CheckpointClaim, keyId: string): string {
  return canonicalJson({
    type: 'ztgate-audit-checkpoint',
    v: 1,
    seq: claim.seq,
    hash: claim.hash,
    time: new Date(claim.time).toISOString(),
    kind: claim.kind,
    key_id: keyId,
  });
}

export function signCheckpoint(key: AuditSigningKey, claim: CheckpointClaim): NewAuditCheckpoint {
  return { ...claim, keyId: key.keyId, signature: key.sign(checkpointStatement(claim, key.keyId)) };
}

/** Whether a stored checkpoint carries a valid signature by one of `keys` (by key id). */
export function checkpointSignatureValid(
  keys: ReadonlyMap<string, KeyObject>,
  cp: AuditCheckpointRow,
): 'valid' | 'invalid' | 'unknown-key' {
  const key = keys.get(cp.keyId);
  if (!key) return 'unknown-key';
  try {
    const ok = verify(
      null,
      Buffer.from(checkpointStatement(cp, cp.keyId), 'utf8'),
      key,
      Buffer.from(cp.signature, 'base64'),
    );
    return ok ? 'valid' : 'invalid';
  } catch {
    return 'invalid';
  }
}

export function keyMap(keys: readonly KeyObject[]): Map<string, KeyObject> {
  return new Map(keys.map((k) => [keyIdOf(k), k]));
}
