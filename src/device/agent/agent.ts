/**
 * `ztgate agent run`: collects posture, reports it over mutual TLS with the device certificate
 * every `report_interval` (60 s by default) and at once when it changed, and renews the
 * certificate when two thirds of its life have passed.
 *
 * Each report carries a sequence number `max(last + 1, now in ms)`, stored in `state.json` before
 * the report is sent: it never repeats, even across restarts, and the server refuses any report
 * whose number is not above the last it accepted. Collection happens every `check_interval` (15 s);
 * a report whose attributes or reasons differ from the last one sent goes out at once.
 * The first report after start is sent at once. On a network error the agent retries with backoff (up to the report interval); a revoked device
 * or an unknown certificate stops it.
 */
import { createHash } from 'node:crypto';
import { DeviceError } from '../errors.js';
import { REPORT_VERSION, type PostureReport } from '../posture/report.js';
import { runCollectors, type CollectionResult } from './collectors/run.js';
import type { Collector, CollectorContext } from './collectors/types.js';
import { postJson, serverCodeOf, type ServerConnection } from './client.js';
import { createDeviceKeyAndCsr } from './csr.js';
import { AgentDirectory, type AgentConfig, type DeviceIdentity } from './files.js';

export const DEFAULT_CHECK_INTERVAL_MS = 15_000;

export interface PostureAgentOptions {
  readonly dir: string;
  readonly collectors: readonly Collector[];
  /** the collector context, given the EDR names in force (from the server or the command line) */
  readonly context: (edrProcesses: readonly string[]) => CollectorContext;
  readonly now?: () => number;
  /** overrides the server's `report_interval` */
  readonly reportIntervalMs?: number;
  readonly checkIntervalMs?: number;
  /** overrides the server's `edr_processes` */
  readonly edrProcesses?: readonly string[];
  readonly log?: (line: string) => void;
  readonly timeoutMs?: number;
}

export interface ReportResult {
  readonly sent: boolean;
  readonly report: PostureReport;
  readonly collection: CollectionResult;
  readonly tier?: string | null;
  readonly changes?: readonly string[];
}

/** A stable fingerprint of what a report says (not when): attributes and reasons, keys sorted. */
export function postureFingerprint(
  attributes: Readonly<Record<string, unknown>>,
  unavailable: Readonly<Record<string, string>>,
): string {
  const sorted = (o: Readonly<Record<string, unknown>>): [string, unknown][] =>
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]);
  return createHash('sha256')
    .update(JSON.stringify([sorted(attributes), sorted(unavailable)]))
    .digest('hex');
}

const TERMINAL = new Set([
  'ZT_DEVICE_REVOKED',
  'ZT_DEVICE_CLIENT_CERT_UNKNOWN',
  'ZT_DEVICE_CLIENT_CERT_REQUIRED',
]);

export class PostureAgent {
  private readonly dir: AgentDirectory;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private config: AgentConfig;
  private identity: DeviceIdentity;
  private readonly serverCa: string | undefined;

  constructor(private readonly options: PostureAgentOptions) {
    this.dir = new AgentDirectory(options.dir);
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.config = this.dir.readConfig();
    this.identity = this.dir.readIdentity();
    this.serverCa = this.dir.readServerCa();
  }

  get deviceId(): string {
    return this.config.device_id;
  }

  get certificate(): DeviceIdentity {
    return this.identity;
  }

  reportIntervalMs(): number {
    return this.options.reportIntervalMs ?? Math.max(5, this.config.report_interval_s) * 1000;
  }

  private connection(): ServerConnection {
    return {
      server: this.config.server,
      ca: this.serverCa,
      keyPem: this.identity.keyPem,
      certPem: this.identity.certPem,
      timeoutMs: this.options.timeoutMs ?? 15_000,
    };
  }

  /** Collects posture (without sending). */
  async collect(): Promise<CollectionResult> {
    const edr = this.options.edrProcesses ?? this.config.edr_processes;
    return runCollectors(this.options.collectors, this.options.context(edr));
  }

