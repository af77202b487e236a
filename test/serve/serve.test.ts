/**
 * `ztgate serve` as users run it: the real process on 127.0.0.1, a real upstream, bearer tokens
 * from `ztgate token issue`, the real audit log. Covers allow, deny, login, audit mode, header
 * stripping, ambiguous paths, upstream down, SIGHUP reload (good and bad), SIGTERM drain with
 * every record written, and start-up config errors with file:line:col.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JWK } from 'jose';
import { verifyAssertion } from '../../src/pep/assertion/assertion.js';
import { httpsClient } from '../helpers/https-client.js';
import { freePort, startZtgate, tempFiles, ztgate, type RunningZtgate } from '../helpers/ztgate.js';

interface Seen {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

function config(port: number, upstream: number, deadPort: number, extra = ''): string {
  return `data_dir: ./data
listen: 127.0.0.1:${port}
public_url: https://auth.localhost:${port}
proxy:
  max_request_body: 1KiB
  access_log: ./access.log
routes:
  - from: https://app.localhost:${port}
    to: http://127.0.0.1:${upstream}
    policy: engineering
    identity_headers: true
  - from: https://trial.localhost:${port}
    to: http://127.0.0.1:${upstream}
    policy: engineering
    mode: audit
  - from: https://down.localhost:${port}
    to: http://127.0.0.1:${deadPort}
    policy: engineering
policies:
  engineering:
    allow:
      - groups: [engineering]${extra}
`;
}

describe('ztgate serve (the real process)', { timeout: 120_000 }, () => {
  const files = tempFiles({});
  let upstream: Server;
  const seen: Seen[] = [];
  let port = 0;
  let upstreamPort = 0;
  let deadPort = 0;
  let server: RunningZtgate;
  let get: ReturnType<typeof httpsClient>;
  let alice = '';
  let bob = '';
  const cfg = join(files.dir, 'ztgate.yaml');
  const cli = (args: string[]) => ztgate([...args, '--config', cfg], { cwd: files.dir });

  before(async () => {
    upstream = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as AddressInfo).port;
    port = await freePort();
    deadPort = await freePort();
    writeFileSync(cfg, config(port, upstreamPort, deadPort));
    for (const [email, groups] of [
      ['alice@example.com', 'engineering'],
      ['bob@example.com', 'sales'],
    ] as const) {
      const r = await cli(['user', 'add', email, '--groups', groups]);
      assert.equal(r.code, 0, r.stderr);
    }
    server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
    get = httpsClient(readFileSync(join(files.dir, 'data', 'pki', 'root.crt'), 'utf8'));
    for (const [email, set] of [
      ['alice@example.com', (t: string) => (alice = t)],
      ['bob@example.com', (t: string) => (bob = t)],
    ] as const) {
      const r = await cli(['token', 'issue', '--user', email, '--ttl', '10m']);
      assert.equal(r.code, 0, r.stderr);
      set(r.stdout.trim());
    }
  });

  after(async () => {
    if (server) {
      server.signal('SIGKILL');
      await server.exited;
    }
    upstream?.close();
    files.cleanup();
  });

  /** Writes the config file, sends SIGHUP and waits for the reload to be logged. */
  const reloadWith = async (text: string): Promise<void> => {
    const before = server.stderrLines.filter((l) => l.includes('ZT_SERVE_RELOADED')).length;
    writeFileSync(cfg, text);
    server.signal('SIGHUP');
    const t0 = Date.now();
    while (
      server.stderrLines.filter((l) => l.includes('ZT_SERVE_RELOADED')).length === before &&
      Date.now() - t0 < 5000
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const app = (path = '/') => `https://app.localhost:${port}${path}`;
  const bearer = (t: string, more: Record<string, string> = {}) => ({
    authorization: `Bearer ${t}`,
    ...more,
  });

  it('is alive and ready on the public host', async () => {
    assert.equal((await get(`https://auth.localhost:${port}/healthz`)).status, 200);
    assert.equal((await get(`https://auth.localhost:${port}/readyz`)).status, 200);
  });

  it('sends browsers to sign in and tells API clients 401', async () => {
    const browser = await get(app('/x?y=1'), { headers: { accept: 'text/html' } });
    assert.equal(browser.status, 302);
    const location = new URL(String(browser.headers.location));
    assert.equal(
      `${location.origin}${location.pathname}`,
      `https://auth.localhost:${port}/oauth2/sign_in`,
    );
    assert.equal(location.searchParams.get('return_to'), app('/x?y=1'));
    // bound to this browser: the commitment to the nonce cookie set on the app host (login CSRF)
    const nonce = /^__Host-ztgate_handoff=([A-Za-z0-9_-]{43});/.exec(
      String(browser.headers['set-cookie']),
    )?.[1];
    assert.ok(nonce, String(browser.headers['set-cookie']));
    assert.equal(
      location.searchParams.get('handoff'),
      createHash('sha256').update(nonce).digest('base64url'),
    );
    const api = await get(app('/x'), { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    assert.equal(api.json().error, 'login_required');
  });

  it('forwards an allowed request with a verifiable assertion and strips forged headers', async () => {
    seen.length = 0;
    const r = await get(app('/hello?q=1'), {
      headers: bearer(alice, { 'x-ztgate-user': 'admin', X_Ztgate_Email: 'root@evil.example' }),
    });
    assert.equal(r.status, 200, r.body);
    const h = seen[0]?.headers;
    assert.ok(h, 'the upstream was reached');
    assert.equal(seen[0]?.url, '/hello?q=1');
    assert.equal(h['x-ztgate-email'], 'alice@example.com');
    assert.notEqual(h['x-ztgate-user'], 'admin');
    assert.equal(h['x_ztgate_email'], undefined);
    const jwks = (await get(`https://auth.localhost:${port}/.well-known/ztgate/jwks.json`)).json<{
      keys: JWK[];
    }>();
    const claims = await verifyAssertion(String(h['x-ztgate-jwt-assertion']), jwks, {
      issuer: `https://auth.localhost:${port}`,
      audience: `app.localhost:${port}`,
      now: Date.now(),
    });
    assert.equal(claims.email, 'alice@example.com');
    assert.deepEqual(claims.groups, ['engineering']);
  });

  it('denies with 403, the request id and the reasons', async () => {
    seen.length = 0;
    const r = await get(app('/'), { headers: bearer(bob, { accept: 'application/json' }) });
    assert.equal(r.status, 403);
    const body = r.json<{ error: string; request_id: string; reasons: unknown[] }>();
    assert.equal(body.error, 'access_denied');
    assert.equal(body.request_id, r.headers['x-request-id']);
    assert.ok(body.reasons.length > 0);
    assert.equal(seen.length, 0, 'nothing reached the upstream');
  });

  it('forwards anyway under mode: audit', async () => {
    seen.length = 0;
    const r = await get(`https://trial.localhost:${port}/`, { headers: bearer(bob) });
    assert.equal(r.status, 200);
    assert.equal(seen.length, 1);
  });

  it('refuses ambiguous paths and smuggling framing with 400', async () => {
    // (dot segments are resolved by Node's client before sending: the pep tests send them raw)
    for (const path of ['/a/%2f/b', '/a%00b', '/a%5cb']) {
      const r = await get(app(path), { headers: bearer(alice) });
      assert.equal(r.status, 400, path);
    }
    // duplicate Content-Length, written by hand: Node's client would not send it
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(
        {
          host: '127.0.0.1',
          port,
          servername: 'app.localhost',
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        },
        () => {
          s.write(
            `POST / HTTP/1.1\r\nHost: app.localhost:${port}\r\nAuthorization: Bearer ${alice}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx`,
          );
        },
      );
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d));
      s.on('end', () => resolve(text));
      s.on('error', reject);
      setTimeout(() => {
        s.destroy();
        resolve(text);
      }, 3000);
    });
    assert.match(raw, /^HTTP\/1\.1 400/);
  });

  it('applies proxy settings from the config: body limit and access log file', async () => {
    const big = await get(app('/upload'), {
      method: 'POST',
      headers: bearer(alice, { 'content-type': 'text/plain' }),
      body: 'x'.repeat(4096),
    });
    assert.equal(big.status, 413);
    const small = await get(app('/upload'), {
      method: 'POST',
      headers: bearer(alice, { 'content-type': 'text/plain' }),
      body: 'x'.repeat(100),
    });
    assert.equal(small.status, 200);
    const id = String(small.headers['x-request-id']);
    const log = join(files.dir, 'access.log');
    const t0 = Date.now();
    while (!(existsSync(log) && readFileSync(log, 'utf8').includes(id)) && Date.now() - t0 < 3000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const line = readFileSync(log, 'utf8')
      .split('\n')
      .find((l) => l.includes(id));
    assert.ok(line, 'the request is in the access log file');
    assert.doesNotMatch(readFileSync(log, 'utf8'), new RegExp(alice.slice(-20)), 'no token');
  });

  // Regression: installing the listener certificate replaced the secure context without the
  // client CA, so no client certificate verified and device endpoints answered "certificate required".
  it('verifies client certificates from the internal CA at the listener', async () => {
    const key = join(files.dir, 'stray-device.key');
    const issued = await cli([
      'ca',
      'issue',
      '--type',
      'device',
      '--device',
      'dev-notenrolled',
      '--user',
      'u-nobody',
      '--generate-key',
      '--key-out',
      key,
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    const report = (mtls: boolean) =>
      get(`https://auth.localhost:${port}/api/device/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
        ...(mtls ? { cert: issued.stdout, key: readFileSync(key, 'utf8') } : {}),
      });
    const without = await report(false);
    assert.equal(
      without.json<{ error: { code: string } }>().error.code,
      'ZT_DEVICE_CLIENT_CERT_REQUIRED',
    );
    // verified, but the current certificate of no enrolled device
    const withCert = await report(true);
    assert.equal(withCert.status, 401, withCert.body);
    assert.equal(
      withCert.json<{ error: { code: string } }>().error.code,
      'ZT_DEVICE_CLIENT_CERT_UNKNOWN',
    );
  });

  it('answers 502 with the request id when the upstream is down', async () => {
    const r = await get(`https://down.localhost:${port}/`, {
      headers: bearer(alice, { accept: 'application/json' }),
    });
    assert.equal(r.status, 502);
    assert.equal(r.json().request_id, r.headers['x-request-id']);
  });

  it('reloads on SIGHUP and refuses a broken config without stopping', async () => {
    writeFileSync(cfg, config(port, upstreamPort, deadPort, '\n      - users: [bob@example.com]'));
    server.signal('SIGHUP');
    await server.waitFor(/ZT_SERVE_RELOADED/);
    assert.equal((await get(app('/'), { headers: bearer(bob) })).status, 200, 'bob is allowed now');
    writeFileSync(cfg, `${config(port, upstreamPort, deadPort)}\nroutez: []\n`);
    server.signal('SIGHUP');
    const refused = await server.waitFor(/ZT_SERVE_RELOAD_REFUSED/);
    assert.match(refused, /ztgate\.yaml:\d+:\d+/);
    assert.match(refused, /routes/, 'did you mean');
    assert.equal(
      (await get(app('/'), { headers: bearer(bob) })).status,
      200,
      'the old config stays',
    );
    writeFileSync(cfg, config(port, upstreamPort, deadPort));
  });

  it('serves the admin API: a CLI-made token edits a policy that the proxy enforces at once', async () => {
    const made = await cli([
      'admin',
      'token',
      'create',
      '--user',
      'alice@example.com',
      '--scopes',
      'policies:write,users:read,audit:read',
      '--ttl',
      '1h',
      '--name',
      'test',
    ]);
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    assert.match(token, /^ztk_[0-9a-f]{16}_/);
    const api = (path: string, init: { method?: string; body?: string } = {}) =>
      get(`https://auth.localhost:${port}/api/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
    const users = await api('/users');
    assert.equal(users.status, 200, users.body);
    assert.match(users.body, /alice@example\.com/);
    assert.equal((await api('/devices')).status, 403, 'a scope the token lacks');
    assert.equal(
      (await get(`https://auth.localhost:${port}/api/v1/users`)).status,
      401,
      'no credential',
    );
    // bob (sales) is denied; an API edit lets sales in, with no reload and no restart
    await reloadWith(config(port, upstreamPort, deadPort));
    assert.equal((await get(app('/'), { headers: bearer(bob) })).status, 403);
    const put = await api('/policies/engineering', {
      method: 'PUT',
      body: JSON.stringify({ allow: [{ groups: ['engineering'] }, { groups: ['sales'] }] }),
    });
    assert.equal(put.status, 200, put.body);
    assert.equal((await get(app('/'), { headers: bearer(bob) })).status, 200);
    const bad = await api('/policies/engineering', {
      method: 'PUT',
      body: JSON.stringify({ allow: [{ groupz: ['x'] }] }),
    });
    assert.equal(bad.status, 400, 'an invalid policy is refused with its problems');
    assert.match(bad.body, /groups/, 'did you mean');
    // records are group-committed (100 ms batches): wait for the batch
    let audit = await api('/audit/records?kind=admin&limit=10');
    for (let i = 0; i < 60 && !audit.body.includes('before'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      audit = await api('/audit/records?kind=admin&limit=10');
    }
    assert.equal(audit.status, 200);
    assert.match(audit.body, /before/);
    assert.match(audit.body, /after/);
    // back to the file's policy for the next tests
    writeFileSync(
      cfg,
      config(port, upstreamPort, deadPort, '\n      - users: [nobody@example.com]'),
    );
    server.signal('SIGHUP');
    const t0 = Date.now();
    while (
      (await get(app('/'), { headers: bearer(bob) })).status !== 403 &&
      Date.now() - t0 < 5000
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(
      (await get(app('/'), { headers: bearer(bob) })).status,
      403,
      'the changed file wins',
    );
  });

  it('lets sign-ins return to a route host added by a reload, and its IdP pages allow it', async () => {
    const late = `https://late.localhost:${port}/x`;
    const commitment = 'c'.repeat(43); // a well-formed `handoff` commitment: no extra hop
    const signIn = () =>
      get(
        `https://auth.localhost:${port}/oauth2/sign_in?return_to=${encodeURIComponent(late)}&handoff=${commitment}`,
      );
    assert.equal((await signIn()).status, 400, 'not a route host yet');
    await reloadWith(
      config(port, upstreamPort, deadPort).replace(
        'routes:\n',
        `routes:\n  - from: https://late.localhost:${port}\n    to: http://127.0.0.1:${upstreamPort}\n    policy: engineering\n`,
      ),
    );
    const started = await signIn();
    assert.equal(started.status, 302, started.body);
    // the IdP's sign-in page may send its form's redirects on to the new host
    const auth = await get(String(started.headers.location));
    assert.equal(auth.status, 303);
    const cookies = ([] as string[])
      .concat(auth.headers['set-cookie'] ?? [])
      .map((c) => c.split(';')[0])
      .join('; ');
    const page = await get(new URL(String(auth.headers.location), started.headers.location).href, {
      headers: { cookie: cookies },
    });
    assert.equal(page.status, 200);
    assert.match(
      String(page.headers['content-security-policy']),
      /form-action [^;]*https:\/\/late\.localhost:/,
    );
    await reloadWith(config(port, upstreamPort, deadPort));
  });

  it('drains on SIGTERM, exits 0 and leaves a verifiable audit log with every decision', async () => {
    server.signal('SIGTERM');
    assert.equal(await server.exited, 0);
    const verify = await cli(['audit', 'verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const q = await cli(['audit', 'query', '--format', 'json', '--limit', '1000']);
    assert.equal(q.code, 0, q.stderr);
    const text = q.stdout;
    assert.match(text, /"decision":\s*"deny"/);
    assert.match(text, /"decision":\s*"allow"/);
    assert.match(text, /"mode":\s*"audit"/);
  });

  it('refuses a config with errors at start, naming file, line and key', async () => {
    const bad = join(files.dir, 'bad.yaml');
    writeFileSync(bad, `data_dir: ./data\nlisten: 127.0.0.1:${port}\nroutez: []\n`);
    const r = await ztgate(['serve', '--config', bad], { cwd: files.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.yaml:3:1/);
    assert.match(r.stderr, /routes/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
