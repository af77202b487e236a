/**
 * `ztgate ca init|issue|revoke|list|bundle|rotate`: the internal certificate authority.
 *
 * Every subcommand finds the data directory from `--data-dir DIR`, else from the config file
 * (`--config FILE`, `$ZTGATE_CONFIG` or `./ztgate.yaml` when present), else `./.ztgate`; the store
 * is the config's `store:` (SQLite under the data directory by default), or `--store URL`.
 *
 * `issue` signs a CSR: the requester's private key never leaves it. `--generate-key` creates a key
 * here for convenience (written 0600); the CSR path is the secure one. Without `--requester`, the
 * local operator issues without the issuance policy (whoever runs this can read the intermediate
 * key anyway); with `--requester NAME`, the policy file decides.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  CONFIG_PATH_ENV,
  defaultConfigPath,
  defaultTrustDomain,
  loadConfigFile,
  pkiSettings,
  readSecretFile,
  type PkiSettings,
} from '../config/index.js';
import { parseDuration } from '../shared/duration.js';
import { ZtError } from '../shared/errors.js';
import { openStore, storeOptionsFromUrl } from '../store/open.js';
import { openEventBus } from '../store/events/index.js';
import type { CertificateKind, CertificateRecord, Store } from '../store/store.js';
import {
  CERTIFICATE_TYPES,
  IssuancePolicy,
  MAX_CSR_BYTES,
  PKI_FILES,
  Pki,
  PkiError,
  REVOCATION_REASONS,
  createCsr,
  generateP256,
  initCa,
  pkiDir,
  rotateIntermediate,
  type CertificateType,
  type IssuedCertificate,
  type RevocationReason,
} from '../pki/index.js';
import { writePrivateFile, writePublicFile } from '../pki/keys.js';
import { parseFormat, runCommand, type Io, type OutputFormat } from './output.js';

// ---------------------------------------------------------------------------------------------
// where the CA lives

export interface CaLocationOptions {
  readonly config?: string;
  readonly dataDir?: string;
  readonly store?: string;
}

export interface CaLocation {
  readonly dataDir: string;
  readonly store: string | undefined;
  /** `https://host[:port]` from the config, when one was read */
  readonly publicUrl: string | undefined;
  /** the config's `pki:` (trust domain, default lifetimes), when one was read */
  readonly pki?: PkiSettings;
}

/** `--data-dir` wins; else the config (explicit, `$ZTGATE_CONFIG` or `./ztgate.yaml` if present); else `./.ztgate`. */
export function resolveCaLocation(
  o: CaLocationOptions,
  env: NodeJS.ProcessEnv = process.env,
): CaLocation {
  if (o.dataDir !== undefined)
    return { dataDir: resolve(o.dataDir), store: o.store, publicUrl: undefined };
  const explicit = o.config ?? env[CONFIG_PATH_ENV];
  const file = explicit ?? defaultConfigPath(env);
  if (explicit !== undefined || existsSync(file)) {
    const { config } = loadConfigFile(file, { readSecrets: false });
    return {
      dataDir: config.data_dir,
      store: o.store ?? config.store,
      publicUrl: config.public_url,
      pki: pkiSettings(config),
    };
  }
  return { dataDir: resolve('.ztgate'), store: o.store, publicUrl: undefined };
}

