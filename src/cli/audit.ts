/**
 * `ztgate audit query|tail|verify|export`: read, follow, check and export the audit log.
 *
 * Every subcommand takes `--data-dir DIR` (default `./.ztgate`) and `--store URL` (`sqlite`, the
 * default, for the file under the data directory, or a `postgres://` URL). None of them creates a
 * database: pointing at an empty data directory is an error.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { toJsonLine, toSyslogMessage } from '../audit/export.js';
import { queryAudit, scanAudit, tailAudit, type AuditQuery } from '../audit/query.js';
import type { AuditRecord } from '../audit/record.js';
import { defaultAuditKeyPath, loadAuditPublicKey } from '../audit/signing-key.js';
import { verifyAuditLog } from '../audit/verify.js';
import { ProblemsError } from '../shared/errors.js';
import { parseDuration } from '../shared/duration.js';
import { openStore, storeOptionsFromUrl } from '../store/open.js';
import { loadConfigFile } from '../config/load.js';
import type { Store } from '../store/store.js';
import { existsSync } from 'node:fs';
import { ExitRequest, runCommand, type Io, type OutputFormat } from './output.js';

export interface AuditStoreCliOptions {
  readonly dataDir: string;
  readonly store: string;
}

/** The filters the audit commands take: those of an audit query, without paging. */
export type AuditFilterCliOptions = Pick<
  AuditQuery,
  'user' | 'device' | 'route' | 'decision' | 'kind' | 'since' | 'until'
>;

export interface AuditQueryCliOptions extends AuditStoreCliOptions, AuditFilterCliOptions {
  readonly limit: number;
  readonly cursor?: string;
  readonly format: 'json' | 'table';
}

export interface AuditTailCliOptions extends AuditStoreCliOptions, AuditFilterCliOptions {
  readonly lines: number;
  readonly follow: boolean;
  readonly format: 'json' | 'text';
  readonly pollMs?: number;
}

export interface AuditVerifyCliOptions extends AuditStoreCliOptions {
  /** the signing key file (its public half is used); default `<data-dir>/audit-signing-key.pem` */
  readonly key?: string;
  /** more trusted public keys (other replicas', an auditor's copy) */
  readonly publicKey?: readonly string[];
  readonly format: OutputFormat;
}

export interface AuditExportCliOptions extends AuditStoreCliOptions, AuditFilterCliOptions {
  readonly format: 'jsonl' | 'syslog';
}

// ---------------------------------------------------------------------------------------------
// option parsers (a malformed value is a usage error: exit 2)

function choice<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(
      `expected ${allowed.map((a) => `\`${a}\``).join(' or ')}, not \`${value}\``,
    );
  };
}

function positiveInt(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}, not \`${value}\``);
    }
    return n;
  };
}

/** An ISO 8601 time (`2026-11-22T10:00:00Z`, `2026-11-22`) or a duration ago (`90m`, `7d`). */
export function parseTimeOption(value: string, now: number = Date.now()): number {
  const ago = parseDuration(value);
  if (ago !== undefined) return now - ago;
  if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return t;
  }
  throw new InvalidArgumentError(
    `expected an ISO 8601 time or a duration such as \`1h\`, not \`${value}\``,
  );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

// ---------------------------------------------------------------------------------------------
// the commands, callable directly (tests) or through commander

async function withStore<T>(
  options: AuditStoreCliOptions,
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStore(
    storeOptionsFromUrl(options.store, options.dataDir, { create: false }),
  );
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function filtersOf(o: AuditFilterCliOptions): Omit<AuditQuery, 'cursor' | 'order' | 'limit'> {
  const q: { -readonly [K in keyof AuditQuery]?: AuditQuery[K] } = {};
  if (o.user !== undefined) q.user = o.user;
  if (o.device !== undefined) q.device = o.device;
  if (o.route !== undefined) q.route = o.route;
  if (o.decision !== undefined) q.decision = o.decision;
  if (o.kind !== undefined) q.kind = o.kind;
  if (o.since !== undefined) q.since = o.since;
  if (o.until !== undefined) q.until = o.until;
  return q;
}

const COLUMNS = [
  'TIME',
  'SEQ',
  'KIND',
  'DECISION',
  'USER',
  'DEVICE',
  'ROUTE',
  'REQUEST',
  'POLICY',
] as const;

/** Control characters (from user-controlled fields such as paths) must not reach a terminal. */
function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f ? '?' : ch;
  }
  return out;
}

