/** Forwarding: limits, timeouts, failures, streaming, hop-by-hop headers, pools, HTTP/2, TLS upstreams. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientCertificate, selfSignedLocalhost } from '../../src/pep/testing/self-signed.js';
import { testIdentity } from '../../src/pep/testing/static-identity.js';
import {
  curl,
  engineFor,
  json,
  pki,
  rawTls,
  request,
  request2,
  startProxy,
  startUpstream,
  statusOf,
  type Harness,
  type Upstream,
} from './helpers/harness.js';

const AUTH = { authorization: 'Bearer t' };

describe('proxy: forwarding', () => {
  let up: Upstream;
  let slow: Upstream;
  let stream: Upstream;
  let deadPort: number;
  let h: Harness;
  let releaseStream: (() => void) | undefined;
  const connections = new Set<unknown>();

  before(async () => {
    up = await startUpstream();
    up.server.on('connection', (s) => connections.add(s));
    slow = await startUpstream(() => {
      // never answers
    });
    stream = await startUpstream();
    // A streaming upstream: sends a first chunk, waits for the test, then the rest.
    stream.server.removeAllListeners('request');
    stream.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url === '/download') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        releaseStream = () => res.end('last');
        return;
      }
      // /upload: answers as soon as the first body chunk arrives, echoing it
      req.once('data', (c: Buffer) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`got:${c.toString()}`);
        req.resume();
      });
    });
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const policy = { allow: [{ authenticated: true }] };
    h = await startProxy(
      engineFor({
        routes: [
          { from: 'https://app.localhost', to: up.url, policy },
          { from: 'https://base.localhost', to: `${up.url}/base/`, policy },
          { from: 'https://slow.localhost', to: slow.url, policy },
          { from: 'https://stream.localhost', to: stream.url, policy },
          { from: 'https://down.localhost', to: `http://127.0.0.1:${deadPort}`, policy },
        ],
      }),
      { maxBodyBytes: 1024, upstreamTimeoutMs: 300 },
    );
    h.identity.set('t', testIdentity('alice'));
  });
  after(async () => {
    releaseStream?.();
    await h.close();
    await Promise.all([up.close(), slow.close(), stream.close()]);
  });

  it('forwards a body within the limit, and refuses a declared larger one with 413 before the upstream', async () => {
    const ok = await request(h.port, 'app.localhost', '/p', {
      method: 'POST',
      headers: AUTH,
      body: 'x'.repeat(1024),
    });
    assert.equal(ok.status, 200);
    assert.equal((json(ok) as { body: string }).body.length, 1024);
    const before = up.seen.length;
    const big = await request(h.port, 'app.localhost', '/p', {
      method: 'POST',
      headers: AUTH,
      body: 'x'.repeat(1025),
    });
    assert.equal(big.status, 413);
    assert.equal(json(big).request_id, big.headers['x-request-id']);
    assert.equal(up.seen.length, before);
  });

  it('cuts a chunked body at the limit with 413', async () => {
    const body = `${(2000).toString(16)}\r\n${'y'.repeat(2000)}\r\n0\r\n\r\n`;
    const raw = await rawTls(
      h.port,
      `POST /p HTTP/1.1\r\nHost: app.localhost\r\nAuthorization: Bearer t\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
    );
    assert.equal(statusOf(raw), 413, raw);
  });

  it('answers 502 with the request id when the upstream is down', async () => {
    const a = await request(h.port, 'down.localhost', '/', { headers: AUTH });
    assert.equal(a.status, 502);
    assert.deepEqual(Object.keys(json(a)).sort(), ['error', 'request_id']);
    assert.equal(json(a).request_id, a.headers['x-request-id']);
    const b = await request(h.port, 'down.localhost', '/', { headers: { ...AUTH } });
    assert.equal(b.status, 502);
    assert.match(
      h.proxy.metrics(),
      /ztgate_pep_upstream_errors_total\{route="https:\/\/down.localhost",kind="unreachable"\} 2/,
    );
  });

  it('answers 504 when the upstream does not answer in time', async () => {
    const t0 = performance.now();
    const a = await request(h.port, 'slow.localhost', '/', { headers: AUTH });
    assert.equal(a.status, 504);
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(json(a).request_id, a.headers['x-request-id']);
  });

  it('streams the response: the client reads the first chunk before the upstream has finished', async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: h.port,
          servername: 'localhost',
          path: '/download',
          headers: { host: 'stream.localhost', ...AUTH },
          ca: pki().cert,
          agent: false,
        },
        (res) => {
          res.once('data', (c: Buffer) => {
            resolve(c.toString());
            releaseStream?.();
            res.resume();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(first, 'first;');
  });

  it('streams the request: the upstream answers after the first chunk while the client is still sending', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: h.port,
          servername: 'localhost',
          method: 'POST',
          path: '/upload',
          headers: { host: 'stream.localhost', ...AUTH, 'transfer-encoding': 'chunked' },
          ca: pki().cert,
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => {
            resolve(body);
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.write('chunk-1');
      // the request is never ended: only streaming gets the answer back
    });
    assert.equal(answer, 'got:chunk-1');
  });

  it('removes hop-by-hop headers, including those Connection names', async () => {
    const a = await request(h.port, 'app.localhost', '/hop', {
      headers: {
        ...AUTH,
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': '1',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-authorization': 'Basic abc',
        'x-end-to-end': 'kept',
      },
    });
    const headers = (json(a) as { headers: Record<string, string> }).headers;
    assert.equal(headers['x-secret-hop'], undefined);
    assert.equal(headers['keep-alive'], undefined);
    assert.equal(headers.te, undefined);
    assert.equal(headers['proxy-authorization'], undefined);
    assert.equal(headers['x-end-to-end'], 'kept');
    assert.equal(headers.host, `127.0.0.1:${up.port}`);
  });

  it('prefixes the path of `to`, and reuses keep-alive connections to the upstream', async () => {
    const a = await request(h.port, 'base.localhost', '/x?y=1', { headers: AUTH });
    assert.equal((json(a) as { url: string }).url, '/base/x?y=1');
    const before = connections.size;
    for (let i = 0; i < 5; i++) await request(h.port, 'app.localhost', `/k${i}`, { headers: AUTH });
    assert.ok(
      connections.size - before <= 1,
      `${connections.size - before} new upstream connections for 5 requests`,
    );
  });

  it('speaks HTTP/2 to clients that offer it by ALPN (node:http2 and curl --http2)', async () => {
    const a = await request2(h.port, 'app.localhost', '/h2?q=1', { authorization: 'Bearer t' });
    assert.equal(a.alpn, 'h2');
    assert.equal(a.status, 200);
    assert.equal((json(a) as { url: string }).url, '/h2?q=1');
    assert.ok(a.headers['x-request-id']);
    const out = await curl([
      '--http2',
      '--cacert',
      pki().certFile,
      '-H',
      'Host: app.localhost',
      '-H',
      'Authorization: Bearer t',
      '-w',
      '\n%{http_version} %{http_code}',
      `https://localhost:${h.port}/curl`,
    ]);
    const [body, status] = out.split('\n');
    assert.equal(status, '2 200');
    assert.equal((JSON.parse(body as string) as { url: string }).url, '/curl');
    const login = await request2(h.port, 'app.localhost', '/', { accept: 'text/html' });
    assert.equal(login.status, 302);
    const bad = await request2(h.port, 'app.localhost', '/a%2fb', { authorization: 'Bearer t' });
    assert.equal(bad.status, 400);
  });

  it('speaks HTTP/1.1 to curl with --http1.1, and TLS 1.2 and 1.3', async () => {
    for (const v of ['--tlsv1.2 --tls-max 1.2', '--tlsv1.3']) {
      const out = await curl([
        '--http1.1',
        ...v.split(' '),
        '--cacert',
        pki().certFile,
        '-H',
        'Host: app.localhost',
        '-H',
        'Authorization: Bearer t',
        '-o',
        '/dev/null',
        '-w',
        '%{http_version} %{http_code}',
        `https://localhost:${h.port}/`,
      ]);
      assert.equal(out, '1.1 200');
    }
  });
});

describe('proxy: https upstreams with a custom CA and mTLS', () => {
  it('verifies the upstream against the given CA and presents the client certificate', async () => {
    const server = selfSignedLocalhost();
    const dir = mkdtempSync(join(tmpdir(), 'ztgate-pep-mtls-'));
    const client = clientCertificate(dir, 'ztgate-proxy');
    const seenClient: string[] = [];
    const upstream = https.createServer(
      {
        cert: server.cert,
        key: server.key,
        ca: client.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        seenClient.push(String(peer.subject?.CN));
        res.end('secure');
      },
    );
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    const policy = { allow: [{ public: true as const }] };
    const h = await startProxy(
      engineFor({
        routes: [
          { from: 'https://secure.localhost', to: `https://localhost:${port}`, policy },
          { from: 'https://untrusted.localhost', to: `https://127.0.0.1:${port}`, policy },
        ],
      }),
      {
        upstreamTls: (origin) =>
          origin === `https://localhost:${port}`
            ? { ca: server.cert, cert: client.cert, key: client.key }
            : undefined,
      },
    );
    try {
      const a = await request(h.port, 'secure.localhost', '/');
      assert.equal(a.status, 200);
      assert.equal(a.body, 'secure');
      assert.deepEqual(seenClient, ['ztgate-proxy']);
      // no CA given for this origin: the system CAs do not know the certificate
      assert.equal((await request(h.port, 'untrusted.localhost', '/')).status, 502);
    } finally {
      await h.close();
      upstream.closeAllConnections();
      await new Promise<void>((r) => upstream.close(() => r()));
      server.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