async function withStore<T>(
  loc: CaLocation,
  create: boolean,
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStore(storeOptionsFromUrl(loc.store, loc.dataDir, { create }));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function withPki<T>(
  loc: CaLocation,
  work: (pki: Pki, store: Store) => Promise<T>,
): Promise<T> {
  if (!existsSync(join(pkiDir(loc.dataDir), PKI_FILES.meta))) {
    throw new PkiError('ZT_PKI_CA_NOT_FOUND', `there is no CA in \`${loc.dataDir}\``, {
      help: 'create one with `ztgate ca init`, or point `--data-dir`/`--config` at the right place',
    });
  }
  return withStore(loc, false, async (store) => {
    const pki = await Pki.open({ dataDir: loc.dataDir, store: store.certificates });
    try {
      return await work(pki, store);
    } finally {
      pki.close();
    }
  });
}

function trimNewline(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
}

async function readPassphrase(source: string | undefined, io: Io): Promise<string | undefined> {
  if (source === undefined) return undefined;
  if (source === '-') return trimNewline(await io.stdin());
  return readSecretFile(source);
}

// ---------------------------------------------------------------------------------------------
// the commands, callable directly (tests) or through commander

export interface CaInitOptions extends CaLocationOptions {
  readonly trustDomain?: string;
  readonly crlUrl?: string;
  readonly rootPassphraseFile?: string;
  readonly rootKeyOut?: string;
  readonly format: OutputFormat;
}

export async function caInit(o: CaInitOptions, io: Io): Promise<number> {
  const loc = resolveCaLocation(o);
  const publicUrl = loc.publicUrl ?? 'https://auth.localhost:8443';
  const trustDomain = o.trustDomain ?? loc.pki?.trustDomain ?? defaultTrustDomain(publicUrl);
  const crlUrl = o.crlUrl ?? `${publicUrl.replace(/\/+$/, '')}/pki/crl`;
  const passphrase = await readPassphrase(o.rootPassphraseFile, io);
  const result = await withStore(loc, true, (store) =>
    initCa({
      dataDir: loc.dataDir,
      trustDomain,
      crlUrl,
      store: store.certificates,
      ...(passphrase !== undefined ? { rootPassphrase: passphrase } : {}),
      ...(o.rootKeyOut !== undefined ? { rootKeyOut: o.rootKeyOut } : {}),
    }),
  );
  if (o.format === 'json') {
    io.stdout(`${JSON.stringify({ ok: true, ...result }, null, 2)}\n`);
    return 0;
  }
  io.stdout(
    [
      `created a CA for the trust domain ${result.trustDomain} in ${result.dir}`,
      `  root          ${result.root.subject}`,
      `                serial ${result.root.serial}, valid until ${result.root.notAfter}`,
      `                sha256 ${result.root.sha256}`,
      `                key ${result.root.keyFile} (0600${result.root.keyEncrypted ? ', encrypted' : ''})`,
      `  intermediate  ${result.intermediate.subject}`,
      `                serial ${result.intermediate.serial}, valid until ${result.intermediate.notAfter}`,
      `                key ${result.intermediate.keyFile} (0600)`,
      `  CRL URL       ${result.crlUrl ?? '-'}`,
      `the root key is needed only to rotate the intermediate: keep it offline (docs/pki.md)`,
      '',
    ].join('\n'),
  );
  return 0;
}

export interface CaIssueOptions extends CaLocationOptions {
  readonly type: CertificateType;
  readonly csr?: string;
  readonly generateKey?: boolean;
  readonly keyOut?: string;
  readonly dns?: readonly string[];
  readonly ip?: readonly string[];
  readonly device?: string;
  readonly user?: string;
  readonly spiffeId?: string;
  readonly ttl?: number;
  readonly requester?: string;
  readonly policy?: string;
  readonly out?: string;
  readonly format: OutputFormat;
}

async function readCsr(path: string, io: Io): Promise<Buffer | string> {
  if (path === '-') return io.stdin();
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    size = st.size;
  } catch (err) {
    throw new ZtError('ZT_CLI_INPUT_INVALID', `cannot read the CSR file \`${path}\``, {
      help:
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'check the path' : 'give a regular file',
    });
  }
  if (size > MAX_CSR_BYTES) {
    throw new PkiError(
      'ZT_PKI_CSR_TOO_LARGE',
      `the CSR file \`${path}\` is ${size} bytes, more than the 64 KiB accepted`,
      {
        help: 'check that this is the right file',
      },
    );
  }
  return readFileSync(path);
}

