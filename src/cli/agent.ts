/**
 * `ztgate agent enroll|run`: the posture agent on a device. `enroll` makes the device key and
 * gets its certificate with a one-time code; `run` reports posture over mutual TLS every
 * `report_interval` and at once on a change, and renews the certificate by itself.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { PostureAgent } from '../device/agent/agent.js';
import { collectorsFor, currentPlatform, hostContext } from '../device/agent/collectors/index.js';
import { postureFileCollector, readPostureFile } from '../device/agent/collectors/posture-file.js';
import type { CollectorContext, Platform } from '../device/agent/collectors/types.js';
import { enrollAgent } from '../device/agent/enroll.js';
import { defaultAgentDir } from '../device/agent/files.js';
import { DeviceError } from '../device/errors.js';
import { parseDuration } from '../shared/duration.js';
import { ZtError } from '../shared/errors.js';
import { parseFormat, runCommand, type Io, type OutputFormat } from './output.js';
import { version } from './version.js';

/** What tests inject: a fake platform and collector context instead of the real machine. */
export interface AgentCliDeps {
  readonly platform?: Platform;
  readonly context?: (edrProcesses: readonly string[]) => CollectorContext;
  readonly now?: () => number;
  /** ends `agent run` (default: SIGINT or SIGTERM) */
  readonly signal?: AbortSignal;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function intervalOption(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 5000 || ms > 86_400_000)
    throw new InvalidArgumentError(`expected a duration from 5s to 24h, not \`${value}\``);
  return ms;
}

function platformOf(deps: AgentCliDeps): Platform {
  const p = deps.platform ?? currentPlatform();
  if (!p)
    throw new DeviceError(
      'ZT_DEVICE_COLLECTOR_FAILED',
      `the agent does not support \`${process.platform}\``,
      { help: 'the agent runs on Linux, macOS and Windows' },
    );
  return p;
}

function readFileOption(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new ZtError('ZT_CLI_INPUT_INVALID', `cannot read the ${what} file \`${path}\``, {
      help: 'check the path and its permissions',
    });
  }
}

