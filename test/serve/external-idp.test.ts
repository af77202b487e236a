/**
 * `ztgate serve` with an external OIDC identity provider (an oidc-provider instance in the role of
 * Okta or Keycloak, behind a private CA given as `identity.oidc.ca_file`). The IdP is down when
 * ztgate starts: ztgate starts anyway, says so, and answers sign-ins with 503; once the IdP is up,
 * a browser signs in through it and reaches the app, with no restart.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { httpsClient } from '../helpers/https-client.js';
import { freePort, startZtgate, tempFiles, type RunningZtgate } from '../helpers/ztgate.js';
import { startExternalIdp, type ExternalIdp } from '../identity/helpers/external-idp.js';
import { testCertificate } from '../identity/helpers/servers.js';
import { startUpstream, type Upstream } from '../pep/helpers/harness.js';

const SECRET = 'external-client-secret-0123456789';

describe('ztgate serve with an external IdP that starts after it', { timeout: 90_000 }, () => {
  const files = tempFiles({});
  const cfg = join(files.dir, 'ztgate.yaml');
  let upstream: Upstream;
  let server: RunningZtgate;
  let idp: ExternalIdp | undefined;
  let browser: Browser | undefined;
  let port = 0;
  let idpPort = 0;

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>app</title><h1>behind ztgate</h1>');
    });
    port = await freePort();
    idpPort = await freePort();
    writeFileSync(join(files.dir, 'client-secret'), SECRET);
    chmodSync(join(files.dir, 'client-secret'), 0o600);
    writeFileSync(join(files.dir, 'idp-ca.pem'), testCertificate().cert);
    writeFileSync(
      cfg,
      `data_dir: ./data
listen: 127.0.0.1:${port}
public_url: https://auth.localhost:${port}
identity:
  oidc:
    issuer: https://localhost:${idpPort}
    client_id: ztgate
    client_secret_file: ./client-secret
    ca_file: ./idp-ca.pem
    scopes: [openid, email, profile, groups, offline_access]
routes:
  - from: https://app.localhost:${port}
    to: http://127.0.0.1:${upstream.port}
    policy: corp
policies:
  corp:
    allow:
      - groups: [engineering]
`,
    );
    server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
  });

  after(async () => {
    await browser?.close();
    server?.signal('SIGKILL');
    if (server) await server.exited;
    await idp?.close();
    await upstream?.close();
    files.cleanup();
  });

  it('starts while the IdP is down and answers sign-ins with 503', async () => {
    await server.waitFor(/ZT_IDENTITY_IDP_UNAVAILABLE/);
    const get = httpsClient(readFileSync(join(files.dir, 'data', 'pki', 'root.crt'), 'utf8'));
    const r = await get(
      `https://auth.localhost:${port}/oauth2/sign_in?return_to=${encodeURIComponent(`https://app.localhost:${port}/`)}`,
    );
    assert.equal(r.status, 503, r.body);
  });

  it('signs a browser in through the IdP once it is up, without a restart', async () => {
    idp = await startExternalIdp(
      {
        clientId: 'ztgate',
        clientSecret: SECRET,
        redirectUri: `https://auth.localhost:${port}/oauth2/callback`,
        postLogoutRedirectUri: `https://auth.localhost:${port}/oauth2/signed-out`,
        backchannelLogoutUri: `https://auth.localhost:${port}/oauth2/backchannel-logout`,
      },
      { port: idpPort },
    );
    idp.accounts.set('ext-alice', { email: 'alice@corp.example', groups: ['engineering'] });
    idp.next = { sub: 'ext-alice', amr: ['pwd', 'otp'] };
    browser = await launchChromium();
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const res = await page.goto(`https://app.localhost:${port}/dashboard`);
    assert.equal(res?.status(), 200);
    assert.equal(page.url(), `https://app.localhost:${port}/dashboard`);
    await page.getByRole('heading', { name: 'behind ztgate' }).waitFor();
    const seen = upstream.seen.at(-1);
    assert.ok(seen?.headers['x-ztgate-jwt-assertion'], 'the app got the identity');
  });
});
