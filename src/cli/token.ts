/**
 * `ztgate token issue|revoke|list` and `ztgate token service add|list|remove`: short-lived signed
 * tokens for programs (`Authorization: Bearer`), for users or service accounts. `issue` prints only
 * the token on standard output, so that `TOKEN=$(ztgate token issue ...)` works.
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  TokenService,
  MAX_TOKEN_TTL_MS,
  MIN_TOKEN_TTL_MS,
  type TokenRecord,
} from '../identity/token/tokens.js';
import { parseGroups } from '../identity/users.js';
import { parseDuration } from '../shared/duration.js';
import { ZtError } from '../shared/errors.js';
import { parseFormat, runCommand, type Io, type OutputFormat } from './output.js';
import {
  configOption,
  printable,
  table,
  withIdentity,
  type IdentityCliContext,
  type IdentityCliOptions,
} from './user.js';

function parseTtl(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < MIN_TOKEN_TTL_MS || ms > MAX_TOKEN_TTL_MS) {
    throw new InvalidArgumentError(
      `expected a duration from 1m to 24h such as \`10m\`, not \`${value}\``,
    );
  }
  return ms;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function tokens(ctx: IdentityCliContext): Promise<TokenService> {
  const box = ctx.box({ create: true });
  if (!box) throw new Error('identity key unavailable');
  return TokenService.open({
    settings: ctx.store.settings,
    users: ctx.store.users,
    box,
    publicUrl: ctx.config.public_url,
  });
}

function tokenJson(r: TokenRecord): Record<string, unknown> {
  return {
    jti: r.jti,
    kind: r.kind,
    subject: r.subject,
    label: r.label,
    audience: r.audience,
    issued_at: new Date(r.issuedAt).toISOString(),
    expires_at: new Date(r.expiresAt).toISOString(),
    revoked_at: r.revokedAt === null ? null : new Date(r.revokedAt).toISOString(),
  };
}

export function registerTokenCommands(program: Command, io: Io): void {
  const token = program
    .command('token')
    .description('short-lived tokens for programs (Authorization: Bearer)');

  token
    .command('issue')
    .description('issue a token for a user or a service account; prints only the token')
    .option('--user <email>', 'the user the token speaks for')
    .option('--service <name>', 'the service account the token speaks for')
    .requiredOption('--ttl <duration>', 'lifetime, 1m to 24h (`10m`, `8h`)', parseTtl)
    .option('--route <host>', 'limit the token to one route host')
    .addOption(configOption())
    .action(
      async (
        opts: IdentityCliOptions & { user?: string; service?: string; ttl: number; route?: string },
      ) =>
        runCommand(io, 'text', async () => {
          if ((opts.user === undefined) === (opts.service === undefined)) {
            throw new ZtError('ZT_CLI_USAGE', 'give exactly one of `--user` or `--service`');
          }
          const issued = await withIdentity(opts, async (ctx) =>
            (await tokens(ctx)).issue({
              subject:
                opts.user !== undefined
                  ? { kind: 'user', email: opts.user }
                  : { kind: 'service', name: opts.service ?? '' },
              ttlMs: opts.ttl,
              ...(opts.route !== undefined ? { route: opts.route } : {}),
              issuedBy: 'cli',
            }),
          );
          io.stdout(`${issued.token}\n`);
        }),
    );

  token
    .command('revoke')
    .description('revoke a token by its id (`jti`, shown by `token list`)')
    .argument('<jti>')
    .addOption(configOption())
    .action(async (jti: string, opts: IdentityCliOptions) =>
      runCommand(io, 'text', async () => {
        const done = await withIdentity(opts, async (ctx) => {
          const service = await tokens(ctx);
          const record = await service.getRecord(jti);
          if (!record) {
            throw new ZtError('ZT_IDENTITY_TOKEN_REVOKED', `no token has the id \`${jti}\``, {
              help: 'list tokens with `ztgate token list --all`',
            });
          }
          return service.revoke(jti, 'cli');
        });
        io.stdout(done ? `revoked ${jti}\n` : `${jti} was already revoked\n`);
      }),
    );

  token
    .command('list')
    .description('list issued tokens that have not expired (with --all, also expired ones)')
    .option('--all', 'include expired tokens')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .addOption(configOption())
    .action(async (opts: IdentityCliOptions & { all?: boolean; format: OutputFormat }) =>
      runCommand(io, opts.format, async () => {
        const list = await withIdentity(opts, async (ctx) =>
          (await tokens(ctx)).list({ includeExpired: opts.all ?? false }),
        );
        if (opts.format === 'json') {
          io.stdout(`${JSON.stringify({ tokens: list.map(tokenJson) }, null, 2)}\n`);
          return;
        }
        if (list.length === 0) {
          io.stdout('no tokens\n');
          return;
        }
        io.stdout(
          table(
            ['JTI', 'FOR', 'AUDIENCE', 'EXPIRES', 'STATUS'],
            list.map((r) => [
              r.jti,
              printable(r.label),
              printable(r.audience),
              new Date(r.expiresAt).toISOString(),
              r.revokedAt !== null ? 'revoked' : r.expiresAt <= Date.now() ? 'expired' : 'valid',
            ]),
          ),
        );
      }),
    );

  const service = token.command('service').description('service accounts: identities for machines');

  service
    .command('add')
    .description('add a service account')
    .argument('<name>', 'lower-case letters, digits, `.`, `_`, `-`')
    .option('--groups <groups>', 'comma-separated groups', collect)
    .option('--description <text>', 'what the account is for')
    .addOption(configOption())
    .action(
      async (
        name: string,
        opts: IdentityCliOptions & { groups?: string[]; description?: string },
      ) =>
        runCommand(io, 'text', async () => {
          const account = await withIdentity(
            opts,
            async (ctx) =>
              (await tokens(ctx)).addServiceAccount(name, {
                groups: parseGroups(opts.groups),
                ...(opts.description !== undefined ? { description: opts.description } : {}),
              }),
            { createStore: true },
          );
          io.stdout(`added service account ${account.name} (${account.id})\n`);
        }),
    );

  service
    .command('list')
    .description('list service accounts')
    .option('--format <format>', 'text or json', parseFormat, 'text')
    .addOption(configOption())
    .action(async (opts: IdentityCliOptions & { format: OutputFormat }) =>
      runCommand(io, opts.format, async () => {
        const accounts = await withIdentity(opts, async (ctx) =>
          (await tokens(ctx)).listServiceAccounts(),
        );
        if (opts.format === 'json') {
          io.stdout(`${JSON.stringify({ service_accounts: accounts }, null, 2)}\n`);
          return;
        }
        io.stdout(
          accounts.length === 0
            ? 'no service accounts\n'
            : table(
                ['NAME', 'ID', 'GROUPS', 'DESCRIPTION'],
                accounts.map((a) => [
                  a.name,
                  a.id,
                  a.groups.join(',') || '-',
                  printable(a.description) || '-',
                ]),
              ),
        );
      }),
    );

  service
    .command('remove')
    .description('remove a service account and revoke its tokens')
    .argument('<name>')
    .addOption(configOption())
    .action(async (name: string, opts: IdentityCliOptions) =>
      runCommand(io, 'text', async () => {
        const n = await withIdentity(opts, async (ctx) =>
          (await tokens(ctx)).removeServiceAccount(name),
        );
        io.stdout(`removed ${name} (${n} token${n === 1 ? '' : 's'} revoked)\n`);
      }),
    );
}
