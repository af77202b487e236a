/**
 * `ztgate admin token create|list|revoke`: API tokens for the admin API (`{public_url}/api/v1/`),
 * made by the local operator (whoever can read the data directory) on behalf of an existing user.
 * This is how the first token is made; later ones can come from the API itself. The token is
 * printed once, on stdout alone, and only its SHA-256 is stored.
 */
import type { Command } from 'commander';
import {
  ApiTokens,
  MAX_TOKEN_TTL_MS,
  MIN_TOKEN_TTL_MS,
  tokenView,
} from '../admin/auth/api-tokens.js';
import { SCOPES, type Scope } from '../admin/auth/scopes.js';
import { parseDuration } from '../shared/duration.js';
import { ZtError } from '../shared/errors.js';
import { parseFormat, runCommand, type Io, type OutputFormat } from './output.js';
import { configOption, withIdentity } from './user.js';

function parseScopes(text: string): Scope[] {
  const out: Scope[] = [];
  for (const raw of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (raw === 'all') {
      out.push(...SCOPES);
      continue;
    }
    if (!(SCOPES as readonly string[]).includes(raw)) {
      throw new ZtError('ZT_CLI_USAGE', `\`${raw}\` is not a scope`, {
        help: `scopes are ${SCOPES.join(', ')}, or \`all\``,
      });
    }
    out.push(raw as Scope);
  }
  if (out.length === 0) throw new ZtError('ZT_CLI_USAGE', 'give at least one scope');
  return out;
}

function parseTtl(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < MIN_TOKEN_TTL_MS || ms > MAX_TOKEN_TTL_MS) {
    throw new ZtError('ZT_CLI_USAGE', `--ttl ${text} is not a duration from 1m to 366d`);
  }
  return ms;
}

export function registerAdminCommands(program: Command, io: Io): void {
  const admin = program.command('admin').description('the admin API: API tokens');
  const token = admin.command('token').description('API tokens for `{public_url}/api/v1/`');

  token
    .command('create')
    .description('create an API token on behalf of a user; prints only the token, once')
    .requiredOption('--user <email>', 'the user the token acts for (must exist and be enabled)')
    .requiredOption(
      '--scopes <list>',
      `comma-separated: ${SCOPES.slice(0, 4).join(', ')}, ... or all`,
    )
    .option('--ttl <duration>', 'lifetime, 1m to 366d', '24h')
    .option('--name <name>', 'what the token is for', 'cli')
    .addOption(configOption())
    .action(
      async (o: { user: string; scopes: string; ttl: string; name: string; config?: string }) => {
        await runCommand(io, 'text', () =>
          withIdentity(o, async ({ store }) => {
            const scopes = parseScopes(o.scopes);
            const ttlMs = parseTtl(o.ttl);
            const user = await store.users.getByEmail(o.user);
            if (!user || user.disabled) {
              throw new ZtError(
                'ZT_IDENTITY_USER_UNKNOWN',
                `no enabled user has the email \`${o.user}\``,
              );
            }
            const made = await new ApiTokens(store.settings, store.users).create({
              name: o.name.slice(0, 128),
              scopes,
              ttlMs,
              createdBy: user.id,
              now: Date.now(),
            });
            io.stdout(`${made.token}\n`);
          }),
        );
      },
    );

  token
    .command('list')
    .description('list API tokens (never their secrets)')
    .option('--format <format>', '`text` or `json`', parseFormat, 'text')
    .addOption(configOption())
    .action(async (o: { format: OutputFormat; config?: string }) => {
      await runCommand(io, o.format, () =>
        withIdentity(o, async ({ store }) => {
          const list = (await new ApiTokens(store.settings, store.users).list()).map(tokenView);
          if (o.format === 'json') {
            io.stdout(`${JSON.stringify(list, null, 2)}\n`);
            return;
          }
          for (const t of list) {
            const state =
              t.revokedAt !== null ? 'revoked' : Date.now() >= t.expiresAt ? 'expired' : 'active';
            io.stdout(
              `${t.id}  ${state.padEnd(7)}  ${new Date(t.expiresAt).toISOString()}  ${t.name}  ${t.scopes.join(',')}\n`,
            );
          }
        }),
      );
    });

  token
    .command('revoke')
    .description('revoke an API token by its id')
    .argument('<id>', 'the token id (16 hex digits, as listed)')
    .addOption(configOption())
    .action(async (id: string, o: { config?: string }) => {
      await runCommand(io, 'text', () =>
        withIdentity(o, async ({ store }) => {
          const r = await new ApiTokens(store.settings, store.users).revoke(id, Date.now());
          if (!r) throw new ZtError('ZT_CLI_INPUT_INVALID', `no API token has the id \`${id}\``);
          io.stdout(`revoked ${id}\n`);
        }),
      );
    });
}
