/**
 * Device trust end to end, as an operator and a user run it: the real `ztgate serve` process, the
 * real agent (`ztgate agent enroll`, `ztgate agent run --once --posture-file`) as child processes,
 * and real Chromium presenting the device certificate (mTLS through playwright-core's
 * `clientCertificates`).
 *
 * The user signs in with password and TOTP on the device and reaches a route that needs a managed
 * device with its firewall on. The agent reports the firewall off: the next request is a 403 page
 * that says what to fix, and the page's open WebSocket is cut; the agent reports it on again and
 * access returns without signing in again. `ztgate device revoke` ends access too. The audit log
 * holds the posture change and the denials. The cut latency is printed for docs/device.md.
 *
 * Host names: the public host is `localhost` and the route `127.0.0.1` (both on the same port),
 * because the agent and Playwright's client-certificate proxy resolve names with Node, which does
 * not map `*.localhost` to the loopback address as browsers do.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, signInWithPassword } from '../helpers/browser.js';
import { startUpstream, type Upstream } from '../pep/helpers/harness.js';
import { httpsClient } from '../helpers/https-client.js';
import { freePort, startZtgate, tempFiles, ztgate, type RunningZtgate } from '../helpers/ztgate.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'e2e');
const PASSWORD = 'correct horse battery staple 42';

interface AuditRow {
  readonly time: string;
  readonly kind: string;
  readonly action?: string;
  readonly decision?: string;
  readonly outcome?: string;
  readonly resource?: string;
  readonly reasons?: readonly { readonly code: string }[];
  readonly details?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

describe('device trust end to end in Chromium', { timeout: 120_000 }, () => {
  const files = tempFiles({});
  const cfg = join(files.dir, 'ztgate.yaml');
  const agentDir = join(files.dir, 'agent');
  const postureFile = join(files.dir, 'posture.json');
  let upstream: Upstream;
  let server: RunningZtgate;
  let browser: Browser;
  let page: Page;
  let port = 0;
  let totpSecret = '';
  let deviceId = '';
  let userId = '';
  let ca = '';
  const app = (path = '/') => `https://127.0.0.1:${port}${path}`;
  const publicUrl = () => `https://localhost:${port}`;
  const cli = (args: string[], stdin?: string) =>
    ztgate([...args, '--config', cfg], { cwd: files.dir, ...(stdin ? { stdin } : {}) });

  /** What the agent reports: the posture file, then one report over mTLS, as `--once` does. */
  const report = async (attributes: Record<string, unknown>): Promise<void> => {
    writeFileSync(postureFile, JSON.stringify(attributes));
    const r = await ztgate(
      ['agent', 'run', '--once', '--dir', agentDir, '--posture-file', postureFile],
      { cwd: files.dir, env: { ZTGATE_AGENT_DIR: agentDir } },
    );
    assert.equal(r.code, 0, r.stderr);
  };

  const auditRows = async (): Promise<AuditRow[]> => {
    // the audit writer commits in batches (100 ms)
    await new Promise((r) => setTimeout(r, 300));
    const q = await cli(['audit', 'query', '--format', 'json', '--limit', '1000']);
    assert.equal(q.code, 0, q.stderr);
    const parsed = JSON.parse(q.stdout) as AuditRow[] | { records: AuditRow[] };
    return Array.isArray(parsed) ? parsed : parsed.records;
  };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    upstream = await startUpstream();
    port = await freePort();
    writeFileSync(
      cfg,
      `data_dir: ./data
listen: 127.0.0.1:${port}
public_url: ${publicUrl()}
devices:
  tiers:
    healthy: {managed: true, posture: {firewall: true}}
routes:
  - from: https://127.0.0.1:${port}
    to: ${upstream.url}
    policy: managed-device
policies:
  managed-device:
    allow:
      - authenticated: true
        device: {managed: true, posture: {firewall: true}}
`,
    );
    const add = await cli(['user', 'add', 'alice@example.com', '--password-file', '-'], PASSWORD);
    assert.equal(add.code, 0, add.stderr);
    const mfa = await cli(['user', 'mfa', 'totp', 'alice@example.com']);
    assert.equal(mfa.code, 0, mfa.stderr);
    totpSecret = /secret: (\S+)/.exec(mfa.stdout)?.[1] ?? '';
    assert.ok(totpSecret, mfa.stdout);
    server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
    ca = join(files.dir, 'data', 'pki', 'root.crt');
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

  it('enrolls the device with a one-time code that works once', async () => {
    const issued = await cli(['device', 'enroll-code', '--user', 'alice@example.com']);
    assert.equal(issued.code, 0, issued.stderr);
    const code = issued.stdout.trim();
    assert.match(code, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    const enroll = (dir: string, extra: string[] = []) =>
      ztgate(
        [
          'agent',
          'enroll',
          '--server',
          publicUrl(),
          '--code',
          '-',
          '--ca',
          ca,
          '--dir',
          dir,
          '--hostname',
          'e2e-laptop',
          '--format',
          'json',
          ...extra,
        ],
        { cwd: files.dir, stdin: code },
      );
    const r = await enroll(agentDir);
    assert.equal(r.code, 0, r.stderr);
    const enrolled = JSON.parse(r.stdout) as { deviceId: string; userId: string };
    deviceId = enrolled.deviceId;
    userId = enrolled.userId;
    assert.match(deviceId, /^dev-/);
    // a second device with the same code, also with the user given so that the code is presented
    // for enrollment itself (not only looked up)
    for (const extra of [[], ['--user', userId]]) {
      const again = await enroll(join(files.dir, 'agent-2'), extra);
      assert.equal(again.code, 1, 'a used code is refused');
      assert.match(again.stderr, /ZT_DEVICE_ENROLL_CODE_INVALID/);
    }

    await report({ os: 'linux', firewall: true, disk_encrypted: true });
    const show = await cli(['device', 'show', deviceId, '--format', 'json']);
    assert.equal(show.code, 0, show.stderr);
    const d = JSON.parse(show.stdout) as { state: string; tier: string | null; managed: boolean };
    assert.equal(d.state, 'active');
    assert.equal(d.managed, true);
    assert.equal(d.tier, 'healthy');

    const refused = (await auditRows()).filter(
      (a) => a.action === 'device.enroll_refused' || a.action === 'device.enroll_lookup_refused',
    );
    assert.deepEqual(
      refused.map((a) => [a.action, a.details?.refusal]).sort(),
      [
        ['device.enroll_lookup_refused', 'used'],
        ['device.enroll_refused', 'used'],
      ],
      'the reused code is audited',
    );
  });

  it('signs in on the device and reaches the managed-device route', async () => {
    browser = await launchChromium();
    const certPath = join(agentDir, 'device.crt');
    const keyPath = join(agentDir, 'device.key');
    const context = await browser.newContext({
      // the internal CA is not in Chromium's store: this test checks ztgate, not the OS trust store
      ignoreHTTPSErrors: true,
      clientCertificates: [
        { origin: publicUrl(), certPath, keyPath },
        { origin: app(), certPath, keyPath },
      ],
      viewport: { width: 1000, height: 760 },
    });
    page = await context.newPage();
    await page.goto(app('/hello'));
    assert.equal(new URL(page.url()).host, `localhost:${port}`, 'sent to sign in');
    await signInWithPassword(page, 'alice@example.com', PASSWORD, totpSecret);
    await page.waitForURL(app('/hello'));
    const res = await page.reload();
    assert.equal(res?.status(), 200, await page.locator('body').innerText());

    // the session is bound to the device it started on
    const list = await cli(['session', 'list', '--device', deviceId, '--format', 'json']);
    assert.equal(list.code, 0, list.stderr);
    const { sessions } = JSON.parse(list.stdout) as {
      sessions: { device_id: string | null; email: string }[];
    };
    assert.ok(sessions.length >= 1, list.stdout);
    for (const x of sessions)
      assert.deepEqual([x.email, x.device_id], ['alice@example.com', deviceId]);
  });
  /** Opens a WebSocket from the page to the route; resolves with the first echo. */
  const openWebSocket = (): Promise<string> =>
    page.evaluate(
      (url) =>
        new Promise<string>((resolve, reject) => {
          type Probe = { closedAt: number };
          const g = globalThis as unknown as {
            WebSocket: new (u: string) => {
              onopen: () => void;
              onmessage: (e: { data: string }) => void;
              onclose: () => void;
              onerror: () => void;
              send(t: string): void;
            };
            probe: Probe;
          };
          const probe: Probe = { closedAt: 0 };
          g.probe = probe;
          const ws = new g.WebSocket(url);
          ws.onopen = () => ws.send('ping');
          ws.onmessage = (e) => resolve(e.data);
          ws.onclose = () => {
            probe.closedAt = Date.now();
            reject(new Error('closed before the echo'));
          };
          ws.onerror = () => undefined;
        }),
      `wss://127.0.0.1:${port}/ws`,
    );

  /** When the page's WebSocket closed (ms since the epoch), waiting up to `timeoutMs`. */
  const closedAt = async (timeoutMs = 5_000): Promise<number> => {
    await page.waitForFunction(
      () => (globalThis as unknown as { probe: { closedAt: number } }).probe.closedAt > 0,
      undefined,
      { timeout: timeoutMs, polling: 20 },
    );
    return page.evaluate(
      () => (globalThis as unknown as { probe: { closedAt: number } }).probe.closedAt,
    );
  };

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `device-${name}.png`), fullPage: true });

  it('firewall off: the next request is a 403 that says what to fix, the WebSocket is cut', async () => {
    assert.equal(await openWebSocket(), 'echo:ping');
    const before = Date.now();
    await report({ os: 'linux', firewall: false, disk_encrypted: true });
    const closed = await closedAt();
    const changed = (await auditRows()).find(
      (a) =>
        a.action === 'device.posture_changed' &&
        a.resource === `device:${deviceId}` &&
        Date.parse(a.time) >= before,
    );
    assert.ok(changed, 'the posture change is audited');
    const latency = closed - Date.parse(changed.time);
    console.log(`# WebSocket cut ${latency} ms after the server accepted the report`);
    assert.ok(latency < 1_000, `cut after ${latency} ms`);

    const res = await page.goto(app('/hello'));
    assert.equal(res?.status(), 403);
    const text = await page.locator('body').innerText();
    assert.match(text, /firewall/, 'the page names what to fix');
    assert.equal(new URL(page.url()).host, `127.0.0.1:${port}`, 'no new sign-in');
    await shot('firewall-off');

    const denied = (await auditRows()).find(
      (a) => a.decision === 'deny' && Date.parse(a.time) >= before,
    );
    assert.ok(denied, 'the denial is audited');
    assert.match(JSON.stringify(denied), /device-unhealthy/);
  });

  it('firewall on again: access returns without signing in again', async () => {
    await report({ os: 'linux', firewall: true, disk_encrypted: true });
    const res = await page.goto(app('/hello'));
    assert.equal(res?.status(), 200);
    assert.equal(await openWebSocket(), 'echo:ping');
  });

  it('refuses hostile posture reports through the real listener, and audits them', async () => {
    const cert = readFileSync(join(agentDir, 'device.crt'), 'utf8');
    const key = readFileSync(join(agentDir, 'device.key'), 'utf8');
    const get = httpsClient(readFileSync(ca, 'utf8'));
    const post = (body: unknown, mtls = true) =>
      get(`${publicUrl()}/api/device/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
        ...(mtls ? { cert, key } : {}),
      });
    const base = {
      v: 1,
      device_id: deviceId,
      seq: 1,
      sent_at: new Date().toISOString(),
      attributes: { firewall: true },
      unavailable: {},
    };
    const cases: [string, Awaited<ReturnType<typeof post>>][] = [
      [
        'another device',
        await post({ ...base, device_id: 'dev-someoneelse', seq: Date.now() * 2 }),
      ],
      ['replayed', await post(base)],
      ['no certificate', await post({ ...base, seq: Date.now() * 2 }, false)],
      [
        'signal attribute',
        await post({ ...base, seq: Date.now() * 2, attributes: { mdm_compliant: true } }),
      ],
      ['oversized', await post(JSON.stringify({ ...base, pad: 'x'.repeat(20_000) }))],
    ];
    const codes = Object.fromEntries(
      cases.map(([name, r]) => [
        name,
        [r.status, r.json<{ error: { code: string } }>().error.code],
      ]),
    );
    assert.deepEqual(codes, {
      'another device': [403, 'ZT_DEVICE_REPORT_WRONG_DEVICE'],
      replayed: [409, 'ZT_DEVICE_REPORT_REPLAYED'],
      'no certificate': [401, 'ZT_DEVICE_CLIENT_CERT_REQUIRED'],
      'signal attribute': [400, 'ZT_DEVICE_REPORT_INVALID'],
      oversized: [413, 'ZT_DEVICE_REQUEST_TOO_LARGE'],
    });
    const refused = (await auditRows())
      .filter((a) => a.action === 'device.report_refused')
      .map((a) => a.details?.code);
    for (const code of [
      'ZT_DEVICE_REPORT_WRONG_DEVICE',
      'ZT_DEVICE_REPORT_REPLAYED',
      'ZT_DEVICE_REPORT_INVALID',
    ])
      assert.ok(refused.includes(code), `${code} is audited`);
    // none of it changed what the policy sees
    assert.equal((await page.goto(app('/hello')))?.status(), 200);
  });

  it('`ztgate device revoke` ends access and cuts the WebSocket', async () => {
    assert.equal(await openWebSocket(), 'echo:ping');
    // the command is another process: it reaches the server through the data directory's socket
    const t0 = Date.now();
    const r = await cli(['device', 'revoke', deviceId]);
    assert.equal(r.code, 0, r.stderr);
    const done = Date.now();
    const closed = await closedAt(5_000);
    console.log(
      `# WebSocket cut ${closed - t0} ms after \`device revoke\` started; the command took ${done - t0} ms`,
    );
    assert.ok(closed - done < 1_000, `cut ${closed - done} ms after the command ended`);
    const out = JSON.parse(
      (await cli(['device', 'show', deviceId, '--format', 'json'])).stdout,
    ) as { state?: string; certificate_serial?: string | null };
    assert.equal(out.state, 'revoked');
    // the certificate was revoked with the device, and the change is in the audit log
    const certs = await cli(['ca', 'list', '--format', 'json']);
    assert.match(certs.stdout, /"revoked/);
    const audit = await cli(['audit', 'query', '--format', 'json', '--kind', 'device']);
    assert.match(audit.stdout, /device\.revoked/);
    // the browser's TLS connection with the revoked certificate is refused or judged deviceless
    const res = await page.goto(app('/hello')).catch(() => null);
    if (res) {
      assert.equal(res.status(), 403);
      assert.match(await page.locator('body').innerText(), /device/);
    }
  });
});
