/** Small parts: the audit port adapter, the access log buffer, HTTP/2 framing, the page escaper. */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { AuditWriter } from '../../src/audit/writer.js';
import { FakeAuditStore } from '../../src/audit/testing/fake-audit-store.js';
import { auditWriterPort } from '../../src/pep/audit-port.js';
import { isBrowser } from '../../src/pep/client-class.js';
import { TrustedProxies } from '../../src/pep/net/addresses.js';
import { lineBuffer } from '../../src/pep/observe/line-buffer.js';
import { endToEndRequestHeaders, withoutCookie } from '../../src/pep/upstream/headers.js';
import { selfSignedLocalhost } from '../../src/pep/testing/self-signed.js';
import { testIdentity } from '../../src/pep/testing/static-identity.js';
import {
  engineFor,
  pki,
  startProxy,
  startUpstream,
  type Harness,
  type Upstream,
  request,
} from './helpers/harness.js';

describe('audit port adapter', () => {
  it('turns an access decision into an `access` audit record', async () => {
    const store = new FakeAuditStore();
    const writer = new AuditWriter(store, { batchWindowMs: 0 });
    const port = auditWriterPort(writer);
    port.record({
      time: Date.parse('2026-11-22T10:00:00Z'),
      requestId: 'r1',
      actor: { user: 'u1', email: 'a@example.com', device: undefined },
      sourceIp: '203.0.113.9',
      route: 'https://app.localhost',
      method: 'GET',
      path: '/x',
      decision: 'deny',
      policy: 'engineering',
      rule: undefined,
      reasons: ['group-not-allowed'],
      mode: 'audit',
      forwarded: true,
      via: 'http',
      latencyUs: 42,
    });
    await writer.drain();
    const body = JSON.parse(store.rows[0]?.body ?? '{}') as Record<string, unknown>;
    assert.equal(store.rows[0]?.route, 'https://app.localhost');
    assert.equal(body.kind, 'access');
    assert.equal(body.request_id, 'r1');
    assert.deepEqual(body.actor, { email: 'a@example.com', user: 'u1' });
    assert.equal(body.decision, 'deny');
    assert.equal(body.mode, 'audit');
    assert.deepEqual(body.reasons, [{ code: 'group-not-allowed' }]);
    assert.deepEqual(body.details, { forwarded: true, via: 'http' });
    await writer.close();
  });
});

describe('access log buffer', () => {
  it('batches lines until the size or the delay, and flushes on demand', async () => {
    const chunks: string[] = [];
    const b = lineBuffer((c) => chunks.push(c), { maxBytes: 10, maxDelayMs: 20 });
    b.line('abc');
    assert.equal(chunks.length, 0);
    b.line('defghij');
    assert.deepEqual(chunks, ['abc\ndefghij\n']);
    b.line('k');
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(chunks, ['abc\ndefghij\n', 'k\n']);
    b.line('l');
    b.flush();
    assert.equal(chunks.at(-1), 'l\n');
  });
});

describe('small helpers', () => {
  it('tells browsers from API clients', () => {
    assert.equal(isBrowser({ accept: 'text/html,*/*' }), true);
    assert.equal(isBrowser({ accept: 'text/html', authorization: 'Bearer x' }), false);
    assert.equal(isBrowser({ accept: 'application/json, text/html;q=0.1' }), false);
    assert.equal(isBrowser({ accept: '*/*' }), false);
    assert.equal(isBrowser({ 'sec-fetch-mode': 'navigate' }), true);
  });
  it('finds the client behind trusted proxies only as far as they vouch for it', () => {
    const t = new TrustedProxies(['127.0.0.1/32', '10.0.0.0/8']);
    assert.equal(t.clientAddress('127.0.0.1', '198.51.100.7, 10.1.2.3'), '198.51.100.7');
    assert.equal(
      t.clientAddress('127.0.0.1', '6.6.6.6, 198.51.100.7'),
      '198.51.100.7',
      'left of the first untrusted hop is the client’s own claim',
    );
    assert.equal(t.clientAddress('127.0.0.1', undefined), '127.0.0.1');
    assert.equal(t.clientAddress('127.0.0.1', 'garbage'), '127.0.0.1');
    assert.throws(() => new TrustedProxies(['not-a-cidr']), /not a CIDR/);
  });
  it('removes hop-by-hop headers and one cookie', () => {
    const h = endToEndRequestHeaders({
      connection: 'x-a, keep-alive',
      'x-a': '1',
      te: 'trailers',
      upgrade: 'h2c',
      'proxy-authorization': 'x',
      host: 'a',
      accept: '*/*',
    });
    assert.deepEqual(h, { accept: '*/*' });
    assert.equal(
      withoutCookie('a=1; __Host-ztgate_session=s; b=2', '__Host-ztgate_session'),
      'a=1; b=2',
    );
    assert.equal(withoutCookie('__Host-ztgate_session=s', '__Host-ztgate_session'), undefined);
    assert.equal(withoutCookie('a=1', '__Host-ztgate_session'), 'a=1');
  });
});

