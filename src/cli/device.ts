/**
 * `ztgate device list|show|revoke|enroll-code`: the device inventory. Every subcommand reads
 * `--config` (default `$ZTGATE_CONFIG` or ./ztgate.yaml) for `data_dir` and `store`, and prints JSON
 * with `--format json`. `revoke` publishes `device.revoked` to every replica (PostgreSQL) and
 * revokes the certificate through the CA when one is wired. `enroll-code` is the operator's way to
 * hand a user a one-time enrollment code (the portal offers the same to signed-in users).
 */
import { existsSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { defaultConfigPath, loadConfigFile } from '../config/load.js';
import { issueEnrollmentCode } from '../device/enroll/codes.js';
import type { DeviceCertificateIssuer, RevocationReason } from '../device/enroll/issuer.js';
import { listDevices, revokeDevice, showDevice, type DeviceSummary } from '../device/inventory.js';
import type { PostureHistoryStore } from '../device/report/history.js';
import {
  deviceSettingsFrom,
  type DevicesConfig,
  type DeviceTrustSettings,
} from '../device/settings.js';
import { parseDuration } from '../shared/duration.js';
import { ZtError } from '../shared/errors.js';
import { openEventBus, type EventBus } from '../store/events/index.js';
import { AuditWriter } from '../audit/writer.js';
import { defaultAuditKeyPath, loadAuditSigningKey } from '../audit/signing-key.js';
import { caExists } from '../pki/ca/store-files.js';
import { Pki } from '../pki/pki.js';
import { openStore, storeOptionsFromUrl, type StoreOptions } from '../store/open.js';
import type { DeviceState, Store } from '../store/store.js';
import { formatTable } from './audit.js';
import { parseFormat, runCommand, type Io, type OutputFormat } from './output.js';

/** What the composition root may inject (tests; settings default to the config's `devices:`). */
/**
 * The internal CA as the device certificate issuer, opened only when a certificate is revoked
 * (`device revoke` revokes the device's certificate too); undefined when there is no CA here.
 */
function caIssuer(
  store: Store,
  dataDir: string,
  events: Pick<EventBus, 'publish'>,
): DeviceCertificateIssuer | undefined {
  if (!caExists(dataDir)) return undefined;
  return {
    issueDeviceCertificate: () =>
      Promise.reject(new Error('the command line does not issue device certificates')),
    revokeCertificate: async (serial, reason) => {
      const pki = await Pki.open({ dataDir, store: store.certificates });
      try {
        for (const r of await pki.revoke({ serial }, reason)) {
          // running servers refuse the certificate at the TLS layer at once
          await events.publish({ type: 'certificate.revoked', serial: r.serial });
        }
      } finally {
        pki.close();
      }
    },
  };
}

export interface DeviceCliDeps {
  readonly settings?: (configFile: string) => DeviceTrustSettings;
  readonly issuer?: (store: Store, dataDir: string) => DeviceCertificateIssuer | undefined;
  readonly history?: PostureHistoryStore;
  readonly now?: () => number;
}

interface Common {
  readonly config?: string;
  readonly format: OutputFormat;
}

const STATES: readonly DeviceState[] = ['pending', 'active', 'revoked'];
const REASONS: readonly RevocationReason[] = [
  'cessationOfOperation',
  'keyCompromise',
  'superseded',
  'affiliationChanged',
];

function choice<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(
      `expected ${allowed.map((a) => `\`${a}\``).join(', ')}, not \`${value}\``,
    );
  };
}

function limitOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000)
    throw new InvalidArgumentError(`expected a whole number from 1 to 1000, not \`${value}\``);
  return n;
}

function ttlOption(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 60_000 || ms > 86_400_000)
    throw new InvalidArgumentError(`expected a duration from 1m to 24h, not \`${value}\``);
  return ms;
}

async function withDeviceStore<T>(
  opts: Common,
  work: (
    store: Store,
    options: StoreOptions,
    file: string,
    dataDir: string,
    devices: DevicesConfig,
  ) => Promise<T>,
): Promise<T> {
  const file = opts.config ?? defaultConfigPath(process.env);
  const { config } = loadConfigFile(file, { readSecrets: false });
  const storeOptions = storeOptionsFromUrl(config.store, config.data_dir, { create: false });
  const store = await openStore(storeOptions);
  try {
    return await work(store, storeOptions, file, config.data_dir, config.devices);
  } finally {
    await store.close();
  }
}

