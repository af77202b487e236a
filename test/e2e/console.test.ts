/**
 * The admin console and the user portal in real Chromium against the real `ztgate serve` process:
 * sign-in through the built-in IdP's pages (password, TOTP for the admin), the overview's charts,
 * the policy editor's validation as you type and the what-if simulator, revoking a user's session
 * and watching their next request refused, explaining a denied request; the portal's apps,
 * sessions (sign out one), devices and "why was I denied?". Script and markup are injected
 * through a request path, a device name and a display name; the test asserts none of it ran and
 * the CSP had nothing to block (it was text all along). Screenshots at 1280x800 and at phone width
 * (390 px) go to test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
  XSS_WATCH,
  assertInert as inert,
  launchChromium,
  signInWithPassword,
} from '../helpers/browser.js';
import { openStore } from '../../src/store/open.js';
import { httpsClient } from '../helpers/https-client.js';
import { freePort, startZtgate, tempFiles, ztgate, type RunningZtgate } from '../helpers/ztgate.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'e2e');
const PASSWORD = 'correct horse battery staple';
const XSS_NAME = '<img src=x onerror="window.__xss=\'name\'">';
const XSS_HOST = '<img src=x onerror=window.__xss="device"><script>window.__xss="device"</script>';
const XSS_PATHS = ['/<img/src=x/onerror=window.__xss=1>', '/<script>window.__xss=2</script>'];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

function config(port: number, upstream: number): string {
  return `data_dir: ./data
listen: 127.0.0.1:${port}
public_url: https://auth.localhost:${port}
routes:
  - from: https://app.localhost:${port}
    to: http://127.0.0.1:${upstream}
    policy: engineering
  - from: https://secret.localhost:${port}
    to: http://127.0.0.1:${upstream}
    policy: finance
policies:
  engineering:
    allow:
      - groups: [engineering]
  finance:
    allow:
      - groups: [finance]
  # the test's admins have no managed device: groups and fresh MFA are enough here
  ztgate-admin:
    allow:
      - groups: [admins]
        mfa: { max_age: 30m }
`;
}

describe('console and portal in Chromium', { timeout: 120_000 }, () => {
  const files = tempFiles({});
  const cfg = join(files.dir, 'ztgate.yaml');
  let upstream: Server;
  let server: RunningZtgate;
  let browser: Browser;
  let port = 0;
  let totpSecret = '';
  let aliceId = '';
  let deniedId = '';
  const dialogs: string[] = [];
  const contexts: BrowserContext[] = [];
  let admin: Page;
  let alice: Page;
  let alice2: Page;
  const url = (host: string, path = '/') => `https://${host}.localhost:${port}${path}`;
  const cli = (args: string[], stdin?: string) =>
    ztgate([...args, '--config', cfg], { cwd: files.dir, ...(stdin ? { stdin } : {}) });

  const newPage = async (width = 1280, height = 800): Promise<Page> => {
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width, height },
    });
    contexts.push(context);
    context.setDefaultTimeout(10_000);
    await context.addInitScript(XSS_WATCH);
    const page = await context.newPage();
    page.on('response', (r) => {
      if (r.url().includes('/api/v1/') && r.status() >= 400)
        console.log(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    return page;
  };

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });

  const signIn = (page: Page, email: string, totp?: string): Promise<void> =>
    signInWithPassword(page, email, PASSWORD, totp);

  const assertInert = (page: Page): Promise<void> => inert(page, dialogs);

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    upstream = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>app</title><h1>Hello from the app</h1>');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    port = await freePort();
    writeFileSync(cfg, config(port, (upstream.address() as AddressInfo).port));
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
    const addAlice = await cli(
      [
        'user',
        'add',
        'alice@example.com',
        '--groups',
        'engineering',
        '--name',
        XSS_NAME,
        '--password-file',
        '-',
      ],
      PASSWORD,
    );
    assert.equal(addAlice.code, 0, addAlice.stderr);
    aliceId = /\((\S+)\)/.exec(addAlice.stdout)?.[1] ?? '';
    assert.ok(aliceId);
    const totp = await cli(['user', 'mfa', 'totp', 'admin@example.com']);
    assert.equal(totp.code, 0, totp.stderr);
    totpSecret = /^\s*secret:\s+(\S+)/m.exec(totp.stdout)?.[1] ?? '';
    assert.ok(totpSecret, totp.stdout);
    // a device whose host name is markup (the agent refuses such names; the store is the attacker here)
    const store = await openStore({ kind: 'sqlite', dataDir: join(files.dir, 'data') });
    await store.devices.create({
      id: 'dev-xss',
      userId: aliceId,
      hostname: XSS_HOST,
      os: 'linux',
      enrolledAt: Date.now(),
      state: 'active',
    });
    await store.close();

    server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
    // markup in request paths, recorded by the audit log as requests a signed-in user made
    const token = await cli(['token', 'issue', '--user', 'alice@example.com', '--ttl', '10m']);
    assert.equal(token.code, 0, token.stderr);
    const get = httpsClient(readFileSync(join(files.dir, 'data', 'pki', 'root.crt'), 'utf8'));
    for (const p of XSS_PATHS) {
      const r = await get(url('secret', p), {
        headers: { authorization: `Bearer ${token.stdout.trim()}`, accept: 'application/json' },
      });
      assert.equal(r.status, 403, `${p}: ${r.body}`);
    }

    browser = await launchChromium(['--host-resolver-rules=MAP *.localhost 127.0.0.1']);
    admin = await newPage();
    alice = await newPage();
    alice2 = await newPage(390, 844);
  });

  after(async () => {
    await browser?.close();
    if (server) {
      server.signal('SIGKILL');
      await server.exited;
    }
    upstream?.close();
    files.cleanup();
  });

  it('serves the pages with a strict CSP and the assets with long cache headers', async () => {
    const get = httpsClient(readFileSync(join(files.dir, 'data', 'pki', 'root.crt'), 'utf8'));
    const page = await get(url('auth', '/console/policies'));
    assert.equal(page.status, 200);
    assert.equal(
      page.headers['content-security-policy'],
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.doesNotMatch(page.body, /<script>|<style|style=/, 'no inline script or style');
    const script = /src="(\/ui\/assets\/console-[A-Z0-9]+\.js)"/.exec(page.body)?.[1] ?? '';
    const asset = await get(url('auth', script));
    assert.equal(asset.status, 200);
    assert.match(asset.headers['cache-control'] ?? '', /max-age=31536000, immutable/);
    assert.match(asset.headers['content-type'] ?? '', /^text\/javascript/);
    assert.equal((await get(url('auth', '/ui/assets/nope-AAAA.js'))).status, 404);
  });

  it('portal: alice signs in, sees her apps and is denied the finance app', async () => {
    await alice.goto(url('app', '/hello'));
    await signIn(alice, 'alice@example.com');
    await alice.waitForURL(url('app', '/hello'));
    await alice.getByRole('heading', { name: 'Hello from the app' }).waitFor();
    const res = await alice.goto(url('secret', '/reports'));
    assert.equal(res?.status(), 403);
    deniedId = UUID.exec(await alice.locator('body').innerText())?.[0] ?? '';
    assert.ok(deniedId, 'the 403 page shows the request id');

    // `/` on the public host is the portal for a signed-in browser
    await alice.goto(url('auth', '/'));
    await alice.waitForURL(url('auth', '/portal/'));
    await alice.getByRole('heading', { name: 'My apps' }).waitFor();
    await alice.getByRole('link', { name: url('app', '').replace(/\/$/, '') }).waitFor();
    await alice.getByText('Apps you cannot open now (1)').click();
    await alice.getByText('you are not in a group this rule requires').waitFor();
    await shot(alice, 'portal-apps');
    await assertInert(alice);
  });

  it('portal: "why was I denied?" explains the request id of the 403 page', async () => {
    await alice.getByRole('link', { name: 'Why was I denied?' }).click();
    await alice.getByLabel('Request id').fill(deniedId);
    await alice.getByRole('button', { name: 'Explain' }).click();
    await alice.waitForURL(url('auth', `/portal/why/${deniedId}`));
    await alice.getByText('the user is in none of the required groups').waitFor();
    const text = await alice.locator('main').innerText();
    assert.match(text, /deny/);
    assert.match(text, /finance/);
    await shot(alice, 'portal-why');
    await assertInert(alice);
  });

  it('portal: devices show a hostile device name as text; sessions sign out one', async () => {
    // a second browser (phone width) signs in as alice too
    await alice2.goto(url('auth', '/portal/sessions'));
    await signIn(alice2, 'alice@example.com');
    await alice2.waitForURL(url('auth', '/portal/sessions'));
    await alice2.getByText('this browser').waitFor();
    await shot(alice2, 'portal-sessions-phone');

    await alice.goto(url('auth', '/portal/devices'));
    await alice.getByText(XSS_HOST, { exact: true }).waitFor();
    await alice.getByRole('button', { name: 'Get an enrollment code' }).click();
    await alice.getByText(/ztgate agent enroll --server/).waitFor();
    await shot(alice, 'portal-devices');
    await assertInert(alice);

    await alice.goto(url('auth', '/portal/sessions'));
    const others = alice.getByRole('button', { name: 'Sign out this session' });
    await others.first().waitFor();
    assert.equal(await others.count(), 1, 'one other session: the phone');
    await others.first().click();
    await alice
      .getByRole('button', { name: 'Sign out this session' })
      .waitFor({ state: 'detached' });
    // the phone's next request is refused (401), and the page sends it to sign in again
    const me = alice2.waitForResponse((r) => r.url().endsWith('/api/v1/me'));
    const signInAgain = alice2.waitForRequest(/\/oauth2\/sign_in\?return_to=%2Fportal%2Fsessions/);
    await alice2.goto(url('auth', '/portal/sessions'));
    assert.equal((await me).status(), 401);
    await signInAgain;
    // the built-in IdP asks for a new sign-in: its own session predates the revocation, so the
    // phone cannot get a new ztgate session silently (docs/console.md)
    await alice2.getByLabel('Password').waitFor();
    assert.equal(new URL(alice2.url()).pathname.startsWith('/oidc/'), true);
    await shot(alice2, 'revoked-phone-signs-in-again');
    await assertInert(alice2);
  });

  it('console: the admin signs in and the overview draws its charts', async () => {
    await admin.goto(url('auth', '/console/'));
    await signIn(admin, 'admin@example.com', totpSecret);
    await admin.waitForURL(url('auth', '/console/'));
    await admin.getByRole('heading', { name: 'Overview' }).waitFor();
    await admin.locator('figure.chart svg rect').first().waitFor();
    assert.ok((await admin.locator('figure.chart').count()) >= 2);
    await admin.getByRole('cell', { name: /group-not-allowed/ }).waitFor();
    await shot(admin, 'overview');
    await assertInert(admin);
  });

  it('console: the policy editor validates as you type and the simulator answers', async () => {
    await admin.getByRole('link', { name: 'Policies' }).click();
    await admin.getByRole('link', { name: 'engineering' }).first().click();
    const editor = admin.getByLabel('Policy (YAML)');
    await editor.waitFor();
    assert.match(await editor.inputValue(), /engineering/);
    await editor.fill('allow:\n  - source_ip: [10.0.0.0/33]\n');
    await admin.getByText(/the prefix length must be from 0 to 32/).waitFor();
    await admin.getByText(/line 2:/).waitFor();
    assert.equal(await editor.getAttribute('aria-invalid'), 'true');
    await editor.fill('allow:\n  - groups: [nobody\n');
    await admin
      .getByText(/line \d+/)
      .first()
      .waitFor();
    await shot(admin, 'policy-invalid');

    await editor.fill('allow:\n  - groups: [nobody]\n');
    await admin.getByText('No problems.').waitFor();
    await admin.getByRole('button', { name: 'Simulate' }).click();
    const answer = admin.locator('.simulation .answer');
    await answer.waitFor();
    const m = /would have denied (\d+) and allowed (\d+) of the last (\d+) requests/.exec(
      await answer.innerText(),
    );
    assert.ok(m, await answer.innerText());
    assert.ok(Number(m[1]) >= 1, 'alice’s allowed requests would be denied');
    await admin.locator('.simulation table').getByText('alice@example.com').first().waitFor();
    await shot(admin, 'simulator');

    // a harmless change, saved
    await editor.fill('allow:\n  - groups: [engineering, admins]\n');
    await admin.getByText('No problems.').waitFor();
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByText(/Saved as version \d+/).waitFor();
    await assertInert(admin);
  });

  it('console: the audit log and users show injected markup as text', async () => {
    await admin.goto(url('auth', '/console/audit?kind=access'));
    for (const p of XSS_PATHS) await admin.getByText(p, { exact: false }).first().waitFor();
    await admin.getByLabel('Live tail').check();
    await shot(admin, 'audit');
    await admin.goto(url('auth', '/console/users'));
    await admin.getByRole('cell', { name: XSS_NAME, exact: true }).waitFor();
    await admin.goto(url('auth', '/console/devices/dev-xss'));
    await admin.getByText(XSS_HOST, { exact: true }).waitFor();
    await shot(admin, 'device');
    await assertInert(admin);
  });

  it('console: revoking alice’s session refuses her next request', async () => {
    await alice.goto(url('app', '/still-here'));
    await alice.getByRole('heading', { name: 'Hello from the app' }).waitFor();
    await admin.goto(url('auth', '/console/sessions'));
    await admin.getByLabel('Filter by user').fill('alice');
    const revoke = admin.getByRole('button', { name: 'Revoke' });
    await revoke.first().waitFor();
    await shot(admin, 'sessions');
    // every live session of alice (this browser's, and the phone's if it signed in again)
    while ((await revoke.count()) > 0) {
      const row = admin.locator('main tbody tr').first();
      const ref = await row.locator('code').first().innerText();
      await row.getByRole('button', { name: 'Revoke' }).click();
      await admin.locator('main tbody tr', { hasText: ref }).waitFor({ state: 'detached' });
    }
    await admin.getByText('No live sessions.').waitFor();
    // her next request is refused: not served, sent to sign in
    const first = alice.waitForResponse((r) => r.url().endsWith('/after-revoke'));
    await alice.goto(url('app', '/after-revoke')).catch(() => undefined);
    const refused = await first;
    assert.equal(refused.status(), 302);
    assert.match(refused.headers().location ?? '', /\/oauth2\/sign_in\?return_to=/);
  });

  it('console: looks up the denied request by its id', async () => {
    await admin.getByRole('link', { name: 'Explain a request' }).click();
    await admin.getByLabel('Request id').fill(deniedId);
    await admin.getByRole('button', { name: 'Explain' }).click();
    await admin.waitForURL(url('auth', `/console/requests/${deniedId}`));
    await admin.getByText('the user is in none of the required groups').waitFor();
    const text = await admin.locator('main').innerText();
    assert.match(text, /alice@example\.com/);
    assert.match(text, /\/reports/);
    await shot(admin, 'request');
    await assertInert(admin);
  });

  it('keyboard: a skip link first, then the sections and the main actions', async () => {
    await admin.goto(url('auth', '/console/sessions'));
    await admin.getByRole('heading', { name: 'Sessions' }).waitFor();
    // the table arrives after the heading (its data is fetched): tab once it is there
    await admin.getByRole('button', { name: 'Revoke' }).first().waitFor();
    await admin.keyboard.press('Tab');
    assert.equal(
      await admin.evaluate<string>('document.activeElement.textContent'),
      'Skip to content',
    );
    const seen: string[] = [];
    for (let i = 0; i < 25; i++) {
      await admin.keyboard.press('Tab');
      seen.push(await admin.evaluate<string>("(document.activeElement?.textContent ?? '').trim()"));
    }
    for (const name of ['Overview', 'Policies', 'Sessions', 'Audit log', 'Revoke', 'Sign out']) {
      assert.ok(seen.includes(name), `${name} is reachable by Tab: ${seen.join(' | ')}`);
    }
  });

  it('phone width: the console and the portal fit 390 px', async () => {
    await admin.setViewportSize({ width: 390, height: 844 });
    await admin.goto(url('auth', '/console/'));
    await admin.locator('figure.chart svg').first().waitFor();
    const overflow = await admin.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    assert.ok(overflow <= 1, `no sideways scrolling (${overflow}px)`);
    await shot(admin, 'overview-phone');
    await admin.goto(url('auth', '/portal/'));
    await admin.getByRole('heading', { name: 'My apps' }).waitFor();
    await shot(admin, 'portal-phone');
    await assertInert(admin);
  });
});