function rowOf(r: AuditRecord): string[] {
  const request =
    r.kind === 'access'
      ? `${r.method ?? ''} ${r.path ?? ''}`.trim()
      : (r.action ?? r.resource ?? '');
  return [
    r.time,
    String(r.seq),
    r.kind,
    r.decision ?? r.outcome ?? '-',
    r.actor?.user ?? r.actor?.service ?? '-',
    r.actor?.device ?? '-',
    r.route ?? r.resource ?? '-',
    request || '-',
    r.policy ?? '-',
  ].map(printable);
}

/** Aligned columns; the last one is not padded. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export async function auditQuery(o: AuditQueryCliOptions, io: Io): Promise<number> {
  const page = await withStore(o, (store) =>
    queryAudit(store.audit, {
      ...filtersOf(o),
      limit: o.limit,
      ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
    }),
  );
  if (o.format === 'json') {
    io.stdout(
      `${JSON.stringify({ records: page.records, next_cursor: page.nextCursor }, null, 2)}\n`,
    );
    return 0;
  }
  if (page.records.length === 0) {
    io.stdout('no audit records match\n');
    return 0;
  }
  io.stdout(formatTable(COLUMNS, page.records.map(rowOf)));
  if (page.nextCursor !== null) io.stderr(`more records: add \`--cursor ${page.nextCursor}\`\n`);
  return 0;
}

export async function auditTail(
  o: AuditTailCliOptions,
  io: Io,
  signal?: AbortSignal,
): Promise<number> {
  await withStore(o, async (store) => {
    const lines = tailAudit(store.audit, {
      ...filtersOf(o),
      last: o.lines,
      follow: o.follow,
      ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
      ...(signal ? { signal } : {}),
    });
    for await (const r of lines) {
      io.stdout(o.format === 'json' ? toJsonLine(r) : `${rowOf(r).join('  ')}\n`);
    }
  });
  return 0;
}

export async function auditVerify(o: AuditVerifyCliOptions, io: Io): Promise<number> {
  const keyPath = o.key ?? defaultAuditKeyPath(o.dataDir);
  const keys = [
    ...(o.key !== undefined || existsSync(keyPath) ? [loadAuditPublicKey(keyPath)] : []),
  ];
  for (const p of o.publicKey ?? []) keys.push(loadAuditPublicKey(p));
  const result = await withStore(o, (store) => verifyAuditLog(store.audit, { publicKeys: keys }));
  if (o.format === 'json') {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    if (!result.ok) throw new ExitRequest(1);
    return 0;
  }
  if (!result.ok) {
    throw new ProblemsError(
      result.problems.map((p) => ({
        code: 'ZT_AUDIT_CHAIN_BROKEN' as const,
        severity: 'error' as const,
        message: p.message,
        ...(p.kind === 'unknown_key'
          ? { help: 'give the signing key with `--key` or its public key with `--public-key`' }
          : {}),
      })),
    );
  }
  const range =
    result.first === null
      ? 'no records'
      : `${result.records} records (${result.first}..${result.last})`;
  const cp = result.lastCheckpoint
    ? `, ${result.checkpoints} signed checkpoints, the last at record ${result.lastCheckpoint.seq} (${new Date(result.lastCheckpoint.time).toISOString()})`
    : ', no checkpoints';
  io.stdout(`audit log verified: ${range}${cp}\n`);
  return 0;
}

export async function auditExport(o: AuditExportCliOptions, io: Io): Promise<number> {
  await withStore(o, async (store) => {
    for await (const r of scanAudit(store.audit, filtersOf(o))) {
      io.stdout(o.format === 'jsonl' ? toJsonLine(r) : `${toSyslogMessage(r)}\n`);
    }
  });
  return 0;
}

// ---------------------------------------------------------------------------------------------
// registration

interface RawOptions {
  dataDir: string;
  store: string;
  user?: string;
  device?: string;
  route?: string;
  decision?: string;
  kind?: string;
  since?: number;
  until?: number;
}

function withCommon(c: Command): Command {
  return c
    .option(
      '--config <file>',
      'take the data directory and the store from this config (as every command does)',
    )
    .hook('preAction', (cmd) => {
      // explicit --data-dir / --store win over the config's values
      const file = cmd.getOptionValue('config') as string | undefined;
      if (file === undefined) return;
      const { config } = loadConfigFile(file, { readSecrets: false });
      if (cmd.getOptionValueSource('dataDir') !== 'cli')
        cmd.setOptionValue('dataDir', config.data_dir);
      if (cmd.getOptionValueSource('store') !== 'cli') cmd.setOptionValue('store', config.store);
    })
    .option('--data-dir <dir>', 'the data directory', './.ztgate')
    .option(
      '--store <url>',
      '`sqlite` (the file under the data directory) or a `postgres://` URL',
      'sqlite',
    );
}

function withFilters(c: Command): Command {
  return c
    .option('--user <id>', 'only records of this user id')
    .option('--device <id>', 'only records of this device id')
    .option('--route <route>', 'only records of this route')
    .option(
      '--decision <decision>',
      'only this decision',
      choice(['allow', 'deny', 'login', 'step_up']),
    )
    .option(
      '--kind <kind>',
      'only this kind of record (access, login, logout, mfa, session, device, certificate, admin)',
    )
    .option('--since <time>', 'from this time (ISO 8601, or a duration ago such as `1h`)', (v) =>
      parseTimeOption(v),
    )
    .option('--until <time>', 'before this time (ISO 8601, or a duration ago)', (v) =>
      parseTimeOption(v),
    );
}

function filterOptions(raw: RawOptions): AuditFilterCliOptions & AuditStoreCliOptions {
  const o: { -readonly [K in keyof (AuditFilterCliOptions & AuditStoreCliOptions)]?: unknown } = {
    dataDir: raw.dataDir,
    store: raw.store,
  };
  for (const k of ['user', 'device', 'route', 'decision', 'kind', 'since', 'until'] as const) {
    if (raw[k] !== undefined) o[k] = raw[k];
  }
  return o as AuditFilterCliOptions & AuditStoreCliOptions;
}

export function registerAuditCommands(program: Command, io: Io): void {
  const audit = program
    .command('audit')
    .description('query, follow, verify and export the tamper-evident audit log');

  withFilters(withCommon(audit.command('query')))
    .description('print the audit records that match, newest first')
    .option('--limit <n>', 'at most this many records', positiveInt(10_000), 100)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--format <format>', '`table` or `json`', choice(['table', 'json']), 'table')
    .action(
      async (raw: RawOptions & { limit: number; cursor?: string; format: 'json' | 'table' }) => {
        await runCommand(io, raw.format === 'json' ? 'json' : 'text', () =>
          auditQuery(
            {
              ...filterOptions(raw),
              limit: raw.limit,
              format: raw.format,
              ...(raw.cursor !== undefined ? { cursor: raw.cursor } : {}),
            },
            io,
          ),
        );
      },
    );

  withFilters(withCommon(audit.command('tail')))
    .description('print the last records; with -f, keep printing new ones until interrupted')
    .option('-n, --lines <n>', 'how many existing records to print first', positiveInt(10_000), 10)
    .option('-f, --follow', 'keep printing new records as they are written', false)
    .option(
      '--format <format>',
      '`text` or `json` (one JSON object per line)',
      choice(['text', 'json']),
      'text',
    )
    .action(
      async (raw: RawOptions & { lines: number; follow: boolean; format: 'json' | 'text' }) => {
        const ac = new AbortController();
        const stop = (): void => ac.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await runCommand(io, raw.format, () =>
            auditTail(
              { ...filterOptions(raw), lines: raw.lines, follow: raw.follow, format: raw.format },
              io,
              ac.signal,
            ),
          );
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      },
    );

  withCommon(audit.command('verify'))
    .description('check the hash chain and signed checkpoints; exit 1 naming the first bad record')
    .option(
      '--key <file>',
      'the audit signing key (default: audit-signing-key.pem in the data directory)',
    )
    .option(
      '--public-key <file>',
      'also trust checkpoints signed by this public key (repeatable)',
      collect,
    )
    .option('--format <format>', '`text` or `json`', choice(['text', 'json']), 'text')
    .action(
      async (raw: {
        dataDir: string;
        store: string;
        key?: string;
        publicKey?: string[];
        format: OutputFormat;
      }) => {
        await runCommand(io, raw.format, () =>
          auditVerify(
            {
              dataDir: raw.dataDir,
              store: raw.store,
              format: raw.format,
              ...(raw.key !== undefined ? { key: raw.key } : {}),
              ...(raw.publicKey !== undefined ? { publicKey: raw.publicKey } : {}),
            },
            io,
          ),
        );
      },
    );

  withFilters(withCommon(audit.command('export')))
    .description('write the matching records, oldest first, as JSON Lines or RFC 5424 syslog lines')
    .option('--format <format>', '`jsonl` or `syslog`', choice(['jsonl', 'syslog']), 'jsonl')
    .action(async (raw: RawOptions & { format: 'jsonl' | 'syslog' }) => {
      await runCommand(io, 'text', () =>
        auditExport({ ...filterOptions(raw), format: raw.format }, io),
      );
    });
}
