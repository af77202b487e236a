/** Drain, readiness, metrics, the decision cache, and client certificates. */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientCertificate, type ClientCertificate } from '../../src/pep/testing/self-signed.js';
import { testIdentity } from '../../src/pep/testing/static-identity.js';
import { DecisionCache } from '../../src/pep/decide/decision-cache.js';
import {
  engineFor,
  json,
  pki,
  request,
  startProxy,
  startUpstream,
  T0,
  type Upstream,
} from './helpers/harness.js';

const AUTH = { authorization: 'Bearer t' };
const MIN = 60_000;

function getPlain(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('proxy: graceful drain', () => {
  it('lets a running request finish, refuses new connections, and closes idle ones', async () => {
    let release: (() => void) | undefined;
    const up = await startUpstream((req, res) => {
      if (req.url === '/slow') {
        release = () => res.end('done');
        return;
      }
      res.end('ok');
    });
    const h = await startProxy(
      engineFor({
        routes: [
          { from: 'https://app.localhost', to: up.url, policy: { allow: [{ public: true }] } },
        ],
      }),
    );
    try {
      // an idle HTTP/2 session and a request in flight on HTTP/1.1
      const session = http2.connect(`https://127.0.0.1:${h.port}`, {
        ca: pki().cert,
        servername: 'localhost',
      });
      const goaway = new Promise<void>((r) => session.once('goaway', () => r()));
      session.on('error', () => undefined);
      const slow = request(h.port, 'app.localhost', '/slow');
      while (release === undefined) await new Promise((r) => setTimeout(r, 5));
      const closing = h.proxy.close(5000);
      await goaway;
      assert.equal(h.proxy.stats().draining, true);
      await assert.rejects(
        request(h.port, 'app.localhost', '/new', { timeoutMs: 1000 }),
        'no new connections',
      );
      release();
      const a = await slow;
      assert.equal(a.status, 200);
      assert.equal(a.body, 'done');
      assert.equal(a.headers.connection, 'close');
      await closing;
      assert.ok(!h.log.some((l) => l.includes('ZT_PEP_DRAIN_TIMEOUT')));
    } finally {
      await h.proxy.close(0);
      await up.close();
    }
  });

  it('cuts what is still running at the deadline, and says so', async () => {
    const up = await startUpstream(() => undefined);
    const h = await startProxy(
      engineFor({
        routes: [
          { from: 'https://app.localhost', to: up.url, policy: { allow: [{ public: true }] } },
        ],
      }),
    );
    try {
      const stuck = request(h.port, 'app.localhost', '/stuck').catch((e: Error) => e);
      while (h.proxy.stats().inFlight === 0) await new Promise((r) => setTimeout(r, 5));
      const t0 = performance.now();
      await h.proxy.close(200);
      assert.ok(performance.now() - t0 < 1500);
      assert.ok((await stuck) instanceof Error);
      assert.ok(h.log.some((l) => l.includes('ZT_PEP_DRAIN_TIMEOUT')));
    } finally {
      await up.close();
    }
  });
  it('is not held up by an HTTP/2 client that never reads its response', async () => {
    const up = await startUpstream((_req, res) => res.end('x'.repeat(1_000_000)));
    const h = await startProxy(
      engineFor({
        routes: [
          { from: 'https://app.localhost', to: up.url, policy: { allow: [{ public: true }] } },
        ],
      }),
    );
    const session = http2.connect(`https://127.0.0.1:${h.port}`, {
      ca: pki().cert,
      servername: 'localhost',
    });
    session.on('error', () => undefined);
    try {
      const stream = session.request({ ':path': '/', ':authority': 'app.localhost' });
      stream.on('error', () => undefined);
      await new Promise((r) => stream.once('response', r));
      stream.pause(); // never reads the body
      session.close(); // waits for that stream, forever
      const t0 = performance.now();
      await h.proxy.close(100);
      assert.ok(performance.now() - t0 < 2000);
    } finally {
      session.destroy();
      await up.close();
    }
  });
});

describe('proxy: health, readiness and metrics', () => {
  it('serves /healthz, /readyz (from the injected check) and /metrics on the metrics listener', async () => {
    const up = await startUpstream();
    let ready = true;
    const h = await startProxy(
      engineFor({
        routes: [
          {
            from: 'https://app.localhost',
            to: up.url,
            policy: { allow: [{ authenticated: true }] },
          },
        ],
      }),
      { metricsListen: { host: '127.0.0.1', port: 0 }, ready: () => ready },
    );
    h.identity.set('t', testIdentity('alice'));
    try {
      const m = h.metricsPort as number;
      assert.equal((await getPlain(m, '/healthz')).status, 200);
      assert.equal((await getPlain(m, '/readyz')).status, 200);
      ready = false;
      assert.equal((await getPlain(m, '/readyz')).status, 503);
      assert.equal((await request(h.port, 'auth.localhost', '/readyz')).status, 503);
      assert.equal((await request(h.port, 'auth.localhost', '/healthz')).status, 200);
      ready = true;
      await request(h.port, 'app.localhost', '/', { headers: AUTH });
      await request(h.port, 'app.localhost', '/');
      await request(h.port, 'app.localhost', '/%2f', { headers: AUTH });
      const text = (await getPlain(m, '/metrics')).body;
      assert.match(
        text,
        /ztgate_pep_requests_total\{route="https:\/\/app.localhost",decision="allow",status="2xx"\} 1/,
      );
      assert.match(
        text,
        /ztgate_pep_requests_total\{route="https:\/\/app.localhost",decision="login",status="4xx"\} 1/,
      );
      assert.match(text, /ztgate_pep_requests_total\{route="",decision="none",status="4xx"\} 1/);
      assert.match(
        text,
        /ztgate_pep_request_duration_seconds_bucket\{route="https:\/\/app.localhost",le="\+Inf"\} 2/,
      );
      assert.match(text, /# TYPE ztgate_pep_request_duration_seconds histogram/);
      assert.equal((await getPlain(m, '/other')).status, 404);
    } finally {
      await h.close();
      await up.close();
    }
  });
});

describe('proxy: decision cache', () => {
  let up: Upstream;
  before(async () => {
    up = await startUpstream();
  });
  after(async () => {
    await up.close();
  });

  it('reuses decisions, and a revocation applies to the very next request', async () => {
    const h = await startProxy(
      engineFor({
        routes: [
          {
            from: 'https://app.localhost',
            to: up.url,
            policy: { allow: [{ groups: ['engineering'] }] },
          },
          {
            from: 'https://paths.localhost',
            to: up.url,
            policy: { allow: [{ authenticated: true, paths: ['/api/**'] }] },
          },
        ],
      }),
    );
    try {
      const alice = testIdentity('alice', { groups: ['engineering'], sessionId: 's1' });
      h.identity.set('t', alice);
      for (let i = 0; i < 3; i++) {
        assert.equal(
          (await request(h.port, 'app.localhost', `/p${i}`, { headers: AUTH })).status,
          200,
        );
      }
      const s = h.proxy.stats().decisionCache;
      assert.equal(s?.misses, 1, 'the path is not in the key of a policy without `paths`');
      assert.equal(s?.hits, 2);
      // a policy with paths keys on the path
      assert.equal(
        (await request(h.port, 'paths.localhost', '/api/x', { headers: AUTH })).status,
        200,
      );
      assert.equal(
        (await request(h.port, 'paths.localhost', '/admin', { headers: AUTH })).status,
        403,
      );
      assert.equal(
        (await request(h.port, 'paths.localhost', '/api/x', { headers: AUTH })).status,
        200,
      );
      // changed facts are a different key: removed from the group, denied at once
      h.identity.set('t', testIdentity('alice', { groups: ['sales'], sessionId: 's1' }));
      assert.equal((await request(h.port, 'app.localhost', '/p', { headers: AUTH })).status, 403);
      // revocation: identity stops resolving the session and the cache forgets it
      h.identity.set('t', alice);
      assert.equal((await request(h.port, 'app.localhost', '/p', { headers: AUTH })).status, 200);
      h.identity.revokeSession('s1');
      h.proxy.revokeSession('s1');
      assert.equal((await request(h.port, 'app.localhost', '/p', { headers: AUTH })).status, 401);
      // a policy change empties the cache
      h.identity.set('t', alice);
      await request(h.port, 'app.localhost', '/p', { headers: AUTH });
      h.proxy.policyChanged(
        engineFor({
          routes: [
            {
              from: 'https://app.localhost',
              to: up.url,
              policy: { allow: [{ groups: ['admins'] }] },
            },
          ],
        }),
      );
      assert.equal((await request(h.port, 'app.localhost', '/p', { headers: AUTH })).status, 403);
    } finally {
      await h.close();
    }
  });

  it('does not outlive the MFA age a policy allows, and never caches time-window policies', async () => {
    const h = await startProxy(
      engineFor({
        routes: [
          {
            from: 'https://mfa.localhost',
            to: up.url,
            policy: { allow: [{ authenticated: true, mfa: { max_age: '10m' } }] },
          },
          {
            from: 'https://hours.localhost',
            to: up.url,
            policy: { allow: [{ authenticated: true, time: { hours: '09:00-17:00', tz: 'UTC' } }] },
          },
        ],
      }),
      { decisionCache: { ttlMs: 3_600_000 } },
    );
    try {
      h.identity.set('t', testIdentity('alice', { mfaMethods: ['totp'], mfaAt: T0 - 5 * MIN }));
      assert.equal((await request(h.port, 'mfa.localhost', '/', { headers: AUTH })).status, 200);
      h.clock.advance(6 * MIN); // the MFA is now 11 minutes old
      assert.equal((await request(h.port, 'mfa.localhost', '/', { headers: AUTH })).status, 401);
      h.clock.set(Date.parse('2026-11-22T16:59:00Z'));
      assert.equal((await request(h.port, 'hours.localhost', '/', { headers: AUTH })).status, 200);
      h.clock.set(Date.parse('2026-11-22T17:01:00Z'));
      assert.equal((await request(h.port, 'hours.localhost', '/', { headers: AUTH })).status, 403);
    } finally {
      await h.close();
    }
  });

  it('is bounded: the oldest entries go first, and entries expire', () => {
    const c = new DecisionCache(2, 1000);
    const d = { decision: 'allow', policy: 'p', reasons: [] } as const;
    const owner = { sessionId: 's', userId: 'u', deviceId: '' };
    c.set('a', d, 0, Infinity, owner);
    c.set('b', d, 0, Infinity, owner);
    c.set('c', d, 0, Infinity, owner);
    assert.equal(c.get('a', 1), undefined);
    assert.equal(c.get('b', 1), d);
    assert.equal(c.get('c', 1000), undefined, 'expired');
    c.set('x', d, 0, 500, owner);
    assert.equal(c.get('x', 600), undefined, 'a fact-driven bound below the TTL');
    c.set('y', d, 0, Infinity, { sessionId: 's2', userId: 'u2', deviceId: 'd2' });
    assert.equal(c.forgetDevice('d2'), 1);
  });
});

describe('proxy: client certificates', () => {
  let dir: string;
  let client: ClientCertificate;
  let up: Upstream;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ztgate-pep-device-'));
    client = clientCertificate(dir, 'laptop-1');
    up = await startUpstream();
  });
  after(async () => {
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes a verified certificate’s fingerprint to identity and devices, and an unverified one to nobody', async () => {
    const h = await startProxy(
      engineFor({
        routes: [
          {
            from: 'https://device.localhost',
            to: up.url,
            policy: { allow: [{ authenticated: true, device: { managed: true } }] },
          },
          {
            from: 'https://cert.localhost',
            to: up.url,
            policy: { allow: [{ client_cert: { fingerprint: client.fingerprint } }] },
          },
        ],
      }),
      { tls: { cert: pki().cert, key: pki().key, clientCa: client.ca } },
    );
    try {
      h.identity.recordRequests = true;
      h.identity.set('t', testIdentity('alice', { boundCertFingerprint: client.fingerprint }));
      h.devices.set({ id: 'laptop-1', managed: true }, client.fingerprint);
      const withCert = { tls: { cert: client.cert, key: client.key } };
      const a = await request(h.port, 'device.localhost', '/', { headers: AUTH, ...withCert });
      assert.equal(a.status, 200);
      assert.equal(h.identity.seen.at(-1)?.clientCertFingerprint, client.fingerprint);
      assert.equal((await request(h.port, 'cert.localhost', '/', withCert)).status, 200);
      // the same session without its certificate is no session
      const b = await request(h.port, 'device.localhost', '/', { headers: AUTH });
      assert.equal(b.status, 401);
      assert.equal(h.identity.seen.at(-1)?.clientCertFingerprint, undefined);
      // a certificate from another CA is not passed on
      const other = clientCertificate(mkdtempSync(join(dir, 'other-')), 'laptop-2');
      const c = await request(h.port, 'cert.localhost', '/', {
        tls: { cert: other.cert, key: other.key },
      });
      assert.equal(c.status, 403);
      assert.equal(h.identity.seen.at(-1)?.clientCertFingerprint, undefined);
      assert.equal(
        (json(c) as { reasons: { code: string }[] }).reasons[0]?.code,
        'client-cert-missing',
      );
    } finally {
      await h.close();
    }
  });
});
