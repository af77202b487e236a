/**
 * The agent's directory: its key, certificate and state, all mode 0600 in a 0700 directory,
 * written atomically (temporary file, fsync, rename) so that a crash never leaves half a file.
 *
 * | file           | what                                                           |
 * |----------------|----------------------------------------------------------------|
 * | agent.json     | server URL, device and user ids, settings the server sent      |
 * | state.json     | the last report's sequence number and fingerprint              |
 * | device.key     | the device's private key (PKCS#8 PEM); never leaves the device |
 * | device.crt     | the device certificate followed by its CA chain (PEM)          |
 * | server-ca.pem  | the CA that signs the server's certificate, when given         |
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DeviceError, quote } from '../errors.js';
import { normalizeSerial } from '../x509.js';

export const AGENT_FILES = {
  config: 'agent.json',
  state: 'state.json',
  key: 'device.key',
  cert: 'device.crt',
  serverCa: 'server-ca.pem',
} as const;

export interface AgentConfig {
  readonly v: 1;
  /** `https://auth.example.com` */
  readonly server: string;
  readonly device_id: string;
  readonly user_id: string;
  readonly enrolled_at: string;
  readonly report_interval_s: number;
  readonly posture_ttl_s: number;
  readonly edr_processes: readonly string[];
}

export interface AgentState {
  readonly seq: number;
  /** fingerprint of the last report sent (attributes and reasons), to send at once on a change */
  readonly last_fingerprint: string | null;
  /** ms */
  readonly last_sent_at: number | null;
}

export function defaultAgentDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const fromEnv = env.ZTGATE_AGENT_DIR;
  if (fromEnv) return fromEnv;
  if (
    process.platform === 'linux' &&
    typeof process.getuid === 'function' &&
    process.getuid() === 0
  )
    return '/var/lib/ztgate-agent';
  if (process.platform === 'win32' && env.ProgramData) return join(env.ProgramData, 'ztgate-agent');
  return join(homedir(), '.ztgate-agent');
}

function filesError(message: string, help?: string): DeviceError {
  return new DeviceError('ZT_DEVICE_AGENT_FILES', message, help ? { help } : undefined);
}

const POSIX = process.platform !== 'win32';