export async function caIssue(o: CaIssueOptions, io: Io): Promise<number> {
  if ((o.csr === undefined) === (o.generateKey !== true)) {
    throw new ZtError(
      'ZT_CLI_USAGE',
      'give either `--csr FILE` or `--generate-key` (with `--key-out FILE`)',
    );
  }
  if (o.generateKey && o.keyOut === undefined) {
    throw new ZtError(
      'ZT_CLI_USAGE',
      '`--generate-key` needs `--key-out FILE` for the new private key',
    );
  }
  const loc = resolveCaLocation(o);
  let csr: Buffer | string;
  let keyPem: string | undefined;
  if (o.csr !== undefined) {
    csr = await readCsr(o.csr, io);
  } else {
    const { privateKey, publicKey } = generateP256();
    csr = await createCsr(privateKey, publicKey);
    keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
  // Without `--ttl`, the config's lifetime for the type (`pki.*_ttl`), else the type's default.
  const ttlMs = o.ttl ?? configTtl(loc.pki, o.type);
  const policy =
    o.requester === undefined
      ? IssuancePolicy.unrestricted()
      : IssuancePolicy.load(o.policy ?? join(pkiDir(loc.dataDir), PKI_FILES.policy));
  const issued = await withPki(loc, (pki) =>
    pki.issue(
      {
        type: o.type,
        csr,
        ...(o.dns !== undefined ? { dns: o.dns } : {}),
        ...(o.ip !== undefined ? { ips: o.ip } : {}),
        ...(o.device !== undefined ? { deviceId: o.device } : {}),
        ...(o.user !== undefined ? { userId: o.user } : {}),
        ...(o.spiffeId !== undefined ? { spiffeId: o.spiffeId } : {}),
        ...(ttlMs !== undefined ? { ttlMs } : {}),
      },
      { requester: o.requester ?? 'operator', policy },
    ),
  );
  if (keyPem !== undefined && o.keyOut !== undefined) {
    writePrivateFile(resolve(o.keyOut), keyPem, { exclusive: true });
    io.stderr(
      `wrote the private key to ${o.keyOut} (0600). It was generated here: for production, create the key where it is used and send a CSR (--csr)\n`,
    );
  }
  if (o.out !== undefined) writePublicFile(resolve(o.out), issued.chainPem);
  if (o.format === 'json') {
    io.stdout(`${JSON.stringify(issuedJson(issued, o), null, 2)}\n`);
  } else if (o.out !== undefined) {
    io.stdout(
      `issued ${issued.type === 'svid' ? 'SVID' : `${issued.type} certificate`} ${issued.serial} for ${issued.subject}, valid until ${issued.notAfter.toISOString()}: wrote ${o.out}\n`,
    );
  } else {
    io.stdout(issued.chainPem);
  }
  return 0;
}

function configTtl(pki: PkiSettings | undefined, type: CertificateType): number | undefined {
  if (!pki) return undefined;
  switch (type) {
    case 'server':
      return pki.serverCertTtlMs;
    case 'device':
      return pki.deviceCertTtlMs;
    case 'svid':
      return pki.svidTtlMs;
  }
}

function issuedJson(c: IssuedCertificate, o: CaIssueOptions): Record<string, unknown> {
  return {
    ok: true,
    serial: c.serial,
    type: c.type,
    subject: c.subject,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    keyType: c.keyType,
    dns: c.dns,
    ips: c.ips,
    uris: c.uris,
    ...(o.out !== undefined ? { certFile: o.out } : {}),
    ...(o.keyOut !== undefined && o.generateKey ? { keyFile: o.keyOut } : {}),
    chainPem: c.chainPem,
  };
}

export interface CaRevokeOptions extends CaLocationOptions {
  readonly serial?: string;
  readonly subject?: string;
  readonly reason: RevocationReason;
  readonly format: OutputFormat;
}

export async function caRevoke(o: CaRevokeOptions, io: Io): Promise<number> {
  if ((o.serial === undefined) === (o.subject === undefined)) {
    throw new ZtError('ZT_CLI_USAGE', 'give either `--serial HEX` or `--subject NAME`');
  }
  const loc = resolveCaLocation(o);
  const revoked = await withPki(loc, async (pki) => {
    const out = await pki.revoke(
      o.serial !== undefined ? { serial: o.serial } : { subject: o.subject as string },
      o.reason,
    );
    // running servers refuse the certificate at once and cut its connections: over LISTEN/NOTIFY
    // on PostgreSQL, through the server's socket in the data directory with SQLite
    const storeOptions = storeOptionsFromUrl(loc.store, loc.dataDir);
    const events = await openEventBus(storeOptions);
    try {
      for (const r of out) await events.publish({ type: 'certificate.revoked', serial: r.serial });
    } finally {
      await events.close();
    }
    return out;
  });
  if (o.format === 'json') {
    io.stdout(`${JSON.stringify({ ok: true, revoked: revoked.map(recordJson) }, null, 2)}\n`);
  } else {
    for (const r of revoked)
      io.stdout(
        `revoked ${r.serial} (${r.kind}, ${r.subject}): ${r.revocationReason ?? o.reason}\n`,
      );
    io.stdout(`the CRL is regenerated: ${join(pkiDir(loc.dataDir), PKI_FILES.crl)}\n`);
  }
  return 0;
}

function recordJson(r: CertificateRecord): Record<string, unknown> {
  return {
    serial: r.serial,
    kind: r.kind,
    subject: r.subject,
    notBefore: new Date(r.notBefore).toISOString(),
    notAfter: new Date(r.notAfter).toISOString(),
    revokedAt: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(),
    revocationReason: r.revocationReason,
  };
}

export interface CaListOptions extends CaLocationOptions {
  readonly kind?: CertificateKind;
  readonly revoked?: boolean;
  readonly format: OutputFormat;
}

function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f ? '?' : ch;
  }
  return out;
}

