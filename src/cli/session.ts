/**
 * `ztgate session list|revoke`: the live sign-in sessions, and ending them by session, user or
 * device. A session is named by the first 16 hex digits of its id hash (the raw id is only in the
 * user's cookie). A revocation takes effect on the session's next request on every replica.
 */
import { Option, type Command } from 'commander';
import { sessionRef } from '../identity/session/session-manager.js';
import { ZtError } from '../shared/errors.js';
import type { SessionRecord, Store, UserRecord } from '../store/store.js';
import { parseFormat, runCommand, type Io, type OutputFormat } from './output.js';
import { configOption, printable, table, withIdentity, type IdentityCliOptions } from './user.js';

interface SessionRow {
  readonly session: string;
  readonly id_hash: string;
  readonly user_id: string;
  readonly email: string;
  readonly device_id: string | null;
  readonly status: 'active' | 'revoked' | 'expired' | 'idle';
  readonly created_at: string;
  readonly last_seen_at: string;
  readonly expires_at: string;
  readonly mfa_methods: readonly string[];
  readonly mfa_at: string | null;
}

function statusOf(s: SessionRecord, now: number): SessionRow['status'] {
  if (s.revokedAt !== null) return 'revoked';
  if (now >= s.expiresAt) return 'expired';
  if (now >= s.idleExpiresAt) return 'idle';
  return 'active';
}

async function allUsers(store: Store): Promise<UserRecord[]> {
  const out: UserRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.users.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** The sessions of the users in scope (the store has no list of all sessions: it walks users). */
async function sessionsOf(
  store: Store,
  filter: { user?: string; device?: string },
): Promise<{ record: SessionRecord; user: UserRecord }[]> {
  let users: UserRecord[];
  if (filter.user !== undefined) {
    const u = await store.users.getByEmail(filter.user);
    if (!u)
      throw new ZtError('ZT_IDENTITY_USER_UNKNOWN', `no user has the email \`${filter.user}\``);
    users = [u];
  } else if (filter.device !== undefined) {
    const d = await store.devices.get(filter.device);
    if (!d) throw new ZtError('ZT_CLI_INPUT_INVALID', `no device has the id \`${filter.device}\``);
    const u = await store.users.get(d.userId);
    users = u ? [u] : [];
  } else {
    users = await allUsers(store);
  }
  const out: { record: SessionRecord; user: UserRecord }[] = [];
  for (const user of users) {
    for (const record of await store.sessions.listByUser(user.id)) {
      if (filter.device === undefined || record.deviceId === filter.device)
        out.push({ record, user });
    }
  }
  return out;
}

export function registerSessionCommands(program: Command, io: Io): void {
  const session = program.command('session').description('list and revoke sign-in sessions');

  session
    .command('list')
    .description('list live sessions (with --all, also ended ones)')
    .option('--user <email>', 'only this user’s sessions')
    .option('--device <id>', 'only sessions on this device')
    .option('--all', 'include revoked, expired and idle sessions')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .addOption(configOption())
    .action(
      async (
        opts: IdentityCliOptions & {
          user?: string;
          device?: string;
          all?: boolean;
          format: OutputFormat;
        },
      ) =>
        runCommand(io, opts.format, async () => {
          const now = Date.now();
          const rows = await withIdentity(opts, async (ctx) =>
            (await sessionsOf(ctx.store, opts))
              .map(({ record, user }): SessionRow => ({
                session: sessionRef(record.idHash),
                id_hash: record.idHash,
                user_id: user.id,
                email: user.email,
                device_id: record.deviceId,
                status: statusOf(record, now),
                created_at: new Date(record.createdAt).toISOString(),
                last_seen_at: new Date(record.lastSeenAt).toISOString(),
                expires_at: new Date(
                  Math.min(record.expiresAt, record.idleExpiresAt),
                ).toISOString(),
                mfa_methods: record.mfaMethods,
                mfa_at: record.mfaAt === null ? null : new Date(record.mfaAt).toISOString(),
              }))
              .filter((r) => opts.all || r.status === 'active'),
          );
          if (opts.format === 'json') {
            io.stdout(`${JSON.stringify({ sessions: rows }, null, 2)}\n`);
            return;
          }
          if (rows.length === 0) {
            io.stdout(opts.all ? 'no sessions\n' : 'no live sessions\n');
            return;
          }
          io.stdout(
            table(
              ['SESSION', 'USER', 'DEVICE', 'STATUS', 'CREATED', 'LAST SEEN', 'MFA'],
              rows.map((r) => [
                r.session,
                printable(r.email),
                r.device_id === null ? '-' : printable(r.device_id),
                r.status,
                r.created_at,
                r.last_seen_at,
                r.mfa_methods.join(',') || '-',
              ]),
            ),
          );
        }),
    );

  session
    .command('revoke')
    .description(
      'end sessions: one (by the id `session list` shows), all of a user, or all on a device',
    )
    .argument('[session]', 'the session id from `session list` (16 or more hex digits)')
    .addOption(new Option('--user <email>', 'end every session of this user'))
    .addOption(new Option('--device <id>', 'end every session on this device'))
    .addOption(configOption())
    .action(
      async (
        ref: string | undefined,
        opts: IdentityCliOptions & { user?: string; device?: string },
      ) =>
        runCommand(io, 'text', async () => {
          const given = [
            ref !== undefined,
            opts.user !== undefined,
            opts.device !== undefined,
          ].filter(Boolean).length;
          if (given !== 1) {
            throw new ZtError(
              'ZT_CLI_USAGE',
              'give exactly one of a session id, `--user` or `--device`',
            );
          }
          const n = await withIdentity(opts, async (ctx) => {
            const manager = ctx.sessions();
            if (opts.user !== undefined) {
              const u = await ctx.store.users.getByEmail(opts.user);
              if (!u)
                throw new ZtError(
                  'ZT_IDENTITY_USER_UNKNOWN',
                  `no user has the email \`${opts.user}\``,
                );
              return manager.revokeUser(u.id, 'cli');
            }
            if (opts.device !== undefined) {
              if (!(await ctx.store.devices.get(opts.device))) {
                throw new ZtError(
                  'ZT_CLI_INPUT_INVALID',
                  `no device has the id \`${opts.device}\``,
                );
              }
              return manager.revokeDevice(opts.device, 'cli');
            }
            const prefix = (ref ?? '').toLowerCase();
            if (!/^[0-9a-f]{16,64}$/.test(prefix)) {
              throw new ZtError('ZT_CLI_INPUT_INVALID', `\`${ref ?? ''}\` is not a session id`, {
                help: 'use the SESSION column of `ztgate session list` (16 hex digits)',
              });
            }
            const now = Date.now();
            const matches = (await sessionsOf(ctx.store, {})).filter(
              (s) => s.record.idHash.startsWith(prefix) && statusOf(s.record, now) === 'active',
            );
            if (matches.length === 0) {
              throw new ZtError(
                'ZT_IDENTITY_SESSION_NOT_FOUND',
                `no live session has the id \`${prefix}\``,
                {
                  help: 'list live sessions with `ztgate session list`',
                },
              );
            }
            if (matches.length > 1) {
              throw new ZtError(
                'ZT_CLI_INPUT_INVALID',
                `\`${prefix}\` matches ${matches.length} sessions`,
                {
                  help: 'give more hex digits of the id',
                },
              );
            }
            const only = matches[0];
            return only && (await manager.revoke(only.record.idHash, 'cli')) ? 1 : 0;
          });
          io.stdout(`${n} session${n === 1 ? '' : 's'} revoked\n`);
        }),
    );
}
