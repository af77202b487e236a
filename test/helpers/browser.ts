/**
 * Real headless Chromium for the browser tests (Debian's `chromium`, driven by playwright-core),
 * started the same way everywhere: no sandbox (tests run as root), no GPU, and no background
 * networking (this machine's network is closed; Chromium would otherwise keep trying).
 */
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { totpCode } from '../../src/identity/totp.js';

const BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

/** Resolves every `*.localhost` name to 127.0.0.1 (Chromium does for browsing; this makes it explicit). */
export const LOCALHOST_RULES = '--host-resolver-rules=MAP *.localhost 127.0.0.1';

export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...BASE_ARGS, ...extraArgs],
  });
}

/**
 * Chromium's virtual authenticator (CDP `WebAuthn.addVirtualAuthenticator`): a platform passkey
 * provider with user verification, for passkey enrolment and sign-in.
 */
export async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
}

/**
 * The built-in IdP's sign-in pages, as a person uses them: email and password, then the TOTP code
 * when `totpSecret` is given.
 */
export async function signInWithPassword(
  page: Page,
  email: string,
  password: string,
  totpSecret?: string,
): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  if (totpSecret !== undefined) {
    await page.getByRole('textbox', { name: 'Code' }).fill(totpCode(totpSecret, Date.now()));
    await page.getByRole('button', { name: 'Verify' }).click();
  }
}

/**
 * An init script that records what would show an injection ran or that the CSP had to stop one
 * (`window.__violations`); pair it with `assertInert`.
 */
export const XSS_WATCH = `
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
`;

/** Nothing injected ran (`window.__xss` unset), no dialog opened, the CSP never had to block. */
export async function assertInert(page: Page, dialogs: readonly string[]): Promise<void> {
  // browser-side expressions are strings: the tests are type-checked for Node, without the DOM
  assert.equal(await page.evaluate<unknown>('window.__xss'), undefined);
  assert.deepEqual(await page.evaluate<string[]>('window.__violations'), []);
  assert.deepEqual(dialogs, []);
}