export async function caList(o: CaListOptions, io: Io): Promise<number> {
  const loc = resolveCaLocation(o);
  if (!existsSync(join(pkiDir(loc.dataDir), PKI_FILES.meta))) {
    throw new PkiError('ZT_PKI_CA_NOT_FOUND', `there is no CA in \`${loc.dataDir}\``, {
      help: 'create one with `ztgate ca init`',
    });
  }
  const records = await withStore(loc, false, (store) =>
    store.certificates.list({
      ...(o.kind !== undefined ? { kind: o.kind } : {}),
      ...(o.revoked !== undefined ? { revoked: o.revoked } : {}),
    }),
  );
  if (o.format === 'json') {
    io.stdout(`${JSON.stringify({ certificates: records.map(recordJson) }, null, 2)}\n`);
    return 0;
  }
  if (records.length === 0) {
    io.stdout('no certificates match\n');
    return 0;
  }
  const now = Date.now();
  const rows = [...records]
    .sort((a, b) => a.notBefore - b.notBefore)
    .map((r) => [
      r.serial,
      r.kind,
      r.revokedAt !== null
        ? `revoked (${r.revocationReason ?? 'unspecified'})`
        : r.notAfter < now
          ? 'expired'
          : 'valid',
      new Date(r.notAfter).toISOString().replace('.000Z', 'Z'),
      printable(r.subject),
    ]);
  const header = ['SERIAL', 'KIND', 'STATUS', 'NOT AFTER', 'SUBJECT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  io.stdout(`${[line(header), ...rows.map(line)].join('\n')}\n`);
  return 0;
}

export interface CaBundleOptions extends CaLocationOptions {
  readonly format: 'json' | 'pem';
}

export async function caBundle(o: CaBundleOptions, io: Io): Promise<number> {
  const loc = resolveCaLocation(o);
  const out = await withPki(loc, (pki) =>
    Promise.resolve(
      o.format === 'pem' ? pki.ca.rootPem : `${JSON.stringify(pki.bundle(), null, 2)}\n`,
    ),
  );
  io.stdout(out);
  return 0;
}

export interface CaRotateOptions extends CaLocationOptions {
  readonly rootPassphraseFile?: string;
  readonly format: OutputFormat;
}

export async function caRotate(o: CaRotateOptions, io: Io): Promise<number> {
  const loc = resolveCaLocation(o);
  const passphrase = await readPassphrase(o.rootPassphraseFile, io);
  const result = await withStore(loc, false, (store) =>
    rotateIntermediate({
      dataDir: loc.dataDir,
      store: store.certificates,
      ...(passphrase !== undefined ? { rootPassphrase: passphrase } : {}),
    }),
  );
  if (o.format === 'json') {
    io.stdout(`${JSON.stringify({ ok: true, intermediate: result }, null, 2)}\n`);
  } else {
    io.stdout(
      `new intermediate ${result.serial}, valid until ${result.notAfter}; the previous one (${result.previousSerial}) keeps verifying what it issued. Restart the server to issue with the new one.\n`,
    );
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// option parsers (a malformed value is a usage error: exit 2)

function choice<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(
      `expected ${allowed.map((a) => `\`${a}\``).join(', ')}, not \`${value}\``,
    );
  };
}

