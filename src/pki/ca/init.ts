/**
 * Creating the CA (`ztgate ca init`) and rotating its intermediate (`ztgate ca rotate`).
 *
 * The root is ECDSA P-256, self-signed, valid 10 years, `pathlen:1`; its key may be encrypted
 * with a passphrase and moved offline: it is needed only to sign a new intermediate. The online
 * intermediate (valid 1 year, `pathlen:0`) issues every leaf and signs the CRL. Both keys are
 * generated with WebCrypto and the certificates built with @peculiar/x509. Before anything is
 * written, the new CA issues and verifies a throwaway leaf (as SPIRE does); a CA that fails is
 * never put in place.
 */
import { webcrypto, KeyObject, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CertificateStore, NewCertificate } from '../../store/store.js';
import { PkiError, quote } from '../errors.js';
import {
  decryptPrivateKey,
  encryptPrivateKey,
  ensurePrivateDir,
  parsePrivateKey,
  readKeyFile,
  writePrivateFile,
  writePublicFile,
  type ScryptParams,
  DEFAULT_SCRYPT,
} from '../keys.js';
import { randomSerial, serialHex } from '../serial.js';
import { parseTrustDomain } from '../spiffe.js';
import { parseCertificate, toPem, type ParsedCertificate } from '../verify/parse.js';
import { EC_P256, x509, type CryptoKey, type CryptoKeyPair } from '../x509.js';
import { CertificateAuthority } from './authority.js';
import {
  caExists,
  FILES,
  loadCaMaterial,
  pkiDir,
  readMeta,
  rootKeyPath,
  type CaMeta,
} from './store-files.js';

const DAY = 86_400_000;
export const ROOT_TTL_MS = 3650 * DAY;
export const INTERMEDIATE_TTL_MS = 365 * DAY;

export interface InitCaOptions {
  readonly dataDir: string;
  readonly trustDomain: string;
  /** `{public_url}/pki/crl`, written into every certificate as its CRL distribution point */
  readonly crlUrl?: string;
  /** encrypts the root key (scrypt + PKCS#8 AES-256) */
  readonly rootPassphrase?: string;
  /** write the root key here instead of `<data_dir>/pki/root.key` (for example removable media) */
  readonly rootKeyOut?: string;
  readonly rootTtlMs?: number;
  readonly intermediateTtlMs?: number;
  /** records the two CA certificates (kind `ca`) */
  readonly store?: CertificateStore;
  readonly now?: () => number;
  /** scrypt cost (tests only lower it) */
  readonly scryptCost?: { N: number; r: number; p: number };
}

export interface CaCertificateSummary {
  readonly serial: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly sha256: string;
  readonly file: string;
  readonly keyFile: string;
}

export interface InitCaResult {
  readonly dir: string;
  readonly trustDomain: string;
  readonly crlUrl: string | null;
  readonly root: CaCertificateSummary & { readonly keyEncrypted: boolean };
  readonly intermediate: CaCertificateSummary;
}

function names(trustDomain: string): { root: string; intermediate: string } {
  return {
    root: `O=ztgate, OU=${trustDomain}, CN=ztgate root CA`,
    intermediate: `O=ztgate, OU=${trustDomain}, CN=ztgate intermediate CA`,
  };
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

function caExtensionsBase(trustDomain: string): x509.Extension[] {
  return [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
  ];
}

async function importSigningKey(key: KeyObject): Promise<CryptoKey> {
  return await webcrypto.subtle.importKey(
    'pkcs8',
    key.export({ type: 'pkcs8', format: 'der' }),
    EC_P256,
    false,
    ['sign'],
  );
}

async function createIntermediate(
  trustDomain: string,
  root: { cert: ParsedCertificate; key: CryptoKey },
  now: number,
  ttlMs: number,
): Promise<{ cert: ParsedCertificate; key: KeyObject }> {
  const keys = await generateKeys();
  const rootCert = new x509.X509Certificate(root.cert.der);
  const notAfter = Math.min(now + ttlMs, root.cert.notAfter);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(randomSerial()),
    subject: names(trustDomain).intermediate,
    issuer: rootCert.subjectName,
    notBefore: new Date(Math.floor((now - 60_000) / 1000) * 1000),
    notAfter: new Date(Math.floor(notAfter / 1000) * 1000),
    publicKey: keys.publicKey,
    signingKey: root.key,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      ...caExtensionsBase(trustDomain),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootCert.publicKey),
    ],
  });
  return {
    cert: parseCertificate(new Uint8Array(cert.rawData)),
    key: KeyObject.from(keys.privateKey),
  };
}

