/**
 * `ztgate user add|list|disable|enable|passwd|mfa|groups`: the built-in IdP's users.
 *
 * Passwords are read from `--password-file FILE` or standard input (`--password-file -`), never
 * from the command line (argv is visible to every local user in `ps`). Every subcommand takes
 * `--config` for the data directory and store; the store is opened, used and closed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { defaultConfigPath, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { MfaStore } from '../identity/mfa-store.js';
import { IDENTITY_KEY_FILE, loadIdentityKey, SecretBox } from '../identity/secret-box.js';
import { SessionManager, sessionPolicyFromConfig } from '../identity/session/session-manager.js';
import { totpUri } from '../identity/totp.js';
import { parseGroups, UserAdmin } from '../identity/users.js';
import { ZtError } from '../shared/errors.js';
import { openStore, storeOptionsFromUrl } from '../store/open.js';
import { openEventBus, type EventBus } from '../store/events/index.js';
import type { Store, UserRecord } from '../store/store.js';
import { parseFormat, runCommand, type Io, type OutputFormat } from './output.js';

// ---------------------------------------------------------------------------------------------
// shared by the identity command groups (user, session, token)

export interface IdentityCliOptions {
  readonly config?: string;
}

export interface IdentityCliContext {
  readonly config: Config;
  readonly store: Store;
  /** the data directory's identity key (undefined when there is none yet, unless `create`) */
  box(options?: { create?: boolean }): SecretBox | undefined;
  sessions(): SessionManager;
}

/** Loads the config, opens its store, runs `work`, closes the store. */
export async function withIdentity<T>(
  options: IdentityCliOptions,
  work: (ctx: IdentityCliContext) => Promise<T>,
  open: { readonly createStore?: boolean } = {},
): Promise<T> {
  const { config } = loadConfigFile(options.config ?? defaultConfigPath(process.env), {
    readSecrets: false,
  });
  const storeOptions = storeOptionsFromUrl(config.store, config.data_dir, {
    create: open.createStore ?? false,
  });
  const store = await openStore(storeOptions);
  // Revocations must reach running servers at once: with PostgreSQL this publishes over
  // LISTEN/NOTIFY, with SQLite over the server's socket in the data directory.
  let events: EventBus | undefined;
  let box: SecretBox | undefined;
  let sessions: SessionManager | undefined;
  const ctx: IdentityCliContext = {
    config,
    store,
    box: (o = {}) => {
      if (box) return box;
      if (!o.create && !existsSync(join(config.data_dir, IDENTITY_KEY_FILE))) return undefined;
      box = loadIdentityKey(config.data_dir, { create: o.create ?? false });
      return box;
    },
    sessions: () => {
      sessions ??= new SessionManager({
        sessions: store.sessions,
        users: store.users,
        settings: store.settings,
        devices: store.devices,
        // revoking and listing never decrypt: without a key file there is nothing to decrypt anyway
        box: ctx.box() ?? SecretBox.random(),
        policy: sessionPolicyFromConfig(config.session),
        ...(events ? { events } : {}),
      });
      return sessions;
    },
  };
  try {
    events = await openEventBus(storeOptions);
    return await work(ctx);
  } finally {
    await events?.close();
    await store.close();
  }
}

export function configOption(): Option {
  return new Option('--config <file>', 'config file (default: $ZTGATE_CONFIG or ./ztgate.yaml)');
}

/** Reads a password from a file or standard input (`-`): one trailing newline is dropped. */
export async function readPassword(io: Io, source: string): Promise<string> {
  let text: string;
  if (source === '-') {
    text = await io.stdin();
  } else {
    try {
      const st = statSync(source);
      if (st.isFile() && st.size > 64 * 1024) throw new Error('too large');
      text = readFileSync(source, 'utf8');
    } catch (err) {
      throw new ZtError('ZT_CLI_INPUT_INVALID', `cannot read the password file \`${source}\``, {
        help:
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'check the path'
            : 'give a readable file of at most 64 KiB, or `-` for standard input',
      });
    }
  }
  if (text.endsWith('\r\n')) text = text.slice(0, -2);
  else if (text.endsWith('\n')) text = text.slice(0, -1);
  if (text.length === 0) {
    throw new ZtError('ZT_CLI_INPUT_INVALID', 'the password is empty', {
      help: source === '-' ? 'write the password to standard input' : `write it into \`${source}\``,
    });
  }
  return text;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Aligned columns; the last one is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Control characters from stored values must not reach a terminal. */
export function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f ? '?' : ch;
  }
  return out;
}

