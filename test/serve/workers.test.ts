/**
 * `ztgate serve` with `workers: 2` on SQLite: two processes share the listener, change events are
 * relayed between them through the primary (a sign-out handled by one worker is refused at once by
 * the other, which had the session cached), SIGHUP reloads both, SIGTERM drains both and exits 0.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { httpsClient } from '../helpers/https-client.js';
import { signedInCookie } from '../helpers/sessions.js';
import { startUpstream, type Upstream } from '../pep/helpers/harness.js';
import { freePort, startZtgate, tempFiles, ztgate, type RunningZtgate } from '../helpers/ztgate.js';

describe('ztgate serve with two worker processes', { timeout: 90_000 }, () => {
  const files = tempFiles({});
  const cfg = join(files.dir, 'ztgate.yaml');
  let upstream: Upstream;
  let server: RunningZtgate;
  let store: Store;
  let get: ReturnType<typeof httpsClient>;
  let port = 0;

  const config = (group: string) => `data_dir: ./data
listen: 127.0.0.1:${port}
public_url: https://auth.localhost:${port}
workers: 2
routes:
  - from: https://app.localhost:${port}
    to: http://127.0.0.1:${upstream.port}
    policy: team
policies:
  team:
    allow:
      - groups: [${group}]
`;

  before(async () => {
    upstream = await startUpstream();
    port = await freePort();
    writeFileSync(cfg, config('engineering'));
    server = await startZtgate(['serve', '--config', cfg], { cwd: files.dir });
    get = httpsClient(readFileSync(join(files.dir, 'data', 'pki', 'root.crt'), 'utf8'));
    store = await openStore({ kind: 'sqlite', dataDir: join(files.dir, 'data') });
  });

  after(async () => {
    if (server) {
      server.signal('SIGKILL');
      await server.exited;
    }
    await store?.close();
    await upstream?.close();
    files.cleanup();
  });

  const app = (cookie: string) =>
    get(`https://app.localhost:${port}/`, { headers: { cookie, accept: 'application/json' } });

  it('starts two workers behind one listener', () => {
    const started = server.stderrLines.filter((l) => l.includes('ZT_SERVE_WORKER_STARTED'));
    assert.equal(started.length, 2);
    assert.ok(server.stderrLines.some((l) => l.includes('"workers":2')));
  });

  it('relays a sign-out to the other worker: every following request is refused', async () => {
    const cookie = await signedInCookie(store, join(files.dir, 'data'), 'dana@example.com', {
      groups: ['engineering'],
    });
    // new connections alternate between the workers: both cache the session
    for (let i = 0; i < 6; i++) assert.equal((await app(cookie)).status, 200);
    const out = await get(`https://auth.localhost:${port}/oauth2/sign_out`, {
      method: 'POST',
      headers: { cookie },
    });
    assert.equal(out.status, 302);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await app(cookie)).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401], 'no worker kept the session');
  });

  it('hears a revocation made by the command line (through the primary) in every worker', async () => {
    const cookie = await signedInCookie(store, join(files.dir, 'data'), 'frank@example.com', {
      groups: ['engineering'],
    });
    for (let i = 0; i < 4; i++) assert.equal((await app(cookie)).status, 200);
    const r = await ztgate(['session', 'revoke', '--user', 'frank@example.com', '--config', cfg], {
      cwd: files.dir,
    });
    assert.equal(r.code, 0, r.stderr);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await app(cookie)).status);
    assert.deepEqual(statuses, [401, 401, 401, 401]);
  });

  it('reloads both workers on SIGHUP to the primary, then drains both on SIGTERM', async () => {
    const cookie = await signedInCookie(store, join(files.dir, 'data'), 'erin@example.com', {
      groups: ['sales'],
    });
    assert.equal((await app(cookie)).status, 403);
    writeFileSync(cfg, config('sales'));
    server.signal('SIGHUP');
    const t0 = Date.now();
    while (
      server.stderrLines.filter((l) => l.includes('ZT_SERVE_RELOADED')).length < 2 &&
      Date.now() - t0 < 10_000
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 4; i++) assert.equal((await app(cookie)).status, 200, 'both workers');
    server.signal('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.equal(
      server.stderrLines.filter((l) => l.includes('ZT_SERVE_STOPPED')).length,
      2,
      'both drained',
    );
  });
});
