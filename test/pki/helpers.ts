/**
 * Helpers for the PKI tests: a throwaway CA in a temporary directory, CSRs made with node:crypto
 * or the real `openssl`, the `ztgate ca` commands run in-process (src/cli/main.ts wires them into
 * the `ztgate` program; until then tests build the same program around `registerCaCommands`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command, CommanderError } from 'commander';
import { registerCaCommands } from '../../src/cli/ca.js';
import { EXIT_OK, EXIT_USAGE, ExitRequest, reportError, type Io } from '../../src/cli/output.js';
import {
  createCsr,
  generateP256,
  initCa,
  IssuancePolicy,
  Pki,
  type InitCaResult,
} from '../../src/pki/index.js';
import { MemoryCertificateStore } from '../../src/pki/memory-store.js';

export const execFileP = promisify(execFile);

export const OPERATOR = { requester: 'operator', policy: IssuancePolicy.unrestricted() } as const;

export function tempDir(prefix = 'ztgate-pki-'): {
  dir: string;
  path: (n: string) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    path: (n) => join(dir, n),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TestCa {
  readonly dataDir: string;
  readonly dir: string;
  readonly store: MemoryCertificateStore;
  readonly pki: Pki;
  readonly init: InitCaResult;
  readonly path: (name: string) => string;
  readonly rootFile: string;
  readonly intermediateFile: string;
  cleanup(): void;
}

export async function testCa(
  options: { trustDomain?: string; now?: () => number; crlValidityMs?: number } = {},
): Promise<TestCa> {
  const t = tempDir();
  const dataDir = join(t.dir, 'data');
  const store = new MemoryCertificateStore();
  const init = await initCa({
    dataDir,
    trustDomain: options.trustDomain ?? 'example.org',
    crlUrl: 'https://auth.localhost:8443/pki/crl',
    store,
    ...(options.now ? { now: options.now } : {}),
  });
  const pki = await Pki.open({
    dataDir,
    store,
    ...(options.now ? { now: options.now } : {}),
    ...(options.crlValidityMs !== undefined ? { crlValidityMs: options.crlValidityMs } : {}),
  });
  return {
    dataDir,
    dir: t.dir,
    store,
    pki,
    init,
    path: t.path,
    rootFile: init.root.file,
    intermediateFile: init.intermediate.file,
    cleanup: () => {
      pki.close();
      t.cleanup();
    },
  };
}

/** A fresh P-256 key and a PEM CSR for it, made with node:crypto. */
export async function keyAndCsr(): Promise<{ keyPem: string; csr: string }> {
  const { privateKey, publicKey } = generateP256();
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    csr: await createCsr(privateKey, publicKey),
  };
}

/** A key and CSR made by the real `openssl` (files in `dir`). */
export async function opensslKeyAndCsr(
  dir: string,
  name: string,
  subj = '/CN=test',
): Promise<{ keyFile: string; csrFile: string }> {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  await execFileP('openssl', [
    'ecparam',
    '-name',
    'prime256v1',
    '-genkey',
    '-noout',
    '-out',
    keyFile,
  ]);
  await execFileP('openssl', ['req', '-new', '-key', keyFile, '-subj', subj, '-out', csrFile]);
  return { keyFile, csrFile };
}

export function write(dir: string, name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ztgate <args>` in-process with the `ca` commands registered, as src/cli/main.ts does. */
export async function runCli(
  args: readonly string[],
  options: { stdin?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    stdin: () => Promise.resolve(options.stdin ?? ''),
  };
  const program = new Command('ztgate')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  registerCaCommands(program, io);
  let code: number;
  try {
    await program.parseAsync([...args], { from: 'user' });
    code = EXIT_OK;
  } catch (err) {
    if (err instanceof ExitRequest) code = err.exitCode;
    else if (err instanceof CommanderError) code = err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    else code = reportError(err, io, 'text');
  }
  return { code, stdout, stderr };
}