function admin(ctx: IdentityCliContext): UserAdmin {
  return new UserAdmin({
    users: ctx.store.users,
    actor: 'cli',
    revokeSessions: (userId, reason) => ctx.sessions().revokeUser(userId, reason),
  });
}

// ---------------------------------------------------------------------------------------------
// the commands

export function registerUserCommands(program: Command, io: Io): void {
  const user = program.command('user').description('manage the built-in identity provider’s users');

  user
    .command('add')
    .description('add a user (password from --password-file FILE, or - for standard input)')
    .argument('<email>', 'the user’s email address (the sign-in name)')
    .option('--groups <groups>', 'comma-separated groups', collect)
    .option('--name <name>', 'display name')
    .option('--password-file <file>', 'file holding the password, or - for standard input')
    .addOption(configOption())
    .action(
      async (
        email: string,
        opts: IdentityCliOptions & { groups?: string[]; name?: string; passwordFile?: string },
      ) =>
        runCommand(io, 'text', async () => {
          const password =
            opts.passwordFile === undefined ? undefined : await readPassword(io, opts.passwordFile);
          const created = await withIdentity(
            opts,
            (ctx) =>
              admin(ctx).add({
                email,
                groups: parseGroups(opts.groups),
                ...(opts.name !== undefined ? { displayName: opts.name } : {}),
                ...(password !== undefined ? { password } : {}),
              }),
            { createStore: true },
          );
          io.stdout(`added ${created.email} (${created.id})\n`);
          if (password === undefined) {
            io.stderr(
              'note: the user has no password: set one with `ztgate user passwd` (or sign in through an external IdP)\n',
            );
          }
        }),
    );

  user
    .command('list')
    .description('list users')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .addOption(configOption())
    .action(async (opts: IdentityCliOptions & { format: OutputFormat }) =>
      runCommand(io, opts.format, () => listUsers(io, opts)),
    );

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    user
      .command(name)
      .description(
        disabled ? 'disable a user and end their sessions' : 'enable a disabled user again',
      )
      .argument('<email>')
      .addOption(configOption())
      .action(async (email: string, opts: IdentityCliOptions) =>
        runCommand(io, 'text', async () => {
          const r = await withIdentity(opts, (ctx) => admin(ctx).setDisabled(email, disabled));
          io.stdout(
            `${disabled ? 'disabled' : 'enabled'} ${r.user.email}${disabled ? ` (${r.sessionsEnded} session${r.sessionsEnded === 1 ? '' : 's'} ended)` : ''}\n`,
          );
        }),
      );
  }

  user
    .command('passwd')
    .description('set a user’s password (ends their sessions)')
    .argument('<email>')
    .requiredOption('--password-file <file>', 'file holding the password, or - for standard input')
    .addOption(configOption())
    .action(async (email: string, opts: IdentityCliOptions & { passwordFile: string }) =>
      runCommand(io, 'text', async () => {
        const password = await readPassword(io, opts.passwordFile);
        const r = await withIdentity(opts, (ctx) => admin(ctx).setPassword(email, password));
        io.stdout(
          `password changed for ${r.user.email} (${r.sessionsEnded} session${r.sessionsEnded === 1 ? '' : 's'} ended)\n`,
        );
      }),
    );

  user
    .command('groups')
    .description('add a user to groups or remove them from groups')
    .argument('<email>')
    .option('--add <group>', 'group to add (repeatable, or comma-separated)', collect)
    .option('--remove <group>', 'group to remove (repeatable, or comma-separated)', collect)
    .addOption(configOption())
    .action(
      async (email: string, opts: IdentityCliOptions & { add?: string[]; remove?: string[] }) =>
        runCommand(io, 'text', async () => {
          const add = parseGroups(opts.add);
          const remove = parseGroups(opts.remove);
          if (add.length === 0 && remove.length === 0) {
            throw new ZtError('ZT_CLI_USAGE', 'give at least one `--add` or `--remove`');
          }
          const u = await withIdentity(opts, (ctx) => admin(ctx).changeGroups(email, add, remove));
          io.stdout(`${u.email}: ${u.groups.length > 0 ? u.groups.join(', ') : '(no groups)'}\n`);
        }),
    );

  const mfa = user.command('mfa').description('second factors: TOTP, recovery codes, passkeys');

  mfa
    .command('totp')
    .description('enrol TOTP: prints the otpauth:// URI and recovery codes once')
    .argument('<email>')
    .option('--replace', 'replace an existing TOTP secret')
    .addOption(configOption())
    .action(async (email: string, opts: IdentityCliOptions & { replace?: boolean }) =>
      runCommand(io, 'text', async () => {
        const out = await withIdentity(opts, async (ctx) => {
          const u = await admin(ctx).require(email);
          const box = ctx.box({ create: true });
          if (!box) throw new Error('identity key unavailable');
          const store = new MfaStore(ctx.store.settings, box);
          const r = await store.enrolTotp(u.id, { replace: opts.replace ?? false });
          return { user: u, ...r };
        });
        io.stdout(
          [
            `TOTP enrolled for ${out.user.email}.`,
            '',
            'Add this to the user’s authenticator app (as a QR code or by hand):',
            `  ${totpUri(out.secret, out.user.email)}`,
            `  secret: ${out.secret}`,
            '',
            'Recovery codes (each works once; they are not shown again):',
            ...out.recoveryCodes.map((c) => `  ${c}`),
            '',
          ].join('\n'),
        );
      }),
    );

  mfa
    .command('reset')
    .description('remove every second factor of a user (TOTP, recovery codes, passkeys)')
    .argument('<email>')
    .addOption(configOption())
    .action(async (email: string, opts: IdentityCliOptions) =>
      runCommand(io, 'text', async () => {
        const u = await withIdentity(opts, async (ctx) => {
          const found = await admin(ctx).require(email);
          const box = ctx.box();
          const mfa = box ? new MfaStore(ctx.store.settings, box) : undefined;
          const summary = mfa ? await mfa.summary(found.id) : undefined;
          if (
            !mfa ||
            !summary ||
            (!summary.totp && summary.passkeys === 0 && summary.recoveryCodesLeft === 0)
          ) {
            throw new ZtError(
              'ZT_IDENTITY_MFA_NOT_ENROLLED',
              `${found.email} has no second factor`,
              {
                help: 'enrol one with `ztgate user mfa totp`, or let the user add a passkey at sign-in',
              },
            );
          }
          await mfa.reset(found.id);
          await ctx.sessions().revokeUser(found.id, 'mfa-reset');
          return found;
        });
        io.stdout(`second factors removed for ${u.email}; their sessions were ended\n`);
      }),
    );
}