export class AgentDirectory {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Creates the directory (0700) or checks an existing one. */
  ensure(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw filesError(
        `the agent directory ${quote(this.dir)} cannot be created: ${(err as Error).message}`,
      );
    }
    this.checkMode(this.dir, 0o077, 'directory', '700');
  }

  private checkMode(path: string, forbidden: number, what: string, mode: string): void {
    if (!POSIX) return;
    const st = statSync(path);
    if ((st.mode & forbidden) !== 0) {
      throw filesError(
        `the agent ${what} ${quote(path)} is accessible by group or others`,
        `run \`chmod ${mode} ${path}\``,
      );
    }
  }

  exists(name: string): boolean {
    return existsSync(this.path(name));
  }

  /** Writes a file with mode 0600, atomically. */
  write(name: string, content: string): void {
    const final = this.path(name);
    const tmp = `${final}.tmp-${process.pid}`;
    try {
      rmSync(tmp, { force: true });
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, content);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, final);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw filesError(`${quote(final)} cannot be written: ${(err as Error).message}`);
    }
  }

  /** Reads a file, refusing one that group or others may read or write. */
  read(name: string): string {
    const path = this.path(name);
    try {
      this.checkMode(path, 0o077, 'file', '600');
      return readFileSync(path, 'utf8');
    } catch (err) {
      if (err instanceof DeviceError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new DeviceError(
          'ZT_DEVICE_AGENT_NOT_ENROLLED',
          `${quote(path)} does not exist: this device is not enrolled`,
          {
            help: 'run `ztgate agent enroll --server URL --code CODE` (with the same `--dir`)',
          },
        );
      }
      throw filesError(`${quote(path)} cannot be read: ${(err as Error).message}`);
    }
  }

  readJson(name: string): Record<string, unknown> {
    const text = this.read(name);
    try {
      const v: unknown = JSON.parse(text);
      if (v !== null && typeof v === 'object' && !Array.isArray(v))
        return v as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw filesError(`${quote(this.path(name))} is not a JSON object`, 'enroll the device again');
  }

  readConfig(): AgentConfig {
    const c = this.readJson(AGENT_FILES.config);
    if (
      c.v !== 1 ||
      typeof c.server !== 'string' ||
      typeof c.device_id !== 'string' ||
      typeof c.user_id !== 'string' ||
      typeof c.report_interval_s !== 'number' ||
      !Array.isArray(c.edr_processes)
    ) {
      throw filesError(
        `${quote(this.path(AGENT_FILES.config))} is malformed`,
        'enroll the device again',
      );
    }
    return c as unknown as AgentConfig;
  }

  writeConfig(config: AgentConfig): void {
    this.write(AGENT_FILES.config, `${JSON.stringify(config, null, 2)}\n`);
  }

  readState(): AgentState {
    if (!this.exists(AGENT_FILES.state))
      return { seq: 0, last_fingerprint: null, last_sent_at: null };
    const s = this.readJson(AGENT_FILES.state);
    return {
      seq: typeof s.seq === 'number' && Number.isSafeInteger(s.seq) && s.seq >= 0 ? s.seq : 0,
      last_fingerprint: typeof s.last_fingerprint === 'string' ? s.last_fingerprint : null,
      last_sent_at: typeof s.last_sent_at === 'number' ? s.last_sent_at : null,
    };
  }

  writeState(state: AgentState): void {
    this.write(AGENT_FILES.state, `${JSON.stringify(state)}\n`);
  }

  /**
   * The key and certificate for mutual TLS. A renewal writes `*.next` files first and then renames
   * them; if it was cut in between, the pair that belongs together is used and the rename finished.
   */
  readIdentity(): DeviceIdentity {
    const pairs: [string, string][] = [
      [AGENT_FILES.key, AGENT_FILES.cert],
      [`${AGENT_FILES.key}.next`, `${AGENT_FILES.cert}.next`],
    ];
    let firstError: unknown;
    for (const [keyName, certName] of pairs) {
      if (!this.exists(keyName) || !this.exists(certName)) continue;
      try {
        const identity = parseIdentity(this.read(keyName), this.read(certName));
        if (keyName.endsWith('.next')) {
          renameSync(this.path(keyName), this.path(AGENT_FILES.key));
          renameSync(this.path(certName), this.path(AGENT_FILES.cert));
        }
        return identity;
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError instanceof DeviceError) throw firstError;
    if (firstError)
      throw filesError(
        `the device key and certificate do not belong together`,
        'enroll the device again',
      );
    return parseIdentity(this.read(AGENT_FILES.key), this.read(AGENT_FILES.cert));
  }

  /** Stores a new key and certificate (enrollment or renewal). */
  writeIdentity(keyPem: string, certPem: string): void {
    parseIdentity(keyPem, certPem);
    this.write(`${AGENT_FILES.key}.next`, keyPem);
    this.write(`${AGENT_FILES.cert}.next`, certPem);
    renameSync(this.path(`${AGENT_FILES.key}.next`), this.path(AGENT_FILES.key));
    renameSync(this.path(`${AGENT_FILES.cert}.next`), this.path(AGENT_FILES.cert));
  }

  readServerCa(): string | undefined {
    return this.exists(AGENT_FILES.serverCa) ? this.read(AGENT_FILES.serverCa) : undefined;
  }
}

export interface DeviceIdentity {
  readonly keyPem: string;
  /** leaf first, then the chain */
  readonly certPem: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Checks that the key is the certificate's; returns its dates. */
export function parseIdentity(keyPem: string, certPem: string): DeviceIdentity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw filesError('the device certificate cannot be read', 'enroll the device again');
  }
  try {
    const pub = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    if (!pub.equals(cert.publicKey.export({ type: 'spki', format: 'der' })))
      throw new Error('mismatch');
  } catch {
    throw filesError(
      'the device key does not match the device certificate',
      'enroll the device again',
    );
  }
  return {
    keyPem,
    certPem,
    serial: normalizeSerial(cert.serialNumber) ?? cert.serialNumber.toLowerCase(),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
  };
}
