/**
 * `ztgate agent enroll`: asks which user the code is for (unless told), makes the device key and
 * CSR on the device, sends them with the code, checks that the certificate that comes back is for
 * its key, and stores key, certificate and settings in the agent directory (0600 in 0700).
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { DeviceError } from '../errors.js';
import type { Platform } from './collectors/types.js';
import { postJson, parseServerUrl } from './client.js';
import { createDeviceKeyAndCsr } from './csr.js';
import { AGENT_FILES, AgentDirectory, type AgentConfig } from './files.js';

export interface EnrollAgentOptions {
  readonly server: string;
  readonly code: string;
  readonly dir: string;
  readonly platform: Platform;
  /** the user the code is for; asked from the server when absent */
  readonly user?: string | undefined;
  /** PEM CA bundle for the server certificate */
  readonly ca?: string | undefined;
  readonly hostname?: string | undefined;
  /** replace an existing enrollment */
  readonly force?: boolean;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

export interface EnrolledAgent {
  readonly deviceId: string;
  readonly userId: string;
  readonly serial: string;
  readonly notAfter: string;
  readonly dir: string;
}

function str(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '')
    throw new DeviceError('ZT_DEVICE_SERVER_REFUSED', `the server answer has no \`${key}\``);
  return v;
}

/** A host name the server accepts: the first label rules, unusual characters become `-`. */
export function agentHostname(raw: string = osHostname()): string {
  const h = raw
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 253);
  return h === '' ? 'unknown' : h;
}

export async function enrollAgent(options: EnrollAgentOptions): Promise<EnrolledAgent> {
  const server = parseServerUrl(options.server).toString().replace(/\/$/, '');
  const dir = new AgentDirectory(options.dir);
  dir.ensure();
  if (dir.exists(AGENT_FILES.config) && !options.force) {
    throw new DeviceError(
      'ZT_DEVICE_AGENT_FILES',
      `this agent directory already holds an enrolled device`,
      {
        help: 'give `--force` to enroll again (the old certificate stops working), or another `--dir`',
      },
    );
  }
  const conn = { server, ca: options.ca, timeoutMs: options.timeoutMs ?? 15_000 };
  let userId = options.user;
  if (!userId) {
    const found = await postJson(conn, '/api/device/enroll/code', { code: options.code });
    userId = str(found.body, 'user_id');
  }
  const { keyPem, csrPem } = await createDeviceKeyAndCsr(userId);
  const answer = await postJson(conn, '/api/device/enroll', {
    code: options.code,
    csr: csrPem,
    device: { hostname: agentHostname(options.hostname), os: options.platform },
  });
  const body = answer.body;
  const certificate = str(body, 'certificate');
  const chain = typeof body.chain === 'string' ? body.chain : '';
  // the certificate must be for the key made here
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate);
  } catch {
    throw new DeviceError(
      'ZT_DEVICE_SERVER_REFUSED',
      'the server returned an unreadable certificate',
    );
  }
  const mine = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  if (!mine.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new DeviceError(
      'ZT_DEVICE_SERVER_REFUSED',
      'the server returned a certificate for another key',
    );
  }
  const agent = (body.agent ?? {}) as Record<string, unknown>;
  const config: AgentConfig = {
    v: 1,
    server,
    device_id: str(body, 'device_id'),
    user_id: str(body, 'user_id'),
    enrolled_at: new Date((options.now ?? Date.now)()).toISOString(),
    report_interval_s: typeof agent.report_interval_s === 'number' ? agent.report_interval_s : 60,
    posture_ttl_s: typeof agent.posture_ttl_s === 'number' ? agent.posture_ttl_s : 300,
    edr_processes: Array.isArray(agent.edr_processes)
      ? agent.edr_processes.filter((p): p is string => typeof p === 'string')
      : [],
  };
  if (options.ca) dir.write(AGENT_FILES.serverCa, options.ca);
  dir.writeIdentity(keyPem, `${certificate.trim()}\n${chain.trim() ? `${chain.trim()}\n` : ''}`);
  dir.writeConfig(config);
  dir.writeState({ seq: 0, last_fingerprint: null, last_sent_at: null });
  return {
    deviceId: config.device_id,
    userId: config.user_id,
    serial: cert.serialNumber.toLowerCase(),
    notAfter: new Date(cert.validTo).toISOString(),
    dir: options.dir,
  };
}
