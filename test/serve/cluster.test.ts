/**
 * Two `ztgate serve` processes on one PostgreSQL database, as a cluster runs: a session signed out
 * through replica A is refused by replica B within a second (the change event travels over
 * LISTEN/NOTIFY and drops B's caches), and an open WebSocket on B is cut. The measured delay is
 * printed for docs/performance.md.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { PG_ADMIN_URL, pgUrlFor, postgresUnreachable } from '../../src/store/testing.js';
import { httpsClient } from '../helpers/https-client.js';
import { signedInCookie } from '../helpers/sessions.js';
import { openWebSocket, startUpstream, type Upstream } from '../pep/helpers/harness.js';
import { freePort, startZtgate, tempFiles, type RunningZtgate } from '../helpers/ztgate.js';

const unreachable = await postgresUnreachable();

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe(
  'a cluster of two ztgate serve processes on PostgreSQL',
  { skip: unreachable, timeout: 120_000 },
  () => {
    const files = tempFiles({});
    const dbName = `ztgate_test_${randomBytes(6).toString('hex')}`;
    const url = pgUrlFor(dbName);
    let upstream: Upstream;
    let caPem = '';
    let a: RunningZtgate;
    let b: RunningZtgate;
    let portA = 0;
    let portB = 0;
    let store: Store;
    let get: ReturnType<typeof httpsClient>;

    const config = (port: number, publicPort: number, upstreamPort: number) => `data_dir: ./data
listen: 127.0.0.1:${port}
public_url: https://auth.localhost:${publicPort}
store: ${url}
routes:
  - from: https://app.localhost:${publicPort}
    to: http://127.0.0.1:${upstreamPort}
    policy: signed-in
policies:
  signed-in:
    allow:
      - authenticated: true
`;

    before(async () => {
      await admin(`CREATE DATABASE ${dbName}`);
      upstream = await startUpstream(); // HTTP answers and a WebSocket echo
      const up = upstream.port;
      portA = await freePort();
      portB = await freePort();
      // replicas share public_url (behind one load balancer) and the data directory's keys
      writeFileSync(join(files.dir, 'a.yaml'), config(portA, portA, up));
      writeFileSync(join(files.dir, 'b.yaml'), config(portB, portA, up));
      a = await startZtgate(['serve', '--config', 'a.yaml'], { cwd: files.dir });
      b = await startZtgate(['serve', '--config', 'b.yaml'], { cwd: files.dir });
      caPem = readFileSync(join(files.dir, 'data', 'pki', 'root.crt'), 'utf8');
      get = httpsClient(caPem);
      store = await openStore({ kind: 'postgres', url });
    });

    after(async () => {
      for (const p of [a, b]) {
        if (!p) continue;
        p.signal('SIGTERM');
        await p.exited;
      }
      await store?.close();
      await upstream?.close();
      await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
      files.cleanup();
    });

    /** A request for the app through one replica (its port), as the load balancer would send it. */
    const through = (port: number, cookie: string) =>
      get(`https://127.0.0.1:${port}/`, {
        headers: { host: `app.localhost:${portA}`, cookie, accept: 'application/json' },
      });

    it('refuses on B, within a second, a session signed out through A', async () => {
      const cookie = await signedInCookie(store, join(files.dir, 'data'), 'carol@example.com');
      assert.equal((await through(portA, cookie)).status, 200);
      const ws = await openWebSocket(
        portB,
        `app.localhost:${portA}`,
        '/live',
        { cookie },
        { ca: caPem, servername: 'app.localhost' },
      );
      assert.equal(ws.status, 101, ws.head);
      ws.send('ping');
      assert.equal(await ws.next(), 'echo:ping');
      assert.equal(
        (await through(portB, cookie)).status,
        200,
        'B knows the session (and caches it)',
      );

      const tSignOut = performance.now();
      const signOut = await get(`https://127.0.0.1:${portA}/oauth2/sign_out`, {
        method: 'POST',
        headers: { host: `auth.localhost:${portA}`, cookie },
      });
      assert.equal(signOut.status, 302);
      const t0 = performance.now();
      let status = 200;
      while (status === 200 && performance.now() - t0 < 5_000) {
        status = (await through(portB, cookie)).status;
      }
      const elapsed = performance.now() - t0;
      console.log(`# session refused by the other replica after ${elapsed.toFixed(1)} ms`);
      assert.equal(status, 401);
      assert.ok(elapsed < 1_000, `refused after ${elapsed} ms`);
      const cutAt = await Promise.race([
        ws.closed,
        new Promise<number>((r) => setTimeout(() => r(-1), 2_000)),
      ]);
      assert.ok(cutAt > 0, 'the WebSocket on the other replica was cut');
      console.log(
        `# WebSocket on the other replica cut ${(cutAt - tSignOut).toFixed(1)} ms after the sign-out began`,
      );
      assert.ok(cutAt - tSignOut < 1_000);
    });

    it('fails closed with 503 while PostgreSQL is unreachable and recovers by itself', async () => {
      const cookie = await signedInCookie(store, join(files.dir, 'data'), 'carol@example.com');
      const ready = () =>
        get(`https://127.0.0.1:${portB}/readyz`, { headers: { host: `auth.localhost:${portA}` } });
      await admin(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
      await admin(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}'`,
      );
      try {
        const r = await through(portB, cookie);
        assert.equal(r.status, 503, r.body);
        assert.equal(r.json().request_id, r.headers['x-request-id']);
        assert.equal((await ready()).status, 503);
      } finally {
        await admin(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      }
      const t0 = performance.now();
      let status = 0;
      while (status !== 200 && performance.now() - t0 < 15_000) {
        status = (await through(portB, cookie)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200, 'service came back without a restart');
      assert.equal((await ready()).status, 200);
    });
  },
);
