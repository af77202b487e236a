/**
 * Forward auth as docs/proxy.md configures it, with a browser: the real nginx (`auth_request`) and
 * the real Caddy (`forward_auth`) in front of an app, each with TLS and `/.ztgate/` passed to
 * `ztgate serve`; the built-in IdP; Chromium signing in. The sign-in goes through the app host's
 * `/.ztgate/sign_in` (the nonce cookie), the IdP, and back through `/.ztgate/callback` (the session
 * cookie for the app host); then the front proxy lets requests through with the identity headers
 * ztgate returned.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startCaddy, startNginx, type Peer } from '../../src/pep/testing/peers.js';
import { selfSignedLocalhost } from '../../src/pep/testing/self-signed.js';
import { launchChromium, signInWithPassword } from '../helpers/browser.js';
import { freePort, startZtgate, tempFiles, ztgate, type RunningZtgate } from '../helpers/ztgate.js';
import { startUpstream, type Upstream } from '../pep/helpers/harness.js';

const PASSWORD = 'correct horse battery staple';

type Front = (o: {
  zt: number;
  root: string;
  app: number;
  cert: string;
  key: string;
}) => Promise<Peer>;

function signInThrough(name: string, startFront: Front): void {
  describe(`forward auth with ${name} in front, a browser signing in`, { timeout: 120_000 }, () => {
    const files = tempFiles({});
    const cfg = join(files.dir, 'ztgate.yaml');
    const tls = selfSignedLocalhost();
    let app: Upstream;
    let front: Peer;
    let server: RunningZtgate;
    let browser: Browser;
    let zt = 0;
    let secret = '';
    const cli = (args: string[], stdin?: string) =>
      ztgate([...args, '--config', cfg], { cwd: files.dir, ...(stdin ? { stdin } : {}) });
    const config = (frontPort: number) => `data_dir: ./data
listen: 127.0.0.1:${zt}
public_url: https://auth.localhost:${zt}
proxy:
  trusted_proxies: [127.0.0.1/32]
routes:
  # the app is behind nginx or Caddy: ztgate decides (forward auth) and hands sessions over on its host
  - from: https://app.localhost:${frontPort}
    to: http://127.0.0.1:9
    policy: engineering
policies:
  engineering:
    allow:
      - groups: [engineering]
`;

    before(async () => {
      app = await startUpstream((req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          `<!doctype html><title>app</title><h1>hello ${String(req.headers['x-ztgate-user'] ?? 'nobody')}</h1>`,
        );
      });
      zt = await freePort();
      // the CA first: the front proxy trusts ztgate's root when it starts
      writeFileSync(cfg, config(1));
      const init = await cli(['ca', 'init']);
      assert.equal(init.code, 0, init.stderr);
      const root = join(files.dir, 'data', 'pki', 'root.crt');
      front = await startFront({ zt, root, app: app.port, cert: tls.certFile, key: tls.keyFile });
      writeFileSync(cfg, config(front.port));
      const add = await cli(
        ['user', 'add', 'alice@example.com', '--groups', 'engineering', '--password-file', '-'],
        PASSWORD,
      );
      assert.equal(add.code, 0, add.stderr);
      const mfa = await cli(['user', 'mfa', 'totp', 'alice@example.com']);
      secret = /secret: (\S+)/.exec(mfa.stdout)?.[1] ?? '';
      assert.ok(secret, mfa.stdout);
      server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
      browser = await launchChromium(['--host-resolver-rules=MAP *.localhost 127.0.0.1']);
    });

    after(async () => {
      await browser?.close();
      await front?.stop();
      if (server) {
        server.signal('SIGKILL');
        await server.exited;
      }
      await app?.close();
      tls.cleanup();
      files.cleanup();
    });

    it(`signs in through ${name} and ztgate, then reaches the app with the identity`, async () => {
      const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
      const target = `https://app.localhost:${front.port}/reports?q=1`;
      await page.goto(target);
      assert.equal(new URL(page.url()).host, `auth.localhost:${zt}`, 'at the sign-in page');
      await signInWithPassword(page, 'alice@example.com', PASSWORD, secret);
      await page.waitForURL(target).catch(async (e: unknown) => {
        throw new Error(
          `stopped at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 300)}\n${front.log().slice(-1500)}`,
          { cause: e },
        );
      });
      await page.getByRole('heading', { name: 'hello alice@example.com' }).waitFor();
      const cookies = await page.context().cookies(`https://app.localhost:${front.port}`);
      assert.ok(
        cookies.some((c) => c.name === '__Host-ztgate_session'),
        'the session cookie lives on the app host, set through the front proxy',
      );
      assert.ok(
        app.seen.some(
          (r) => r.url === '/reports?q=1' && r.headers['x-ztgate-user'] === 'alice@example.com',
        ),
        'the app got the request with the identity the front proxy copied from ztgate',
      );
    });
  });
}

const nginxFront: Front = ({ zt, root, app, cert, key }) =>
  startNginx(
    (_dir, port) => `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    location = /_ztgate_auth {
      internal;
      proxy_pass https://127.0.0.1:${zt}/api/authz/auth-request;
      proxy_ssl_server_name on;
      proxy_ssl_name auth.localhost;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${root};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host auth.localhost:${zt};
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location @ztgate_login {
      return 302 $ztgate_login;
    }
    location /.ztgate/ {
      proxy_pass https://127.0.0.1:${zt};
      proxy_ssl_server_name on;
      proxy_ssl_name $host;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${root};
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location / {
      auth_request /_ztgate_auth;
      auth_request_set $ztgate_user $upstream_http_x_ztgate_email;
      auth_request_set $ztgate_login $upstream_http_x_ztgate_login_url;
      error_page 401 = @ztgate_login;
      proxy_set_header X-Ztgate-User $ztgate_user;
      proxy_pass http://127.0.0.1:${app};
    }
  }`,
  );

const caddyFront: Front = ({ zt, root, app, cert, key }) =>
  startCaddy(
    (port) => `https://app.localhost:${port} {
\tbind 127.0.0.1
\ttls ${cert} ${key}
\thandle /.ztgate/* {
\t\treverse_proxy https://127.0.0.1:${zt} {
\t\t\theader_up Host {hostport}
\t\t\ttransport http {
\t\t\t\ttls
\t\t\t\ttls_server_name {host}
\t\t\t\ttls_trusted_ca_certs ${root}
\t\t\t}
\t\t}
\t}
\thandle {
\t\tforward_auth https://127.0.0.1:${zt} {
\t\t\turi /api/authz/forward-auth
\t\t\tcopy_headers X-Ztgate-Email>X-Ztgate-User
\t\t\theader_up Host auth.localhost:${zt}
\t\t\ttransport http {
\t\t\t\ttls
\t\t\t\ttls_server_name auth.localhost
\t\t\t\ttls_trusted_ca_certs ${root}
\t\t\t}
\t\t}
\t\treverse_proxy 127.0.0.1:${app}
\t}
}`,
  );

signInThrough('nginx', nginxFront);
signInThrough('Caddy', caddyFront);
