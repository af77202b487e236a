/**
 * The CA's files under `<data_dir>/pki/` (mode 0700):
 *
 * | file                         | mode | what                                                       |
 * |------------------------------|------|------------------------------------------------------------|
 * | `ca.json`                    | 0644 | trust domain, CRL URL, root key location and KDF, bundle sequence |
 * | `root.crt`                   | 0644 | the root certificate (the trust anchor; also in the bundle) |
 * | `root.key`                   | 0600 | its key, PKCS#8, optionally passphrase-encrypted; may be moved offline |
 * | `intermediate.crt`           | 0644 | the online issuing CA certificate                          |
 * | `intermediate.key`           | 0600 | its key (unencrypted: the server issues with it)           |
 * | `intermediate-<serial>.crt`  | 0644 | previous intermediates after `ztgate ca rotate`            |
 * | `crl.der`                    | 0644 | the last CRL generated                                     |
 * | `issuance-policy.yaml`       | any  | optional: which requester may obtain which names           |
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { PkiError, quote } from '../errors.js';
import {
  checkPrivateDir,
  isScryptParams,
  parsePrivateKey,
  readKeyFile,
  type ScryptParams,
} from '../keys.js';
import { parseTrustDomain } from '../spiffe.js';
import { certificatesFrom, parseCertificate, type ParsedCertificate } from '../verify/parse.js';
import type { CaMaterial } from './authority.js';

export const PKI_DIR = 'pki';
export const FILES = {
  meta: 'ca.json',
  rootCert: 'root.crt',
  rootKey: 'root.key',
  intermediateCert: 'intermediate.crt',
  intermediateKey: 'intermediate.key',
  crl: 'crl.der',
  policy: 'issuance-policy.yaml',
} as const;

export interface CaMeta {
  readonly version: 1;
  readonly trust_domain: string;
  readonly created_at: string;
  readonly crl_url: string | null;
  readonly root_key: {
    /** relative to the pki directory, or absolute when it was written elsewhere */
    readonly file: string;
    readonly encrypted: boolean;
    readonly kdf?: ScryptParams;
  };
  /** `spiffe_sequence` of the trust bundle: bumped whenever the set of roots changes */
  readonly bundle_sequence: number;
}

export function pkiDir(dataDir: string): string {
  return join(dataDir, PKI_DIR);
}

export function caExists(dataDir: string): boolean {
  const dir = pkiDir(dataDir);
  return existsSync(join(dir, FILES.meta)) || existsSync(join(dir, FILES.rootCert));
}

export function readMeta(dir: string): CaMeta {
  const file = join(dir, FILES.meta);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new PkiError(
      missing ? 'ZT_PKI_CA_NOT_FOUND' : 'ZT_PKI_CA_INVALID',
      missing ? `there is no CA in ${quote(dir)}` : `${quote(file)} is not valid JSON`,
      {
        help: missing ? 'create one with `ztgate ca init`' : 'restore it from a backup',
        cause: err,
      },
    );
  }
  const m = raw as Partial<CaMeta> | null;
  const rk = m?.root_key;
  const ok =
    m &&
    m.version === 1 &&
    typeof m.trust_domain === 'string' &&
    typeof m.created_at === 'string' &&
    (m.crl_url === null || typeof m.crl_url === 'string') &&
    typeof m.bundle_sequence === 'number' &&
    Number.isSafeInteger(m.bundle_sequence) &&
    rk &&
    typeof rk.file === 'string' &&
    typeof rk.encrypted === 'boolean' &&
    (!rk.encrypted || isScryptParams(rk.kdf));
  if (!ok)
    throw new PkiError('ZT_PKI_CA_INVALID', `${quote(file)} is malformed`, {
      help: 'restore it from a backup',
    });
  parseTrustDomain(m.trust_domain);
  return m as CaMeta;
}

export function rootKeyPath(dir: string, meta: CaMeta): string {
  return isAbsolute(meta.root_key.file) ? meta.root_key.file : join(dir, meta.root_key.file);
}

function readCertificate(file: string): ParsedCertificate {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PkiError('ZT_PKI_CA_INVALID', `${quote(file)} cannot be read`, {
      cause: err,
      help: 'restore it from a backup',
    });
  }
  const ders = certificatesFrom(text);
  if (ders.length !== 1)
    throw new PkiError(
      'ZT_PKI_CA_INVALID',
      `${quote(file)} does not hold exactly one PEM certificate`,
    );
  try {
    return parseCertificate(ders[0] as Buffer);
  } catch (err) {
    throw new PkiError('ZT_PKI_CA_INVALID', `${quote(file)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Loads the online CA: certificates, the intermediate key (permission-checked) and checks that
 * they belong together. The root key is never read here; its file, when it is still in the
 * directory, must not be open to group or others either.
 */
export function loadCaMaterial(
  dataDir: string,
  options: { crlUrl?: string } = {},
): CaMaterial & { meta: CaMeta; dir: string } {
  const dir = pkiDir(dataDir);
  if (!existsSync(dir)) {
    throw new PkiError(
      'ZT_PKI_CA_NOT_FOUND',
      `there is no CA in ${quote(dataDir)} (no \`pki\` directory)`,
      {
        help: 'create one with `ztgate ca init`, or point `--data-dir`/`data_dir` at the right place',
      },
    );
  }
  checkPrivateDir(dir);
  const meta = readMeta(dir);
  const rootKey = rootKeyPath(dir, meta);
  if (
    existsSync(rootKey) &&
    process.platform !== 'win32' &&
    (statSync(rootKey).mode & 0o077) !== 0
  ) {
    // Checked without reading it: the root key is not needed online.
    readKeyFile(rootKey);
  }
  const root = readCertificate(join(dir, FILES.rootCert));
  const intermediate = readCertificate(join(dir, FILES.intermediateCert));
  const keyFile = join(dir, FILES.intermediateKey);
  const intermediateKey = parsePrivateKey(readKeyFile(keyFile), keyFile);
  if (!intermediate.node.checkPrivateKey(intermediateKey)) {
    throw new PkiError(
      'ZT_PKI_KEY_INVALID',
      `${quote(keyFile)} is not the key of ${quote(join(dir, FILES.intermediateCert))}`,
      {
        help: 'restore the matching pair from a backup',
      },
    );
  }
  if (!intermediate.node.verify(root.node.publicKey)) {
    throw new PkiError(
      'ZT_PKI_CA_INVALID',
      'the intermediate certificate is not signed by the root certificate',
      {
        help: 'restore the matching pair from a backup',
      },
    );
  }
  const previousIntermediates = readdirSync(dir)
    .filter((f) => /^intermediate-[0-9a-f]+\.crt$/.test(f))
    .sort()
    .map((f) => readCertificate(join(dir, f)))
    .filter((c) => c.notAfter > Date.now());
  const crlUrl = options.crlUrl ?? meta.crl_url ?? undefined;
  return {
    dir,
    meta,
    trustDomain: meta.trust_domain,
    crlUrl,
    root,
    intermediate,
    intermediateKey,
    previousIntermediates,
  };
}