function list(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  ];
}

function ttl(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms === 0)
    throw new InvalidArgumentError(
      `expected a duration such as \`1h\` or \`30d\`, not \`${value}\``,
    );
  return ms;
}

const KINDS: Readonly<Record<string, CertificateKind>> = {
  server: 'server',
  device: 'device',
  svid: 'workload',
  workload: 'workload',
  ca: 'ca',
};

function withLocation(cmd: Command): Command {
  return cmd
    .option(
      '--config <file>',
      'config file (its `data_dir`, `store` and `public_url`); default $ZTGATE_CONFIG or ./ztgate.yaml',
    )
    .option('--data-dir <dir>', 'the data directory (overrides the config)')
    .option('--store <url>', '`sqlite` or a `postgres://` URL (overrides the config)');
}

interface LocationFlags {
  config?: string;
  dataDir?: string;
  store?: string;
}

function location(raw: LocationFlags): CaLocationOptions {
  return {
    ...(raw.config !== undefined ? { config: raw.config } : {}),
    ...(raw.dataDir !== undefined ? { dataDir: raw.dataDir } : {}),
    ...(raw.store !== undefined ? { store: raw.store } : {}),
  };
}

function defined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

export function registerCaCommands(program: Command, io: Io): void {
  const ca = program
    .command('ca')
    .description(
      'the internal certificate authority: server, device and SPIFFE workload certificates',
    );

  withLocation(ca.command('init'))
    .description('create the root and the online intermediate CA under <data_dir>/pki')
    .option(
      '--trust-domain <name>',
      "SPIFFE trust domain (default: the config's pki.trust_domain, else the host of public_url)",
    )
    .option(
      '--crl-url <url>',
      'CRL distribution point written into certificates (default: {public_url}/pki/crl)',
    )
    .option(
      '--root-passphrase-file <file>',
      'encrypt the root key with the passphrase in FILE (0600), or `-` for standard input',
    )
    .option(
      '--root-key-out <file>',
      'write the root key there instead of <data_dir>/pki/root.key (removable media)',
    )
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(
      async (
        raw: LocationFlags & {
          trustDomain?: string;
          crlUrl?: string;
          rootPassphraseFile?: string;
          rootKeyOut?: string;
          format: OutputFormat;
        },
      ) => runCommand(io, raw.format, () => caInit({ ...location(raw), ...defined(raw) }, io)),
    );

  withLocation(ca.command('issue'))
    .description('issue a certificate from a CSR and print the PEM chain (leaf, intermediate)')
    .requiredOption('--type <type>', '`server`, `device` or `svid`', choice(CERTIFICATE_TYPES))
    .option(
      '--csr <file>',
      'PKCS#10 request, PEM or DER (`-` for standard input): the private key stays with its owner',
    )
    .option(
      '--generate-key',
      'generate a P-256 key here instead (convenience; the CSR path is the secure one)',
    )
    .option('--key-out <file>', 'with --generate-key: where to write the new private key (0600)')
    .option('--dns <names>', 'server: DNS names, comma-separated or repeated', list)
    .option('--ip <addresses>', 'server: IP addresses, comma-separated or repeated', list)
    .option('--device <id>', 'device: the device id')
    .option('--user <id>', 'device: the user the device belongs to')
    .option('--spiffe-id <uri>', 'svid: spiffe://trust-domain/path')
    .option(
      '--ttl <duration>',
      "lifetime (default: the config's pki.*_ttl; server and device 30d, svid 1h)",
      ttl,
    )
    .option('--requester <name>', 'issue on behalf of this requester, under the issuance policy')
    .option('--policy <file>', 'issuance policy (default <data_dir>/pki/issuance-policy.yaml)')
    .option('--out <file>', 'write the PEM chain to FILE instead of standard output')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(
      async (
        raw: LocationFlags & {
          type: CertificateType;
          csr?: string;
          generateKey?: boolean;
          keyOut?: string;
          dns?: string[];
          ip?: string[];
          device?: string;
          user?: string;
          spiffeId?: string;
          ttl?: number;
          requester?: string;
          policy?: string;
          out?: string;
          format: OutputFormat;
        },
      ) => runCommand(io, raw.format, () => caIssue({ ...location(raw), ...defined(raw) }, io)),
    );

  withLocation(ca.command('revoke'))
    .description(
      'revoke a certificate by serial, or every certificate of a subject; regenerates the CRL',
    )
    .option('--serial <hex>', 'the serial number (hex, `:` separators allowed)')
    .option(
      '--subject <name>',
      'the recorded subject: first DNS name, urn:ztgate:device:<id> or the SPIFFE ID',
    )
    .option(
      '--reason <reason>',
      `one of ${REVOCATION_REASONS.join(', ')}`,
      choice(REVOCATION_REASONS),
      'unspecified',
    )
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(
      async (
        raw: LocationFlags & {
          serial?: string;
          subject?: string;
          reason: RevocationReason;
          format: OutputFormat;
        },
      ) => runCommand(io, raw.format, () => caRevoke({ ...location(raw), ...defined(raw) }, io)),
    );

  withLocation(ca.command('list'))
    .description('list the certificates the CA issued')
    .option('--type <type>', '`server`, `device`, `svid` or `ca`', choice(Object.keys(KINDS)))
    .option('--revoked', 'only revoked certificates')
    .option('--active', 'only certificates not revoked')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(
      async (
        raw: LocationFlags & {
          type?: string;
          revoked?: boolean;
          active?: boolean;
          format: OutputFormat;
        },
      ) =>
        runCommand(io, raw.format, () => {
          if (raw.revoked && raw.active)
            throw new ZtError('ZT_CLI_USAGE', 'give `--revoked` or `--active`, not both');
          return caList(
            {
              ...location(raw),
              format: raw.format,
              ...(raw.type !== undefined ? { kind: KINDS[raw.type] as CertificateKind } : {}),
              ...(raw.revoked ? { revoked: true } : raw.active ? { revoked: false } : {}),
            },
            io,
          );
        }),
    );

  withLocation(ca.command('bundle'))
    .description(
      'print the SPIFFE trust bundle (JWKS, as served at {public_url}/pki/bundle) or the root as PEM',
    )
    .option(
      '--format <format>',
      '`json` (the SPIFFE bundle) or `pem` (the root certificate)',
      choice(['json', 'pem'] as const),
      'json',
    )
    .action(async (raw: LocationFlags & { format: 'json' | 'pem' }) =>
      runCommand(io, raw.format === 'json' ? 'json' : 'text', () =>
        caBundle({ ...location(raw), format: raw.format }, io),
      ),
    );

  withLocation(ca.command('rotate'))
    .description('sign a new intermediate with the root key (bring the root key online for this)')
    .option(
      '--root-passphrase-file <file>',
      'the root key passphrase in FILE (0600), or `-` for standard input',
    )
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(async (raw: LocationFlags & { rootPassphraseFile?: string; format: OutputFormat }) =>
      runCommand(io, raw.format, () => caRotate({ ...location(raw), ...defined(raw) }, io)),
    );
}
