/** `ztgate user`, `ztgate session` and `ztgate token` as a user runs them: output, exit codes, effects. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MfaStore } from '../../src/identity/mfa-store.js';
import { verifyPassword } from '../../src/identity/password.js';
import { loadIdentityKey } from '../../src/identity/secret-box.js';
import {
  SessionManager,
  sessionPolicyFromConfig,
} from '../../src/identity/session/session-manager.js';
import { TokenService } from '../../src/identity/token/tokens.js';
import { totpCode } from '../../src/identity/totp.js';
import { openStore } from '../../src/store/open.js';
import { cliConfig, runCli } from './helpers/env.js';

describe('ztgate user / session / token', () => {
  const env = cliConfig();
  const cfg = ['--config', env.config];
  after(() => env.cleanup());

  const withStore = async <T>(
    work: (s: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
  ): Promise<T> => {
    const store = await openStore({ kind: 'sqlite', dataDir: env.dataDir });
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  };

  before(async () => {
    writeFileSync(join(env.dir, 'pw'), 'a long enough password\n');
    const r = await runCli([
      'user',
      'add',
      'alice@example.com',
      '--groups',
      'engineering,oncall',
      '--password-file',
      join(env.dir, 'pw'),
      ...cfg,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^added alice@example\.com \(u_/);
  });

  it('adds users with a password from a file or stdin, never argv', async () => {
    const r = await runCli(
      ['user', 'add', 'bob@example.com', '--password-file', '-', ...cfg],
      'another long password\n',
    );
    assert.equal(r.code, 0, r.stderr);
    const bob = await withStore((s) => s.users.getByEmail('bob@example.com'));
    assert.ok(
      bob?.passwordHash && (await verifyPassword('another long password', bob.passwordHash)),
    );
    const noPw = await runCli(['user', 'add', 'carol@example.com', ...cfg]);
    assert.equal(noPw.code, 0);
    assert.match(noPw.stderr, /no password/);
    const argv = await runCli([
      'user',
      'add',
      'dave@example.com',
      '--password',
      'secret secret secret',
      ...cfg,
    ]);
    assert.equal(argv.code, 2, 'there is no --password option');
  });

  it('refuses a duplicate user, a short password and an empty one with exit 1 and one message', async () => {
    const dup = await runCli(['user', 'add', 'ALICE@example.com', ...cfg]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^error ZT_IDENTITY_USER_EXISTS: /);
    assert.doesNotMatch(dup.stderr, /\n\s+at /, 'no stack trace');
    const short = await runCli(
      ['user', 'add', 'erin@example.com', '--password-file', '-', ...cfg],
      'short\n',
    );
    assert.equal(short.code, 1);
    assert.match(short.stderr, /ZT_IDENTITY_PASSWORD_POLICY/);
    const empty = await runCli(
      ['user', 'passwd', 'alice@example.com', '--password-file', '-', ...cfg],
      '',
    );
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /ZT_CLI_INPUT_INVALID: the password is empty/);
    const missing = await runCli(
      ['user', 'passwd', 'nobody@example.com', '--password-file', '-', ...cfg],
      'a long enough password',
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ZT_IDENTITY_USER_UNKNOWN/);
  });

  it('lists users as a table and as JSON', async () => {
    const text = await runCli(['user', 'list', ...cfg]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^EMAIL\s+STATUS\s+PASSWORD\s+MFA\s+GROUPS\s+ID\n/);
    assert.match(text.stdout, /alice@example\.com\s+active\s+yes\s+-\s+engineering,oncall\s+u_/);
    const json = await runCli(['user', 'list', '--format', 'json', ...cfg]);
    const parsed = JSON.parse(json.stdout) as {
      users: { email: string; groups: string[]; password: boolean }[];
    };
    const alice = parsed.users.find((u) => u.email === 'alice@example.com');
    assert.deepEqual(alice?.groups, ['engineering', 'oncall']);
    assert.equal(alice?.password, true);
    assert.equal((await runCli(['user', 'list', '--format', 'yaml', ...cfg])).code, 2);
  });

  it('changes groups', async () => {
    const r = await runCli([
      'user',
      'groups',
      'alice@example.com',
      '--add',
      'admins',
      '--remove',
      'oncall',
      ...cfg,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'alice@example.com: admins, engineering\n');
    assert.equal((await runCli(['user', 'groups', 'alice@example.com', ...cfg])).code, 2);
    assert.equal(
      (await runCli(['user', 'groups', 'alice@example.com', '--add', 'bad group', ...cfg])).code,
      1,
    );
  });

  it('enrols TOTP, printing the otpauth URI and recovery codes once, and resets it', async () => {
    const r = await runCli(['user', 'mfa', 'totp', 'alice@example.com', ...cfg]);
    assert.equal(r.code, 0, r.stderr);
    const uri = /otpauth:\/\/totp\/\S+/.exec(r.stdout)?.[0] ?? '';
    const secret = new URL(uri).searchParams.get('secret') ?? '';
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const codes = r.stdout.match(/^ {2}[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/gm) ?? [];
    assert.equal(codes.length, 10);
    const alice = await withStore((s) => s.users.getByEmail('alice@example.com'));
    const mfaOk = await withStore(async (s) => {
      const mfa = new MfaStore(s.settings, loadIdentityKey(env.dataDir, { create: false }));
      return mfa.verifyTotp(alice?.id ?? '', totpCode(secret, Date.now()));
    });
    assert.equal(mfaOk, true, 'the printed secret is the enrolled one');
    const again = await runCli(['user', 'mfa', 'totp', 'alice@example.com', ...cfg]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /ZT_IDENTITY_MFA_ALREADY_ENROLLED/);
    const listed = JSON.parse(
      (await runCli(['user', 'list', '--format', 'json', ...cfg])).stdout,
    ) as { users: { email: string; mfa: { totp: boolean } }[] };
    assert.equal(listed.users.find((u) => u.email === 'alice@example.com')?.mfa.totp, true);
    const reset = await runCli(['user', 'mfa', 'reset', 'alice@example.com', ...cfg]);
    assert.equal(reset.code, 0, reset.stderr);
    const nothing = await runCli(['user', 'mfa', 'reset', 'alice@example.com', ...cfg]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /ZT_IDENTITY_MFA_NOT_ENROLLED/);
    assert.equal((await runCli(['user', 'mfa', 'totp', 'alice@example.com', ...cfg])).code, 0);
  });

  it('lists and revokes sessions by session, user and device', async () => {
    const created = await withStore(async (s) => {
      const alice = await s.users.getByEmail('alice@example.com');
      const bob = await s.users.getByEmail('bob@example.com');
      await s.devices.create({
        id: 'dev-1',
        userId: bob?.id ?? '',
        hostname: 'h',
        os: 'linux',
        enrolledAt: Date.now(),
      });
      const m = new SessionManager({
        sessions: s.sessions,
        users: s.users,
        settings: s.settings,
        devices: s.devices,
        box: loadIdentityKey(env.dataDir),
        policy: sessionPolicyFromConfig({ ttl: '8h', idle: '1h', revalidate: '15m' }),
      });
      return {
        a1: await m.create({ userId: alice?.id ?? '' }),
        a2: await m.create({ userId: alice?.id ?? '' }),
        b1: await m.create({ userId: bob?.id ?? '', deviceId: 'dev-1' }),
        b2: await m.create({ userId: bob?.id ?? '' }),
      };
    });
    const list = await runCli(['session', 'list', ...cfg]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^SESSION\s+USER\s+DEVICE\s+STATUS/);
    assert.ok(list.stdout.includes(created.a1.idHash.slice(0, 16)));
    assert.ok(!list.stdout.includes(created.a1.rawId), 'raw ids are never shown');
    const json = JSON.parse(
      (await runCli(['session', 'list', '--user', 'alice@example.com', '--format', 'json', ...cfg]))
        .stdout,
    ) as { sessions: unknown[] };
    assert.equal(json.sessions.length, 2);

    const one = await runCli(['session', 'revoke', created.a1.idHash.slice(0, 16), ...cfg]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, '1 session revoked\n');
    const again = await runCli(['session', 'revoke', created.a1.idHash.slice(0, 16), ...cfg]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /ZT_IDENTITY_SESSION_NOT_FOUND/);
    assert.equal(
      (await runCli(['session', 'revoke', '--device', 'dev-1', ...cfg])).stdout,
      '1 session revoked\n',
    );
    assert.equal(
      (await runCli(['session', 'revoke', '--user', 'bob@example.com', ...cfg])).stdout,
      '1 session revoked\n',
    );
    assert.equal((await runCli(['session', 'revoke', ...cfg])).code, 2);
    assert.equal((await runCli(['session', 'revoke', 'xyz', ...cfg])).code, 1);
    const remaining = JSON.parse(
      (await runCli(['session', 'list', '--format', 'json', ...cfg])).stdout,
    ) as { sessions: { id_hash: string }[] };
    assert.deepEqual(
      remaining.sessions.map((s) => s.id_hash),
      [created.a2.idHash],
    );
  });

  it('disabling a user ends their sessions', async () => {
    const r = await runCli(['user', 'disable', 'alice@example.com', ...cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'disabled alice@example.com (1 session ended)\n');
    assert.equal(
      (await runCli(['user', 'enable', 'alice@example.com', ...cfg])).stdout,
      'enabled alice@example.com\n',
    );
  });

  it('issues a token printing only the token, and revokes it', async () => {
    const r = await runCli([
      'token',
      'issue',
      '--user',
      'alice@example.com',
      '--ttl',
      '10m',
      '--route',
      'app.example.com',
      ...cfg,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    assert.equal(r.stderr, '');
    const token = r.stdout.trim();
    const verify = () =>
      withStore(async (s) => {
        const t = await TokenService.open({
          settings: s.settings,
          users: s.users,
          box: loadIdentityKey(env.dataDir),
          publicUrl: 'https://auth.example.com',
        });
        return t.verify(token, { route: 'app.example.com' });
      });
    const principal = await verify();
    assert.equal(principal.email, 'alice@example.com');
    const list = JSON.parse(
      (await runCli(['token', 'list', '--format', 'json', ...cfg])).stdout,
    ) as { tokens: { jti: string; audience: string }[] };
    assert.equal(list.tokens[0]?.jti, principal.jti);
    assert.equal(list.tokens[0]?.audience, 'app.example.com');
    assert.equal((await runCli(['token', 'revoke', principal.jti, ...cfg])).code, 0);
    await assert.rejects(verify(), /revoked/);
    assert.equal(
      (await runCli(['token', 'issue', '--user', 'alice@example.com', '--ttl', '2d', ...cfg])).code,
      2,
    );
    assert.equal((await runCli(['token', 'issue', '--ttl', '10m', ...cfg])).code, 2);
    assert.equal((await runCli(['token', 'revoke', 'nope', ...cfg])).code, 1);
  });

  it('manages service accounts', async () => {
    assert.equal(
      (await runCli(['token', 'service', 'add', 'ci', '--groups', 'deploy', ...cfg])).code,
      0,
    );
    const t = await runCli(['token', 'issue', '--service', 'ci', '--ttl', '1h', ...cfg]);
    assert.equal(t.code, 0, t.stderr);
    const list = await runCli(['token', 'service', 'list', ...cfg]);
    assert.match(list.stdout, /ci\s+svc:ci\s+deploy/);
    const rm = await runCli(['token', 'service', 'remove', 'ci', ...cfg]);
    assert.equal(rm.stdout, 'removed ci (1 token revoked)\n');
  });

  it('reports a missing config file as a user error', async () => {
    const r = await runCli(['user', 'list', '--config', join(env.dir, 'missing.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ZT_CONFIG_FILE_UNREADABLE/);
  });
});