/** Control characters from device-supplied fields (host names) must not reach a terminal. */
function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f ? '?' : ch;
  }
  return out;
}

function rowOf(d: DeviceSummary): string[] {
  return [
    d.id,
    d.user_id,
    d.hostname,
    d.os,
    d.state,
    d.tier ?? '-',
    d.last_report_at ?? 'never',
    d.state !== 'active' ? '-' : d.stale ? 'stale' : 'fresh',
  ].map(printable);
}

export function registerDeviceCommands(program: Command, io: Io, deps: DeviceCliDeps = {}): void {
  const now = deps.now ?? Date.now;
  const settingsFor = (file: string, devices: DevicesConfig): DeviceTrustSettings =>
    deps.settings?.(file) ?? deviceSettingsFrom(devices);
  const device = program.command('device').description('list, inspect and revoke enrolled devices');

  device
    .command('list')
    .description('list devices with their state, trust tier and posture freshness')
    .option('--config <file>', 'config file (default: $ZTGATE_CONFIG or ./ztgate.yaml)')
    .option('--user <id>', 'only the devices of this user')
    .option(
      '--state <state>',
      'only devices in this state: pending, active or revoked',
      choice(STATES),
    )
    .option('--limit <n>', 'at most this many (1-1000)', limitOption)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(
      async (
        opts: Common & { user?: string; state?: DeviceState; limit?: number; cursor?: string },
      ) =>
        runCommand(io, opts.format, () =>
          withDeviceStore(opts, async (store, _o, file, _dataDir, devices) => {
            const page = await listDevices(store.devices, {
              now: now(),
              settings: settingsFor(file, devices),
              ...(opts.user !== undefined ? { user: opts.user } : {}),
              ...(opts.state !== undefined ? { state: opts.state } : {}),
              ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
              ...(opts.cursor !== undefined ? { cursor: opts.cursor } : {}),
            });
            if (opts.format === 'json') {
              io.stdout(`${JSON.stringify(page, null, 2)}\n`);
            } else if (page.devices.length === 0) {
              io.stdout('no devices\n');
            } else {
              io.stdout(
                formatTable(
                  ['ID', 'USER', 'HOSTNAME', 'OS', 'STATE', 'TIER', 'LAST REPORT', 'POSTURE'],
                  page.devices.map(rowOf),
                ),
              );
              if (page.next_cursor) io.stdout(`more: --cursor ${page.next_cursor}\n`);
            }
          }),
        ),
    );

  device
    .command('show')
    .description('show one device: facts policies see, missing attributes and why, tiers, history')
    .argument('<id>', 'the device id')
    .option('--config <file>', 'config file (default: $ZTGATE_CONFIG or ./ztgate.yaml)')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(async (id: string, opts: Common) =>
      runCommand(io, opts.format, () =>
        withDeviceStore(opts, async (store, _o, file, _dataDir, devices) => {
          const d = await showDevice(store.devices, id, {
            now: now(),
            settings: settingsFor(file, devices),
            ...(deps.history ? { history: deps.history } : {}),
          });
          if (opts.format === 'json') {
            io.stdout(`${JSON.stringify(d, null, 2)}\n`);
            return;
          }
          const lines = [
            `device       ${d.id}`,
            `user         ${d.user_id}`,
            `hostname     ${d.hostname}`,
            `os           ${d.os}`,
            `state        ${d.state}`,
            `enrolled     ${d.enrolled_at}`,
            `certificate  ${d.certificate_serial ?? '-'}`,
            `managed      ${d.managed ? 'yes' : 'no'}`,
            `tier         ${d.tier ?? '-'}`,
            `last report  ${d.last_report_at ?? 'never'}${d.state === 'active' && d.stale ? ' (stale: posture unknown)' : ''}`,
            'posture:',
            ...Object.entries(d.posture).map(([k, v]) => `  ${k} = ${JSON.stringify(v)}`),
            ...(Object.keys(d.unavailable).length
              ? ['not reported:', ...Object.entries(d.unavailable).map(([k, v]) => `  ${k}: ${v}`)]
              : []),
            ...(d.tiers.length
              ? [
                  'tiers:',
                  ...d.tiers.map(
                    (t) =>
                      `  ${t.name}: ${t.missing.length === 0 ? 'meets' : `needs ${t.missing.join('; ')}`}`,
                  ),
                ]
              : []),
          ];
          io.stdout(`${lines.map(printable).join('\n')}\n`);
        }),
      ),
    );

  device
    .command('revoke')
    .description('revoke a device: access from it ends at once on every replica')
    .argument('<id>', 'the device id')
    .option('--config <file>', 'config file (default: $ZTGATE_CONFIG or ./ztgate.yaml)')
    .option(
      '--reason <reason>',
      'certificate revocation reason (default cessationOfOperation)',
      choice(REASONS),
    )
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(async (id: string, opts: Common & { reason?: RevocationReason }) =>
      runCommand(io, opts.format, () =>
        withDeviceStore(opts, async (store, storeOptions, _file, dataDir) => {
          const events = await openEventBus(storeOptions);
          // the change is recorded in the same hash chain as the server's records (appends are
          // serialized by the database), signed like them when the data directory has the key
          const keyPath = defaultAuditKeyPath(dataDir);
          const audit = new AuditWriter(store.audit, {
            ...(existsSync(keyPath) ? { signingKey: loadAuditSigningKey(keyPath) } : {}),
          });
          try {
            const issuer = deps.issuer
              ? deps.issuer(store, dataDir)
              : caIssuer(store, dataDir, events);
            const outcome = await revokeDevice(id, {
              devices: store.devices,
              now: now(),
              events,
              audit,
              ...(issuer ? { issuer } : {}),
              actor: { service: 'operator' },
              ...(opts.reason ? { reason: opts.reason } : {}),
            });
            if (opts.format === 'json') {
              io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
            } else {
              io.stdout(
                `${outcome.changed ? 'revoked' : 'already revoked'} ${printable(id)}` +
                  `${outcome.certificate_revoked ? '; certificate revoked' : ''}\n`,
              );
            }
          } finally {
            await audit.close();
            await events.close();
          }
        }),
      ),
    );

  device
    .command('enroll-code')
    .description(
      'issue a one-time enrollment code for a user; prints only the code on standard output',
    )
    .requiredOption(
      '--user <email>',
      'the user the device will belong to (must exist and be enabled)',
    )
    .option(
      '--ttl <duration>',
      'lifetime of the code, 1m to 24h (default: devices.enroll_code_ttl)',
      ttlOption,
    )
    .option('--config <file>', 'config file (default: $ZTGATE_CONFIG or ./ztgate.yaml)')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(async (opts: Common & { user: string; ttl?: number }) =>
      runCommand(io, opts.format, () =>
        withDeviceStore(opts, async (store, _o, file, _dataDir, devices) => {
          const user =
            (await store.users.getByEmail(opts.user)) ?? (await store.users.get(opts.user));
          if (!user || user.disabled)
            throw new ZtError('ZT_IDENTITY_USER_UNKNOWN', `no enabled user is \`${opts.user}\``, {
              help: 'add the user with `ztgate user add`, or enable them with `ztgate user enable`',
            });
          const issued = await issueEnrollmentCode(store.enrollmentCodes, user, {
            now: now(),
            ttlMs: opts.ttl ?? settingsFor(file, devices).enrollCodeTtlMs,
          });
          const expiresAt = new Date(issued.expiresAt).toISOString();
          if (opts.format === 'json') {
            io.stdout(
              `${JSON.stringify({ code: issued.code, user_id: user.id, email: user.email, expires_at: expiresAt }, null, 2)}\n`,
            );
          } else {
            // only the code on stdout, so that scripts can take it; the rest is for the operator
            io.stdout(`${issued.code}\n`);
            io.stderr(
              `enrollment code for ${printable(user.email)}, usable once until ${expiresAt}: on the device run \`ztgate agent enroll --server <public_url> --code -\`\n`,
            );
          }
        }),
      ),
    );
}
