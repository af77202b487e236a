/**
 * Real headless Chromium for the browser tests (Debian's `chromium`, driven by playwright-core),
 * started the same way everywhere: no sandbox (tests run as root), no GPU, and no background
 * networking (this machine's network is closed; Chromium would otherwise keep trying).
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

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