/** What the store records of a CA certificate signed by the root `rootSerial` (or the root itself). */
function caRecord(cert: ParsedCertificate, rootSerial: string): NewCertificate {
  return {
    serial: cert.serial,
    subject: cert.subject,
    kind: 'ca',
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    der: cert.der,
    names: [...(cert.san?.dns ?? []), ...(cert.san?.ips ?? []), ...(cert.san?.uris ?? [])],
    issuerSerial: rootSerial,
  };
}

function summary(cert: ParsedCertificate, file: string, keyFile: string): CaCertificateSummary {
  return {
    serial: cert.serial,
    subject: cert.subject,
    notBefore: new Date(cert.notBefore).toISOString(),
    notAfter: new Date(cert.notAfter).toISOString(),
    sha256: cert.fingerprint256,
    file,
    keyFile,
  };
}

/** Creates the root and the intermediate; refuses (`ZT_PKI_CA_EXISTS`) when a CA is already there. */
export async function initCa(options: InitCaOptions): Promise<InitCaResult> {
  const trustDomain = parseTrustDomain(options.trustDomain);
  const dir = pkiDir(options.dataDir);
  if (caExists(options.dataDir)) {
    throw new PkiError('ZT_PKI_CA_EXISTS', `a CA already exists in ${quote(dir)}`, {
      help: 'ztgate never replaces a CA: use `ztgate ca rotate` for a new intermediate, or move the directory away to start over',
    });
  }
  const rootKeyFile = options.rootKeyOut ? resolve(options.rootKeyOut) : join(dir, FILES.rootKey);
  if (existsSync(rootKeyFile)) {
    throw new PkiError('ZT_PKI_CA_EXISTS', `${quote(rootKeyFile)} already exists`, {
      help: 'choose another `--root-key-out`',
    });
  }
  const now = (options.now ?? Date.now)();

  // 1. the root
  const rootKeys = await generateKeys();
  const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialHex(randomSerial()),
    name: names(trustDomain).root,
    notBefore: new Date(Math.floor((now - 60_000) / 1000) * 1000),
    notAfter: new Date(Math.floor((now + (options.rootTtlMs ?? ROOT_TTL_MS)) / 1000) * 1000),
    keys: rootKeys,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      ...caExtensionsBase(trustDomain),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const root = parseCertificate(new Uint8Array(rootCert.rawData));

  // 2. the intermediate, signed by the root
  const intermediate = await createIntermediate(
    trustDomain,
    { cert: root, key: rootKeys.privateKey },
    now,
    options.intermediateTtlMs ?? INTERMEDIATE_TTL_MS,
  );

  // 3. the self-test, before anything is written
  const ca = new CertificateAuthority(
    {
      trustDomain,
      crlUrl: options.crlUrl,
      root,
      intermediate: intermediate.cert,
      intermediateKey: intermediate.key,
    },
    { now: () => now },
  );
  ca.selfTest();

  // 4. the files: keys first (exclusive create, 0600), ca.json last (it marks a complete CA)
  const rootKeyObject = KeyObject.from(rootKeys.privateKey);
  let rootKeyPem: string;
  let kdf: ScryptParams | undefined;
  if (options.rootPassphrase !== undefined) {
    ({ pem: rootKeyPem, kdf } = await encryptPrivateKey(
      rootKeyObject,
      options.rootPassphrase,
      options.scryptCost ?? DEFAULT_SCRYPT,
    ));
  } else {
    rootKeyPem = rootKeyObject.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  ensurePrivateDir(dir);
  const intermediateKeyFile = join(dir, FILES.intermediateKey);
  writePrivateFile(intermediateKeyFile, intermediate.key.export({ type: 'pkcs8', format: 'pem' }), {
    exclusive: true,
  });
  writePrivateFile(rootKeyFile, rootKeyPem, { exclusive: true });
  writePublicFile(join(dir, FILES.rootCert), toPem(root.der));
  writePublicFile(join(dir, FILES.intermediateCert), toPem(intermediate.cert.der));
  const meta: CaMeta = {
    version: 1,
    trust_domain: trustDomain,
    created_at: new Date(now).toISOString(),
    crl_url: options.crlUrl ?? null,
    root_key: {
      file: options.rootKeyOut ? rootKeyFile : FILES.rootKey,
      encrypted: kdf !== undefined,
      ...(kdf ? { kdf } : {}),
    },
    bundle_sequence: 1,
  };
  writePublicFile(join(dir, FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);

  for (const c of [root, intermediate.cert]) {
    await options.store?.create(caRecord(c, root.serial));
  }
  return {
    dir,
    trustDomain,
    crlUrl: options.crlUrl ?? null,
    root: {
      ...summary(root, join(dir, FILES.rootCert), rootKeyFile),
      keyEncrypted: kdf !== undefined,
    },
    intermediate: summary(
      intermediate.cert,
      join(dir, FILES.intermediateCert),
      intermediateKeyFile,
    ),
  };
}

/** Reads the root key (decrypting it with the passphrase when it is encrypted). */
export async function loadRootKey(
  dataDir: string,
  passphrase: string | undefined,
): Promise<KeyObject> {
  const dir = pkiDir(dataDir);
  const meta = readMeta(dir);
  const file = rootKeyPath(dir, meta);
  if (!existsSync(file)) {
    throw new PkiError(
      'ZT_PKI_CA_NOT_FOUND',
      `the root key ${quote(file)} is not there (kept offline?)`,
      {
        help: 'bring the root key back to that path for this operation, then take it offline again',
      },
    );
  }
  const pem = readKeyFile(file);
  if (meta.root_key.encrypted) {
    if (passphrase === undefined) {
      throw new PkiError('ZT_PKI_PASSPHRASE_REQUIRED', `the root key ${quote(file)} is encrypted`, {
        help: 'give its passphrase with `--root-passphrase-file FILE` (or `-` for standard input)',
      });
    }
    return decryptPrivateKey(pem, passphrase, meta.root_key.kdf as ScryptParams, file);
  }
  return parsePrivateKey(pem, file);
}

/**
 * Signs a new intermediate with the root and makes it the issuing CA. The previous intermediate
 * is kept as `intermediate-<serial>.crt` so that what it issued keeps verifying until it expires.
 */
export async function rotateIntermediate(options: {
  readonly dataDir: string;
  readonly rootPassphrase?: string;
  readonly intermediateTtlMs?: number;
  readonly store?: CertificateStore;
  readonly now?: () => number;
}): Promise<CaCertificateSummary & { readonly previousSerial: string }> {
  const current = loadCaMaterial(options.dataDir);
  const rootKey = await loadRootKey(options.dataDir, options.rootPassphrase);
  if (!current.root.node.checkPrivateKey(rootKey)) {
    throw new PkiError('ZT_PKI_KEY_INVALID', 'the root key does not match `root.crt`');
  }
  const now = (options.now ?? Date.now)();
  const next = await createIntermediate(
    current.trustDomain,
    { cert: current.root, key: await importSigningKey(rootKey) },
    now,
    options.intermediateTtlMs ?? INTERMEDIATE_TTL_MS,
  );
  new CertificateAuthority(
    {
      trustDomain: current.trustDomain,
      crlUrl: current.crlUrl,
      root: current.root,
      intermediate: next.cert,
      intermediateKey: next.key,
    },
    { now: () => now },
  ).selfTest();
  const dir = current.dir;
  const archived = join(dir, `intermediate-${current.intermediate.serial}.crt`);
  writePublicFile(archived, toPem(current.intermediate.der));
  writePrivateFile(
    join(dir, FILES.intermediateKey),
    next.key.export({ type: 'pkcs8', format: 'pem' }),
  );
  const certFile = join(dir, FILES.intermediateCert);
  const tmp = `${certFile}.next`;
  writePublicFile(tmp, toPem(next.cert.der));
  renameSync(tmp, certFile);
  await options.store?.create(caRecord(next.cert, current.root.serial));
  return {
    ...summary(next.cert, certFile, join(dir, FILES.intermediateKey)),
    previousSerial: current.intermediate.serial,
  };
}

/** A fresh ECDSA P-256 key pair (node:crypto) for `--generate-key` and the server's own certificate. */
export function generateP256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}
