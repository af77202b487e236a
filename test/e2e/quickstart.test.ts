/**
 * The README's walkthrough in real Chromium against the real `ztgate quickstart` process: the public
 * route for anyone, sign-in with the printed password and TOTP secret through the route host,
 * the demo app showing the verified identity, the managed-device route's 403 page, and a second
 * start that reuses what the first created. Screenshots go to test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { totpCode } from '../../src/identity/totp.js';
import { freePort, startZtgate, tempFiles, ztgate, type RunningZtgate } from '../helpers/ztgate.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'e2e');

function field(banner: string, name: string): string {
  const m = new RegExp(`^\\s*${name}:\\s+(\\S+)`, 'm').exec(banner);
  assert.ok(m?.[1], `the banner prints the ${name}:\n${banner}`);
  return m[1];
}

describe('ztgate quickstart in Chromium', { timeout: 120_000 }, () => {
  const files = tempFiles({});
  let qs: RunningZtgate;
  let browser: Browser;
  let page: Page;
  let port = 0;
  let password = '';
  let secret = '';
  const url = (name: string, path = '/') => `https://${name}.localhost:${port}${path}`;
  const start = (): Promise<RunningZtgate> =>
    startZtgate(['quickstart', '--dir', '.ztgate', '--listen', `127.0.0.1:${port}`], {
      cwd: files.dir,
    });
  const waitBanner = async (p: RunningZtgate): Promise<string> => {
    const t0 = Date.now();
    while (!p.stdout().includes('Press Ctrl-C') && Date.now() - t0 < 10_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return p.stdout();
  };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    port = await freePort();
    qs = await start();
    const banner = await waitBanner(qs);
    password = field(banner, 'password');
    secret = field(banner, 'TOTP secret');
    browser = await launchChromium(['--host-resolver-rules=MAP *.localhost 127.0.0.1']);
    // the demo CA is not in Chromium's store: this test checks ztgate's flows, not the OS trust store
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1000, height: 760 },
    });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    if (qs) {
      qs.signal('SIGKILL');
      await qs.exited;
    }
    files.cleanup();
  });

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `quickstart-${name}.png`), fullPage: true });

  it('lets anyone reach the public route', async () => {
    const res = await page.goto(url('public'));
    assert.equal(res?.status(), 200);
    await page.getByRole('heading', { name: 'Hello, anonymous visitor' }).waitFor();
    await shot('public');
  });

  it('signs the demo user in through the app host and shows the verified identity', async () => {
    await page.goto(url('app', '/hello?from=test'));
    assert.equal(new URL(page.url()).host, `auth.localhost:${port}`, 'sent to sign in');
    await page.getByLabel('Email').fill('demo@example.com');
    await page.getByLabel('Password').fill(password);
    await shot('sign-in');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('textbox', { name: 'Code' }).fill(totpCode(secret, Date.now()));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(url('app', '/hello?from=test'));
    const body = await page.locator('body').innerText();
    assert.match(body, /demo@example\.com/);
    assert.match(body, /engineering/);
    assert.match(body, new RegExp(`app\\.localhost:${port}`), 'the audience is the route host');
    await shot('app');
  });

  it('opens the admin console for the demo user (an admin, with MFA)', async () => {
    await page.goto(url('auth', '/console/'));
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await shot('console');
  });

  it('answers the managed-device route with a 403 page that says why', async () => {
    const res = await page.goto(url('device'));
    assert.equal(res?.status(), 403);
    const text = await page.locator('body').innerText();
    assert.match(text, /device/i);
    assert.match(text, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'the request id is shown');
    await shot('device-denied');
  });

  it('recorded every decision in a verifiable audit log, and a second start reuses the data', async () => {
    qs.signal('SIGTERM');
    assert.equal(await qs.exited, 0);
    const cfg = ['--config', join(files.dir, '.ztgate', 'quickstart.yaml')];
    const verify = await ztgate(['audit', 'verify', ...cfg], { cwd: files.dir });
    assert.equal(verify.code, 0, verify.stderr);
    const q = await ztgate(['audit', 'query', '--format', 'json', '--limit', '500', ...cfg], {
      cwd: files.dir,
    });
    assert.match(q.stdout, /"decision":\s*"deny"/);
    assert.match(q.stdout, /login/);
    qs = await start();
    const banner = await waitBanner(qs);
    assert.match(banner, /its password was printed at the first start/);
    assert.doesNotMatch(banner, /TOTP secret/);
  });
});
