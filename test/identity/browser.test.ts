/**
 * The sign-in pages in real Chromium (playwright-core), over HTTPS on 127.0.0.1 with a certificate
 * made for the run: password + TOTP, step-up to a passkey (enrolled with Chromium's virtual
 * authenticator), logout, and passkey sign-in. Screenshots go to test-artifacts/identity/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { addVirtualAuthenticator, launchChromium } from '../helpers/browser.js';
import { totpCode } from '../../src/identity/totp.js';
import { startIdentityStack, type IdentityStack } from './helpers/stack.js';
import { unescapeHtml, type AppInfo } from './helpers/flows.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'identity');
const PW = 'correct horse battery staple';

describe('sign-in in Chromium', { timeout: 60_000 }, () => {
  let s: IdentityStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let secret = '';
  const consoleErrors: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    s = await startIdentityStack();
    const alice = await s.addUser('alice@example.com', PW, ['engineering']);
    secret = (await s.mfa.enrolTotp(alice.id)).secret;
    browser = await launchChromium([
      '--ignore-certificate-errors',
      '--host-resolver-rules=MAP localhost 127.0.0.1',
    ]);
    context = await browser.newContext({ viewport: { width: 900, height: 760 } });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await addVirtualAuthenticator(context, page);
  });

  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const info = async (): Promise<AppInfo> =>
    JSON.parse(unescapeHtml(await page.locator('#info').innerHTML())) as AppInfo;

  it('signs in with a password and a TOTP code', async () => {
    await page.goto(`${s.origin}/app/home`);
    await page.getByLabel('Email').waitFor();
    assert.equal(await page.title(), 'Sign in · ztgate');
    await shot('01-sign-in');
    await page.getByLabel('Email').fill('alice@example.com');
    await page.getByLabel('Password').fill(PW);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('textbox', { name: 'Code' }).waitFor();
    await shot('02-totp');
    await page.getByRole('textbox', { name: 'Code' }).fill(totpCode(secret, Date.now()));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${s.origin}/app/home`);
    await shot('03-signed-in');
    const i = await info();
    assert.equal(i.email, 'alice@example.com');
    assert.deepEqual(i.amr, ['mfa', 'otp', 'pwd']);
    assert.deepEqual(i.mfa, ['mfa', 'otp', 'totp']);
    const cookie = (await context.cookies()).find((c) => c.name === '__Host-ztgate_session');
    assert.ok(
      cookie?.secure && cookie.httpOnly && cookie.sameSite === 'Lax' && cookie.path === '/',
    );
  });

  it('steps up to a passkey: enrols one with the virtual authenticator and comes back', async () => {
    await page.goto(`${s.origin}/app/passkey`);
    // a fresh factor first: the next TOTP step (the current one was used at sign-in)
    await page.getByRole('textbox', { name: 'Code' }).waitFor();
    await page.getByRole('textbox', { name: 'Code' }).fill(totpCode(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Set up a passkey' }).waitFor();
    await shot('04-enrol-passkey');
    await page.getByRole('button', { name: 'Create a passkey' }).click();
    await page.waitForURL(`${s.origin}/app/passkey`);
    await shot('05-stepped-up');
    const i = await info();
    assert.ok(i.mfa.includes('webauthn'), JSON.stringify(i));
    assert.ok(i.amr.includes('hwk'));
    assert.equal(i.acr, 'phr');
    assert.equal(
      (await s.mfa.summary((await s.env.store.users.getByEmail('alice@example.com'))?.id ?? ''))
        .passkeys,
      1,
    );
  });

  it('signs out of ztgate and of the IdP', async () => {
    await page.goto(`${s.origin}/app/home`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign out of ztgate?' }).waitFor();
    await shot('06-sign-out');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${s.origin}/oauth2/signed-out`);
    assert.equal(
      (await context.cookies()).some((c) => c.name === '__Host-ztgate_session'),
      false,
    );
    await page.goto(`${s.origin}/app/home`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('signs in with the passkey alone (phishing-resistant, no password)', async () => {
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(`${s.origin}/app/home`);
    await shot('07-passkey-sign-in');
    const i = await info();
    assert.equal(i.email, 'alice@example.com');
    assert.deepEqual(i.amr, ['hwk', 'mfa', 'user']);
    assert.equal(i.acr, 'phr');
    assert.deepEqual(i.mfa, ['hwk', 'mfa', 'webauthn']);
    assert.deepEqual(consoleErrors, [], 'no CSP violations or script errors');
  });
});
