/**
 * Signing in on app hosts in real Chromium (playwright-core), through the real proxy: the browser
 * opens an app host, signs in on the public host, and comes back to the app host with a session
 * cookie of its own (the redirect loop this fixes); a second app then opens without a sign-in; a
 * used sign-in link shows the page that says what to do. Screenshots go to test-artifacts/identity/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { SESSION_COOKIE } from '../../src/identity/session/cookie.js';
import { PASSWORD, startProxiedStack, type ProxiedStack } from './helpers/proxied.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'identity');

describe('signing in on app hosts in Chromium', { timeout: 60_000 }, () => {
  let s: ProxiedStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const ticketUrls: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    s = await startProxiedStack();
    browser = await launchChromium([
      '--ignore-certificate-errors',
      // identity's pages are served over HTTP/1.1 by the test stack
      '--disable-http2',
      '--host-resolver-rules=MAP *.localhost 127.0.0.1',
    ]);
    context = await browser.newContext({ viewport: { width: 900, height: 760 } });
    page = await context.newPage();
    page.on('request', (r) => {
      if (r.url().includes('/.ztgate/callback')) ticketUrls.push(r.url());
    });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const sessionCookie = async (host: string) =>
    (await context.cookies(`https://${host}.localhost:${s.port}/`)).find(
      (c) => c.name === SESSION_COOKIE,
    );

  it('opens an app host, signs in on the public host and lands back on the app', async () => {
    await page.goto(s.url('app', '/hello?x=1'));
    await page.getByLabel('Email').waitFor();
    assert.equal(new URL(page.url()).host, `auth.localhost:${s.port}`);
    await page.getByLabel('Email').fill('alice@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(s.url('app', '/hello?x=1'));
    await shot('handoff-01-app');
    const body = JSON.parse(await page.locator('body').innerText()) as { url: string };
    assert.equal(body.url, '/hello?x=1', 'the upstream answered');
    const app = await sessionCookie('app');
    const auth = await sessionCookie('auth');
    assert.ok(app?.secure && app.httpOnly && app.sameSite === 'Lax' && app.path === '/');
    assert.equal(app.domain, 'app.localhost', 'host-only, on the app host');
    assert.equal(app.value, auth?.value, 'the same session as on the public host');
    assert.equal(ticketUrls.length, 1);
  });

  it('opens a second app without signing in again', async () => {
    await page.goto(s.url('other', '/reports'));
    await page.waitForURL(s.url('other', '/reports'));
    const body = JSON.parse(await page.locator('body').innerText()) as { url: string };
    assert.equal(body.url, '/reports');
    assert.equal(ticketUrls.length, 2);
    assert.ok((await sessionCookie('other'))?.value);
  });

  it('shows what to do when a sign-in link is used again', async () => {
    const used = ticketUrls[1];
    assert.ok(used);
    const answer = await page.goto(used);
    assert.equal(answer?.status(), 400);
    await page.getByRole('heading', { name: 'Sign-in link not valid' }).waitFor();
    await shot('handoff-02-used-link');
    assert.match(await page.locator('main').innerText(), /already used or has expired/);
  });
});