  /**
   * Collects and sends when forced, when the posture changed since the last report, or when the
   * report interval has passed. With `dryRun`, builds the report and sends nothing.
   */
  async tick(options: { force?: boolean; dryRun?: boolean } = {}): Promise<ReportResult> {
    const collection = await this.collect();
    const state = this.dir.readState();
    const fingerprint = postureFingerprint(collection.attributes, collection.unavailable);
    const now = this.now();
    const due =
      options.force === true ||
      state.last_fingerprint !== fingerprint ||
      state.last_sent_at === null ||
      now - state.last_sent_at >= this.reportIntervalMs();
    const seq = Math.max(state.seq + 1, now);
    const report: PostureReport = {
      v: REPORT_VERSION,
      device_id: this.config.device_id,
      seq,
      sent_at: new Date(now).toISOString(),
      attributes: collection.attributes,
      unavailable: collection.unavailable,
    };
    if (!due || options.dryRun) return { sent: false, report, collection };
    // the number is spent before it is used: a crash after sending never reuses it
    this.dir.writeState({ ...state, seq });
    const answer = await postJson(this.connection(), '/api/device/report', report);
    this.dir.writeState({ seq, last_fingerprint: fingerprint, last_sent_at: now });
    const agent = answer.body.agent as Record<string, unknown> | undefined;
    this.adoptSettings(agent);
    const tier = typeof answer.body.tier === 'string' ? answer.body.tier : null;
    const changes = Array.isArray(answer.body.changes)
      ? answer.body.changes.filter((c): c is string => typeof c === 'string')
      : [];
    if (state.last_fingerprint !== fingerprint)
      this.log(
        `posture reported (seq ${seq}, tier ${tier ?? 'none'}${changes.length ? `, changed: ${changes.join(', ')}` : ''})`,
      );
    return { sent: true, report, collection, tier, changes };
  }

  private adoptSettings(agent: Record<string, unknown> | undefined): void {
    if (!agent) return;
    const interval = agent.report_interval_s;
    const edr = agent.edr_processes;
    const next: AgentConfig = {
      ...this.config,
      ...(typeof interval === 'number' && interval >= 5 && interval <= 86_400
        ? { report_interval_s: interval }
        : {}),
      ...(Array.isArray(edr)
        ? { edr_processes: edr.filter((e): e is string => typeof e === 'string').slice(0, 32) }
        : {}),
    };
    if (JSON.stringify(next) !== JSON.stringify(this.config)) {
      this.config = next;
      this.dir.writeConfig(next);
    }
  }

  /** Renews the certificate when two thirds of its lifetime have passed (or when forced). */
  async renewIfDue(force = false): Promise<boolean> {
    const { notBefore, notAfter } = this.identity;
    const now = this.now();
    if (!force && now < notBefore + ((notAfter - notBefore) * 2) / 3) return false;
    const { keyPem, csrPem } = await createDeviceKeyAndCsr(this.config.user_id);
    const answer = await postJson(this.connection(), '/api/device/renew', { csr: csrPem });
    const certificate = answer.body.certificate;
    const chain = typeof answer.body.chain === 'string' ? answer.body.chain : '';
    if (typeof certificate !== 'string')
      throw new DeviceError('ZT_DEVICE_SERVER_REFUSED', 'the renewal answer has no certificate');
    this.dir.writeIdentity(
      keyPem,
      `${certificate.trim()}\n${chain.trim() ? `${chain.trim()}\n` : ''}`,
    );
    this.identity = this.dir.readIdentity();
    this.log(
      `certificate renewed (serial ${this.identity.serial}, valid until ${new Date(this.identity.notAfter).toISOString()})`,
    );
    return true;
  }

  /**
   * Runs until `signal` aborts. Returns normally on abort; throws on a terminal refusal (device
   * revoked, certificate unknown).
   */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let first = true;
    while (!signal.aborted) {
      let wait = this.options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
      try {
        await this.renewIfDue();
        // at start the server hears at once that the agent runs (and the agent whether it may)
        await this.tick({ force: first });
        first = false;
        failures = 0;
      } catch (err) {
        const code = serverCodeOf(err);
        if (code && TERMINAL.has(code)) throw err;
        failures++;
        wait = Math.min(this.reportIntervalMs(), 1000 * 2 ** Math.min(failures, 8));
        this.log(
          `report failed (${failures}): ${err instanceof Error ? err.message : String(err)}; retrying in ${Math.round(wait / 1000)}s`,
        );
      }
      await sleep(wait, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