export function registerAgentCommands(program: Command, io: Io, deps: AgentCliDeps = {}): void {
  const agent = program
    .command('agent')
    .description('the device posture agent: enroll this device, report its posture');

  agent
    .command('enroll')
    .description('enroll this device with a one-time code from the portal')
    .requiredOption('--server <url>', 'the ztgate server, e.g. https://auth.example.com')
    .requiredOption('--code <code>', 'the enrollment code (or - to read it from standard input)')
    .option('--user <id>', 'the user the code belongs to (default: asked from the server)')
    .option(
      '--ca <file>',
      'PEM file of the CA that signs the server certificate (default: system CAs)',
    )
    .option(
      '--dir <dir>',
      'the agent directory (default: $ZTGATE_AGENT_DIR, /var/lib/ztgate-agent as root, ~/.ztgate-agent)',
    )
    .option('--hostname <name>', 'the name to register (default: this host name)')
    .option('--force', 'replace an existing enrollment in the directory')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .action(
      async (opts: {
        server: string;
        code: string;
        user?: string;
        ca?: string;
        dir?: string;
        hostname?: string;
        force?: boolean;
        format: OutputFormat;
      }) =>
        runCommand(io, opts.format, async () => {
          const code = opts.code === '-' ? (await io.stdin()).trim() : opts.code;
          const dir = opts.dir ?? defaultAgentDir();
          const enrolled = await enrollAgent({
            server: opts.server,
            code,
            dir,
            platform: platformOf(deps),
            ...(opts.user ? { user: opts.user } : {}),
            ...(opts.ca ? { ca: readFileOption(opts.ca, 'CA') } : {}),
            ...(opts.hostname ? { hostname: opts.hostname } : {}),
            force: opts.force === true,
            ...(deps.now ? { now: deps.now } : {}),
          });
          if (opts.format === 'json') io.stdout(`${JSON.stringify(enrolled, null, 2)}\n`);
          else
            io.stdout(
              `enrolled device ${enrolled.deviceId} for ${enrolled.userId} (certificate valid until ${enrolled.notAfter}); start reporting with \`ztgate agent run\`\n`,
            );
        }),
    );

  agent
    .command('run')
    .description('report posture over mutual TLS every interval and at once on a change')
    .option(
      '--dir <dir>',
      'the agent directory (default: $ZTGATE_AGENT_DIR, /var/lib/ztgate-agent as root, ~/.ztgate-agent)',
    )
    .option('--once', 'collect and report once, then exit')
    .option('--dry-run', 'collect and print the report without sending it')
    .option(
      '--interval <duration>',
      'report interval when nothing changes (default: what the server says, 60s)',
      intervalOption,
    )
    .option(
      '--edr-process <name>',
      'an EDR process name to look for (repeatable; default: what the server says)',
      collect,
    )
    .option(
      '--posture-file <file>',
      'report the attributes of this JSON file instead of collecting them (tests, demos; read at every check)',
    )
    .option('--format <format>', 'text or json (with --once or --dry-run)', parseFormat, 'text')
    .action(
      async (opts: {
        dir?: string;
        once?: boolean;
        dryRun?: boolean;
        interval?: number;
        edrProcess?: string[];
        postureFile?: string;
        format: OutputFormat;
      }) =>
        runCommand(io, opts.format, async () => {
          const platform = platformOf(deps);
          if (opts.postureFile !== undefined) {
            // a file that cannot be used stops the command now rather than send empty reports
            await readPostureFile(opts.postureFile).catch((err: unknown) => {
              throw new ZtError(
                'ZT_CLI_INPUT_INVALID',
                `cannot use the posture file \`${opts.postureFile}\`: ${err instanceof Error ? err.message : String(err)}`,
                { help: 'give a JSON object of posture attributes, e.g. {"firewall": true}' },
              );
            });
          }
          const posture = new PostureAgent({
            dir: opts.dir ?? defaultAgentDir(),
            collectors:
              opts.postureFile !== undefined
                ? [postureFileCollector(opts.postureFile)]
                : collectorsFor(platform),
            context:
              deps.context ??
              ((edr) =>
                hostContext({
                  platform,
                  agentVersion: version,
                  edrProcesses: edr,
                  ...(deps.now ? { now: deps.now } : {}),
                })),
            ...(deps.now ? { now: deps.now } : {}),
            ...(opts.interval !== undefined ? { reportIntervalMs: opts.interval } : {}),
            ...(opts.edrProcess ? { edrProcesses: opts.edrProcess } : {}),
            log: (line) => io.stderr(`${new Date().toISOString()} ${line}\n`),
          });
          if (opts.once || opts.dryRun) {
            if (!opts.dryRun) await posture.renewIfDue();
            const result = await posture.tick({ force: true, dryRun: opts.dryRun === true });
            if (opts.format === 'json') {
              io.stdout(
                `${JSON.stringify({ sent: result.sent, report: result.report, tier: result.tier ?? null, changes: result.changes ?? [] }, null, 2)}\n`,
              );
            } else {
              const lines = [
                `${result.sent ? 'reported' : 'collected (not sent)'} for device ${result.report.device_id}, seq ${result.report.seq}${result.sent ? `, tier ${result.tier ?? 'none'}` : ''}`,
                ...Object.entries(result.report.attributes).map(
                  ([k, v]) => `  ${k} = ${JSON.stringify(v)}`,
                ),
                ...Object.entries(result.report.unavailable).map(
                  ([k, v]) => `  ${k}: not reported: ${v}`,
                ),
              ];
              io.stdout(`${lines.join('\n')}\n`);
            }
            return;
          }
          const controller = new AbortController();
          const stop = (): void => controller.abort();
          const signal = deps.signal ?? controller.signal;
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          try {
            io.stderr(`ztgate agent ${version}: reporting for device ${posture.deviceId}\n`);
            await posture.run(signal);
          } finally {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
          }
        }),
    );
}