interface UserListEntry {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly disabled: boolean;
  readonly password: boolean;
  readonly mfa: { totp: boolean; passkeys: number; recovery_codes_left: number } | null;
  readonly created_at: string;
  readonly updated_at: string;
}

async function listUsers(
  io: Io,
  opts: IdentityCliOptions & { format: OutputFormat },
): Promise<void> {
  const entries = await withIdentity(opts, async (ctx) => {
    const all: UserRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await ctx.store.users.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const box = ctx.box();
    const mfa = box ? new MfaStore(ctx.store.settings, box) : undefined;
    const out: UserListEntry[] = [];
    for (const u of all) {
      let summary: UserListEntry['mfa'] = { totp: false, passkeys: 0, recovery_codes_left: 0 };
      try {
        const s = mfa ? await mfa.summary(u.id) : undefined;
        if (s)
          summary = {
            totp: s.totp,
            passkeys: s.passkeys,
            recovery_codes_left: s.recoveryCodesLeft,
          };
      } catch {
        summary = null;
      }
      out.push({
        id: u.id,
        email: u.email,
        name: u.displayName,
        groups: u.groups,
        disabled: u.disabled,
        password: u.passwordHash !== null,
        mfa: summary,
        created_at: new Date(u.createdAt).toISOString(),
        updated_at: new Date(u.updatedAt).toISOString(),
      });
    }
    return out;
  });
  if (opts.format === 'json') {
    io.stdout(`${JSON.stringify({ users: entries }, null, 2)}\n`);
    return;
  }
  if (entries.length === 0) {
    io.stdout('no users\n');
    return;
  }
  io.stdout(
    table(
      ['EMAIL', 'STATUS', 'PASSWORD', 'MFA', 'GROUPS', 'ID'],
      entries.map((e) => [
        printable(e.email),
        e.disabled ? 'disabled' : 'active',
        e.password ? 'yes' : 'no',
        e.mfa === null
          ? '?'
          : [e.mfa.totp ? 'totp' : '', e.mfa.passkeys > 0 ? `passkeys:${e.mfa.passkeys}` : '']
              .filter(Boolean)
              .join(',') || '-',
        printable(e.groups.join(',')) || '-',
        e.id,
      ]),
    ),
  );
}
