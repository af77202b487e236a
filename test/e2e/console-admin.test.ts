/**
 * The console's editing pages in real Chromium against the real `ztgate serve`: the routes editor
 * (an error shown as you type with its line, a save refused because someone changed the config
 * meanwhile, a valid save that the proxy serves at once, a rollback that takes the route away),
 * users and groups (create, change groups, disable; create and delete a group) and API tokens
 * (shown once, revoked). A display name typed into the console and a group name and description
 * written to the store directly carry markup: the test asserts none of it ran. Same setup and
 * checks as console.test.ts; screenshots to test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import {
  XSS_WATCH,
  assertInert as inert,
  launchChromium,
  signInWithPassword,
} from '../helpers/browser.js';
import { openStore } from '../../src/store/open.js';
import { httpsClient, type Reply } from '../helpers/https-client.js';
import { freePort, startZtgate, tempFiles, ztgate, type RunningZtgate } from '../helpers/ztgate.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'e2e');
const PASSWORD = 'correct horse battery staple';
const XSS_NAME = '<img src=x onerror="window.__xss=\'display-name\'">';
// the API refuses such group names; an external IdP's claim or the store could still hold one
const XSS_GROUP = '<script>window.__xss="group"</script>';
const XSS_DESCRIPTION = '<img src=x onerror=window.__xss="description">';
const NEW_APP = 'Hello from the new upstream';

function config(port: number, upstream: number): string {
  return `data_dir: ./data
listen: 127.0.0.1:${port}
public_url: https://auth.localhost:${port}
routes:
  - from: https://app.localhost:${port}
    to: http://127.0.0.1:${upstream}
    policy: engineering
policies:
  engineering:
    allow:
      - groups: [engineering]
  ztgate-admin:
    allow:
      - groups: [admins]
        mfa: { max_age: 30m }
`;
}

describe('console: routes, users, groups and tokens in Chromium', { timeout: 90_000 }, () => {
  const files = tempFiles({});
  const cfg = join(files.dir, 'ztgate.yaml');
  const upstreams: Server[] = [];
  let newUpstream = 0;
  let server: RunningZtgate;
  let browser: Browser;
  let admin: Page;
  let port = 0;
  let totpSecret = '';
  let bearer = '';
  let get: (u: string, init?: { headers?: Record<string, string> }) => Promise<Reply>;
  const dialogs: string[] = [];
  const url = (host: string, path = '/') => `https://${host}.localhost:${port}${path}`;
  const cli = (args: string[], stdin?: string) =>
    ztgate([...args, '--config', cfg], { cwd: files.dir, ...(stdin ? { stdin } : {}) });
  const shot = (name: string) =>
    admin.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
  const assertInert = (page: Page): Promise<void> => inert(page, dialogs);
  /**
   * A request through the proxy to a route's host, as an API client of the admin: the upstream's
   * body, or why there was none. The listener's certificate names every route host and is
   * renewed when the routes change, so a host with no route fails TLS verification.
   */
  const through = async (host: string): Promise<string> => {
    try {
      const r = await get(url(host, '/x'), {
        headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' },
      });
      return r.status === 200 ? r.body : `status ${r.status}`;
    } catch (e) {
      return `error ${(e as { code?: string }).code ?? String(e)}`;
    }
  };
  /** Asks until the answer is `want` (the certificate is renewed in the background). */
  const eventually = async (host: string, want: (body: string) => boolean): Promise<string> => {
    let body = '';
    for (let i = 0; i < 50; i++) {
      body = await through(host);
      if (want(body)) return body;
      await new Promise((r) => setTimeout(r, 100));
    }
    return body;
  };
  const upstream = async (body: string): Promise<number> => {
    const s = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    });
    upstreams.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as AddressInfo).port;
  };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const appPort = await upstream('Hello from the app');
    newUpstream = await upstream(NEW_APP);
    port = await freePort();
    writeFileSync(cfg, config(port, appPort));
    const add = await cli(
      [
        'user',
        'add',
        'admin@example.com',
        '--groups',
        'admins,engineering',
        '--password-file',
        '-',
      ],
      PASSWORD,
    );
    assert.equal(add.code, 0, add.stderr);
    const carol = await cli(['user', 'add', 'carol@example.com', '--groups', 'engineering']);
    assert.equal(carol.code, 0, carol.stderr);
    const carolId = /\((\S+)\)/.exec(carol.stdout)?.[1] ?? '';
    assert.ok(carolId);
    const totp = await cli(['user', 'mfa', 'totp', 'admin@example.com']);
    assert.equal(totp.code, 0, totp.stderr);
    totpSecret = /^\s*secret:\s+(\S+)/m.exec(totp.stdout)?.[1] ?? '';
    assert.ok(totpSecret, totp.stdout);
    // a group whose name and description are markup, and a member of it (the store is the attacker)
    const store = await openStore({ kind: 'sqlite', dataDir: join(files.dir, 'data') });
    await store.groups.create({ name: XSS_GROUP, description: XSS_DESCRIPTION, at: Date.now() });
    await store.users.update(carolId, { groups: ['engineering', XSS_GROUP], at: Date.now() });
    await store.close();

    server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
    const token = await cli(['token', 'issue', '--user', 'admin@example.com', '--ttl', '10m']);
    assert.equal(token.code, 0, token.stderr);
    bearer = token.stdout.trim();
    get = httpsClient(readFileSync(join(files.dir, 'data', 'pki', 'root.crt'), 'utf8'));

    browser = await launchChromium(['--host-resolver-rules=MAP *.localhost 127.0.0.1']);
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 800 },
    });
    context.setDefaultTimeout(10_000);
    await context.addInitScript(XSS_WATCH);
    admin = await context.newPage();
    admin.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });

    await admin.goto(url('auth', '/console/routes'));
    await signInWithPassword(admin, 'admin@example.com', PASSWORD, totpSecret);
    await admin.waitForURL(url('auth', '/console/routes'));
  });

  after(async () => {
    await browser?.close();
    if (server) {
      server.signal('SIGKILL');
      await server.exited;
    }
    for (const s of upstreams) s.close();
    files.cleanup();
  });

  it('routes: validates as you type, refuses a stale save, saves, and the proxy serves it', async () => {
    const editor = admin.getByLabel('Routes (YAML)');
    await editor.waitFor();
    const original = await editor.inputValue();
    assert.match(original, /app\.localhost/);
    assert.notEqual(await through('new'), NEW_APP, 'no route for new.localhost yet');

    // someone else changes the config after this page read it
    const other = await admin.evaluate<number>(`fetch('/api/v1/policies/spare', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-ztgate-csrf': '1' },
      body: JSON.stringify({ allow: [{ groups: ['spare'] }] }),
    }).then((r) => r.status)`);
    assert.equal(other, 201);

    const route = (policy: string) =>
      `${original}- from: https://new.localhost:${port}\n  to: http://127.0.0.1:${newUpstream}\n  policy: ${policy}\n`;
    await editor.fill(route('nonexistent'));
    const problems = admin.locator('#routes-problems');
    await problems.getByText(/nonexistent/).waitFor();
    const line =
      route('nonexistent')
        .split('\n')
        .findIndex((l) => l.includes('nonexistent')) + 1;
    assert.match(await problems.innerText(), new RegExp(`line ${line}:`), 'the policy’s line');
    assert.equal(await editor.getAttribute('aria-invalid'), 'true');
    assert.equal(await admin.getByRole('button', { name: 'Save' }).isDisabled(), true);
    await shot('routes-invalid');

    await editor.fill(route('engineering'));
    await problems.getByText('No problems.').waitFor();
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByText(/Not saved: someone changed the routes or policies/).waitFor();
    assert.notEqual(await through('new'), NEW_APP, 'the stale save changed nothing');
    await shot('routes-conflict');

    await admin.getByRole('button', { name: 'Load the config in force' }).click();
    await admin.getByText(/Not saved/).waitFor({ state: 'detached' });
    assert.equal(await editor.inputValue(), original);
    await editor.fill(route('engineering'));
    await problems.getByText('No problems.').waitFor();
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByText(/Saved as version \d+/).waitFor();

    assert.equal(await eventually('new', (b) => b === NEW_APP), NEW_APP);
    await assertInert(admin);
  });

  it('routes: the versions list the authors; a rollback takes the new route away', async () => {
    const rows = admin.locator('main tbody tr');
    await rows.filter({ hasText: 'in force' }).filter({ hasText: /api:/ }).waitFor();
    const file = rows.filter({ hasText: 'ztgate.yaml' }).first();
    await file.waitFor();
    await shot('routes-versions');
    await file.getByRole('button', { name: /Roll back to \d+/ }).click();
    const editor = admin.getByLabel('Routes (YAML)');
    // the editor shows the config in force again (polled: the CSP forbids string evaluation)
    for (let i = 0; i < 50 && /new\.localhost/.test(await editor.inputValue()); i++)
      await admin.waitForTimeout(100);
    assert.doesNotMatch(await editor.inputValue(), /new\.localhost/);
    const gone = await eventually('new', (b) => b !== NEW_APP);
    assert.match(gone, /^(error|status)/, 'new.localhost is not served');
    assert.equal(await through('app'), 'Hello from the app', 'the file’s route is still served');
    await assertInert(admin);
  });

  it('users and groups: create, change groups, disable; markup stays text', async () => {
    await admin.getByRole('link', { name: 'Users' }).click();
    await admin.getByRole('heading', { name: 'Users and groups' }).waitFor();
    await admin.getByText('New user').click();
    await admin.getByLabel('Email').fill('bob@example.com');
    await admin.getByLabel('Display name').fill(XSS_NAME);
    await admin.getByLabel('Groups (comma-separated)').fill('engineering, contractors');
    await admin.getByLabel('Password (optional)').fill(PASSWORD);
    await admin.getByRole('button', { name: 'Create user' }).click();
    await admin.getByText('Created bob@example.com.').waitFor();
    assert.equal(await admin.getByLabel('Password (optional)').inputValue(), '');
    const bob = admin.locator('main table').first().locator('tbody tr', { hasText: 'bob@' });
    await bob.getByRole('cell', { name: XSS_NAME, exact: true }).waitFor();
    assert.doesNotMatch(await admin.locator('main').innerText(), new RegExp(PASSWORD));

    await bob.getByRole('button', { name: 'Remove bob@example.com from contractors' }).click();
    await bob.getByText('contractors', { exact: true }).waitFor({ state: 'detached' });
    await bob.getByLabel('Add bob@example.com to groups').fill('finance');
    await bob.getByRole('button', { name: 'Add', exact: true }).click();
    await bob.getByText('finance', { exact: true }).waitFor();

    await bob.getByRole('button', { name: 'Disable' }).click();
    await bob.getByText('disabled', { exact: true }).waitFor();
    await bob.getByRole('button', { name: 'Enable' }).waitFor();
    const users = await admin.evaluate<{ email: string; disabled: boolean; groups: string[] }[]>(
      "fetch('/api/v1/users').then((r) => r.json()).then((b) => b.users)",
    );
    const saved = users.find((u) => u.email === 'bob@example.com');
    assert.deepEqual(saved && { disabled: saved.disabled, groups: saved.groups }, {
      disabled: true,
      groups: ['engineering', 'finance'],
    });

    // the hostile group: in carol's groups and in the group list, as text
    const carol = admin.locator('main table').first().locator('tbody tr', { hasText: 'carol@' });
    await carol.getByText(XSS_GROUP, { exact: true }).waitFor();
    await admin.getByRole('cell', { name: XSS_GROUP, exact: true }).waitFor();
    await admin.getByRole('cell', { name: XSS_DESCRIPTION, exact: true }).waitFor();

    await admin.getByLabel('New group').fill('auditors');
    await admin.getByLabel('Description').fill('read the audit log');
    await admin.getByRole('button', { name: 'Create group' }).click();
    const auditors = admin.getByRole('cell', { name: 'auditors', exact: true });
    await auditors.waitFor();
    await shot('users');
    await admin.getByRole('button', { name: 'Delete auditors' }).click();
    await auditors.waitFor({ state: 'detached' });
    await assertInert(admin);
  });

  it('API tokens: created and shown once, then revoked', async () => {
    await admin.getByRole('link', { name: 'API tokens' }).click();
    await admin.getByText('New token').click();
    await admin.getByLabel('Name').fill('ci deploy');
    await admin.getByLabel('routes:write').check();
    await admin.getByRole('button', { name: 'Create token' }).click();
    const secret = admin.locator('code.token');
    await secret.waitFor();
    const token = await secret.innerText();
    assert.match(token, /^ztk_/);
    await admin.getByText('it is not shown again', { exact: false }).waitFor();
    await shot('tokens');
    const row = admin.locator('main tbody tr', { hasText: 'ci deploy' });
    await row.getByText('active', { exact: true }).waitFor();
    await row.getByRole('button', { name: 'Revoke ci deploy' }).click();
    await row.getByText('revoked', { exact: true }).waitFor();
    await admin.reload();
    await row.waitFor();
    assert.doesNotMatch(await admin.locator('main').innerText(), new RegExp(token));
    await assertInert(admin);
  });

  it('phone width: the new pages fit 390 px', async () => {
    await admin.setViewportSize({ width: 390, height: 844 });
    for (const [path, name] of [
      ['/console/routes', 'routes-phone'],
      ['/console/users', 'users-phone'],
      ['/console/tokens', 'tokens-phone'],
    ] as const) {
      await admin.goto(url('auth', path));
      await admin.locator('main h1').waitFor();
      await admin.locator('main table').first().waitFor();
      const overflow = await admin.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      assert.ok(overflow <= 1, `${path}: no sideways scrolling (${overflow}px)`);
      await shot(name);
    }
    await assertInert(admin);
  });
});
