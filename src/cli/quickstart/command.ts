/**
 * `ztgate quickstart` (what `npm start` runs): a working, secure demo on https://*.localhost:8443.
 *
 * It writes `<dir>/quickstart.yaml`, starts the real server on it (the same composition as
 * `ztgate serve`: internal CA, TLS for every host, built-in IdP, audit log) and a demo upstream
 * that trusts only verified identity assertions, and creates a demo user with a password and a
 * TOTP secret, printed once. A second start reuses the CA, the store and the user.
 *
 * Three routes show the three ideas: `public` (anyone), `app` (group engineering with MFA) and
 * `device` (a managed device: enroll one with `ztgate agent enroll`).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { JWK } from 'jose';
import { renderUnicodeCompact } from 'uqr';
import { caFetch } from '../../identity/rp/ca-fetch.js';
import { totpUri } from '../../identity/totp.js';
import { UserAdmin } from '../../identity/users.js';
import { pkiDir, FILES as PKI_FILES } from '../../pki/ca/store-files.js';
import { ZtError } from '../../shared/errors.js';
import { ExitRequest, reportError, type Io } from '../output.js';
import { createServeLog } from '../serve/log.js';
import { localhostLookup, startServer, type RunningServer } from '../serve/server.js';
import { runUntilSignal } from '../serve/command.js';
import { createDemoApp } from './demo-app.js';

export const DEMO_USER = 'demo@example.com';

export interface QuickstartOptions {
  readonly dir: string;
  readonly host: string;
  readonly port: number;
}

/** The generated config: three routes to the demo app, three policies. */
export function quickstartConfig(o: { port: number; host: string; demoPort: number }): string {
  const origin = (name: string): string => `https://${name}.localhost:${o.port}`;
  const to = `http://127.0.0.1:${o.demoPort}`;
  return `# Written by \`ztgate quickstart\` at every start: edit a copy, then run
# \`ztgate serve --config <copy>\` on it. The reference is docs/config.md.
data_dir: .
listen: ${o.host}:${o.port}
public_url: ${origin('auth')}
routes:
  - from: ${origin('public')}
    to: ${to}
    policy: public
  - from: ${origin('app')}
    to: ${to}
    policy: engineering
    identity_headers: true
  - from: ${origin('device')}
    to: ${to}
    policy: managed-device
policies:
  public:
    allow:
      - public: true
  engineering:
    allow:
      - groups: [engineering]
        mfa: { max_age: 12h }
  managed-device:
    allow:
      - authenticated: true
        device: { managed: true }
  # who may use the admin console and API (the built-in default also wants a managed device)
  ztgate-admin:
    allow:
      - groups: [admins]
        mfa: { max_age: 30m }
`;
}

interface DemoUser {
  readonly created: boolean;
  readonly password?: string;
  readonly totpSecret?: string;
  readonly recoveryCodes?: readonly string[];
}

async function ensureDemoUser(server: RunningServer): Promise<DemoUser> {
  const existing = await server.store.users.getByEmail(DEMO_USER);
  if (existing) return { created: false };
  const password = randomBytes(12).toString('base64url');
  const user = await new UserAdmin({ users: server.store.users }).add({
    email: DEMO_USER,
    displayName: 'Demo User',
    groups: ['engineering', 'admins'],
    password,
  });
  const { secret, recoveryCodes } = await server.identity.mfa.enrolTotp(user.id);
  return { created: true, password, totpSecret: secret, recoveryCodes };
}