describe('HTTP/2 framing', () => {
  let up: Upstream;
  let h: Harness;
  before(async () => {
    up = await startUpstream();
    h = await startProxy(
      engineFor({
        routes: [
          {
            from: 'https://app.localhost',
            to: up.url,
            policy: { allow: [{ authenticated: true }] },
          },
        ],
      }),
    );
    h.identity.set('t', testIdentity('alice'));
  });
  after(async () => {
    await h.close();
    await up.close();
  });
  it('refuses a Host header that disagrees with :authority', async () => {
    const session = http2.connect(`https://127.0.0.1:${h.port}`, {
      ca: pki().cert,
      servername: 'localhost',
    });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const s = session.request({
          ':path': '/',
          ':authority': 'app.localhost',
          host: 'evil.localhost',
          authorization: 'Bearer t',
        });
        s.on('response', (hd) => resolve(Number(hd[':status'])));
        s.on('error', reject);
        s.end();
      });
      assert.equal(status, 400);
      const ok = await new Promise<number>((resolve, reject) => {
        const s = session.request({
          ':path': '/',
          ':authority': 'app.localhost',
          authorization: 'Bearer t',
        });
        s.on('response', (hd) => resolve(Number(hd[':status'])));
        s.on('error', reject);
        s.resume();
        s.end();
      });
      assert.equal(ok, 200);
    } finally {
      session.close();
    }
  });
});

describe('behind a trusted proxy', () => {
  it('keeps and extends its X-Forwarded-* headers, and decides on the client it names', async () => {
    const up = await startUpstream();
    const h = await startProxy(
      engineFor({
        routes: [
          {
            from: 'https://app.localhost',
            to: up.url,
            policy: { allow: [{ authenticated: true, source_ip: '198.51.100.0/24' }] },
          },
        ],
      }),
      { trustedProxies: ['127.0.0.1/32'] },
    );
    h.identity.set('t', testIdentity('alice'));
    try {
      const a = await request(h.port, 'app.localhost', '/', {
        headers: {
          authorization: 'Bearer t',
          'x-forwarded-for': '198.51.100.7',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'app.example.com',
        },
      });
      assert.equal(a.status, 200);
      const seen = up.seen.at(-1)?.headers ?? {};
      assert.equal(seen['x-forwarded-for'], '198.51.100.7, 127.0.0.1');
      assert.equal(seen['x-forwarded-host'], 'app.example.com');
      assert.equal(h.audit.byRequest(String(a.headers['x-request-id']))?.sourceIp, '198.51.100.7');
      const b = await request(h.port, 'app.localhost', '/', {
        headers: { authorization: 'Bearer t', 'x-forwarded-for': '203.0.113.1' },
      });
      assert.equal(b.status, 403, 'the source_ip criterion sees the client the proxy names');
    } finally {
      await h.close();
      await up.close();
    }
  });
});

describe('listener setup', () => {
  it('refuses a certificate and key that do not match, with ZT_PEP_TLS_INVALID', async () => {
    const other = selfSignedLocalhost();
    try {
      await assert.rejects(
        startProxy(engineFor({}), { tls: { cert: pki().cert, key: other.key } }),
        (e: Error & { code?: string }) =>
          e.code === 'ZT_PEP_TLS_INVALID' && !e.message.includes('PRIVATE KEY'),
      );
      await assert.rejects(
        startProxy(engineFor({}), { tls: { cert: 'not a certificate', key: 'nor a key' } }),
        (e: Error & { code?: string }) => e.code === 'ZT_PEP_TLS_INVALID',
      );
    } finally {
      other.cleanup();
    }
  });
});
