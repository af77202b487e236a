/**
 * Step-up MFA through the real `ztgate serve` in Chromium: signed in with a password and TOTP, the
 * user opens a route whose policy wants a passkey; the proxy answers `step_up`, the browser goes to
 * `{public_url}/oauth2/step_up`, through the built-in IdP (a fresh factor, then a passkey made with
 * Chromium's virtual authenticator) and back to the route host through a handoff, where the app
 * now gets the request. Screenshots go to test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { addVirtualAuthenticator, launchChromium, signInWithPassword } from '../helpers/browser.js';
import { totpCode } from '../../src/identity/totp.js';
import { startUpstream, type Upstream } from '../pep/helpers/harness.js';
import { freePort, startZtgate, tempFiles, ztgate, type RunningZtgate } from '../helpers/ztgate.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'e2e');
const PASSWORD = 'correct horse battery staple';

describe('step-up MFA through ztgate serve in Chromium', { timeout: 120_000 }, () => {
  const files = tempFiles({});
  const cfg = join(files.dir, 'ztgate.yaml');
  let upstream: Upstream;
  let server: RunningZtgate;
  let browser: Browser;
  let page: Page;
  let port = 0;
  let secret = '';
  const url = (name: string, path = '/') => `https://${name}.localhost:${port}${path}`;
  const cli = (args: string[], stdin?: string) =>
    ztgate([...args, '--config', cfg], { cwd: files.dir, ...(stdin ? { stdin } : {}) });

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    upstream = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>app</title><h1>app ${String(req.headers['x-forwarded-host'])}</h1>`,
      );
    });
    port = await freePort();
    writeFileSync(
      cfg,
      `data_dir: ./data
listen: 127.0.0.1:${port}
public_url: https://auth.localhost:${port}
routes:
  - from: https://app.localhost:${port}
    to: http://127.0.0.1:${upstream.port}
    policy: signed-in
  - from: https://vault.localhost:${port}
    to: http://127.0.0.1:${upstream.port}
    policy: passkey
policies:
  signed-in:
    allow:
      - authenticated: true
  passkey:
    allow:
      - authenticated: true
        mfa: { methods: [webauthn], max_age: 5m }
`,
    );
    const add = await cli(['user', 'add', 'alice@example.com', '--password-file', '-'], PASSWORD);
    assert.equal(add.code, 0, add.stderr);
    const mfa = await cli(['user', 'mfa', 'totp', 'alice@example.com']);
    assert.equal(mfa.code, 0, mfa.stderr);
    secret = /secret: (\S+)/.exec(mfa.stdout)?.[1] ?? '';
    assert.ok(secret, mfa.stdout);
    server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
    browser = await launchChromium(['--host-resolver-rules=MAP *.localhost 127.0.0.1']);
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1000, height: 760 },
    });
    page = await context.newPage();
    await addVirtualAuthenticator(context, page);
  });

  after(async () => {
    await browser?.close();
    if (server) {
      server.signal('SIGKILL');
      await server.exited;
    }
    await upstream?.close();
    files.cleanup();
  });

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `step-up-${name}.png`), fullPage: true });

  it('signs in with a password and TOTP on the app host', async () => {
    await page.goto(url('app', '/home'));
    await signInWithPassword(page, 'alice@example.com', PASSWORD, secret);
    await page.waitForURL(url('app', '/home'));
    await page.getByRole('heading', { name: `app app.localhost:${port}` }).waitFor();
  });

  it('steps up to a passkey for the vault route and comes back to it', async () => {
    const seen = upstream.seen.length;
    await page.goto(url('vault', '/secrets?x=1'));
    // single sign-on hands the session to the vault host, then the policy asks for a passkey:
    // a fresh factor first (the TOTP step after the one used at sign-in), then a new passkey
    await page.getByRole('textbox', { name: 'Code' }).waitFor();
    assert.equal(new URL(page.url()).host, `auth.localhost:${port}`, 'at the IdP');
    await shot('fresh-factor');
    await page.getByRole('textbox', { name: 'Code' }).fill(totpCode(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Set up a passkey' }).waitFor();
    await shot('passkey');
    await page.getByRole('button', { name: 'Create a passkey' }).click();
    await page.waitForURL(url('vault', '/secrets?x=1'));
    await page.getByRole('heading', { name: `app vault.localhost:${port}` }).waitFor();
    await shot('vault');
    assert.ok(upstream.seen.length > seen, 'the request reached the app');
    const q = await cli(['audit', 'query', '--format', 'json', '--kind', 'mfa', '--limit', '50']);
    assert.match(q.stdout, /mfa\.step_up\.succeeded/);
  });
});