/** Two aligned columns, indented. */
function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`);
}

function banner(server: RunningServer, o: QuickstartOptions, user: DemoUser, cwd: string): string {
  const url = (name: string): string => `https://${name}.localhost:${server.port}`;
  const ca = relative(cwd, join(pkiDir(o.dir), PKI_FILES.rootCert)) || PKI_FILES.rootCert;
  const lines = [
    '',
    'ztgate quickstart is running.',
    '',
    ...table([
      [url('public'), 'anyone'],
      [url('app'), 'group engineering, with MFA'],
      [url('device'), 'a managed device (enroll one: docs/device.md)'],
      [`${url('auth')}/portal/`, 'your apps, sessions and devices'],
      [`${url('auth')}/console/`, 'the admin console (the demo user is an admin)'],
    ]),
    '',
  ];
  if (user.created) {
    lines.push(
      `Demo user (shown once; reset with \`ztgate user passwd ${DEMO_USER} --config ${relative(cwd, join(o.dir, 'quickstart.yaml'))} --password-file -\`):`,
      `  email:        ${DEMO_USER}`,
      `  password:     ${user.password ?? ''}`,
      `  TOTP secret:  ${user.totpSecret ?? ''}`,
      `  TOTP URI:     ${totpUri(user.totpSecret ?? '', DEMO_USER)}`,
      // a terminal can show the URI as a QR code to scan with a phone's authenticator app
      ...(process.stdout.isTTY
        ? [renderUnicodeCompact(totpUri(user.totpSecret ?? '', DEMO_USER), { border: 1 })]
        : []),
      `  recovery:     ${(user.recoveryCodes ?? []).join(' ')}`,
      '',
    );
  } else {
    lines.push(`Demo user: ${DEMO_USER} (its password was printed at the first start).`, '');
  }
  lines.push(
    `The certificates come from ztgate's own CA: trust ${ca} in your browser, or:`,
    `  curl --cacert ${ca} ${url('public')}/`,
    '',
    'Press Ctrl-C to stop (running requests finish, every audit record is written).',
    '',
  );
  return lines.join('\n');
}

export async function runQuickstart(o: QuickstartOptions, io: Io): Promise<number> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  let running: RunningServer | undefined;
  const demo = createDemoApp({
    issuer: `https://auth.localhost:${o.port}`,
    title: 'ztgate demo app',
    publicHosts: [`public.localhost:${o.port}`],
    fetchJwks: async () => {
      if (!running) throw new Error('ztgate is not running yet');
      const fetch = caFetch(running.caPem, { lookup: localhostLookup });
      const res = await fetch(
        `https://auth.localhost:${running.port}/.well-known/ztgate/jwks.json`,
        {},
      );
      return (await res.json()) as { keys: JWK[] };
    },
  });
  await new Promise<void>((ok, fail) => {
    demo.once('error', fail);
    demo.listen(0, '127.0.0.1', ok);
  });
  const demoPort = (demo.address() as AddressInfo).port;
  const configPath = join(o.dir, 'quickstart.yaml');
  writeFileSync(configPath, quickstartConfig({ port: o.port, host: o.host, demoPort }), {
    mode: 0o600,
  });
  try {
    running = await startServer({
      configPath,
      env: {},
      log: createServeLog((line) => io.stderr(`${line}\n`)),
    });
    const user = await ensureDemoUser(running);
    io.stdout(banner(running, o, user, process.cwd()));
  } catch (err) {
    demo.close();
    await running?.close(0);
    throw err;
  }
  const code = await runUntilSignal(running, io, 5_000);
  demo.close();
  return code;
}

export function registerQuickstartCommand(program: Command, io: Io): void {
  program
    .command('quickstart')
    .description('run a working demo on https://*.localhost:8443 (what `npm start` runs)')
    .option('--dir <dir>', 'where the demo keeps its CA, database and config', '.ztgate')
    .option('--listen <host:port>', 'the address to listen on', '127.0.0.1:8443')
    .action(async (opts: { dir: string; listen: string }) => {
      const m = /^(.+):(\d{1,5})$/.exec(opts.listen);
      const port = Number(m?.[2]);
      if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new ExitRequest(
          reportError(
            new ZtError('ZT_CLI_USAGE', `--listen ${opts.listen} is not host:port`, {
              help: 'for example `--listen 127.0.0.1:8443`',
            }),
            io,
            'text',
          ),
        );
      }
      let code: number;
      try {
        code = await runQuickstart({ dir: resolve(opts.dir), host: m[1] ?? '127.0.0.1', port }, io);
      } catch (err) {
        throw new ExitRequest(reportError(err, io, 'text'));
      }
      if (code !== 0) throw new ExitRequest(code);
    });
}
