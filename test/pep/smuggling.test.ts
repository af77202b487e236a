/**
 * Ambiguous paths and request smuggling vectors, sent as raw bytes over a TLS socket (no client
 * library to tidy them up): each is refused with 400 and its reason code, and never reaches the
 * upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testIdentity } from '../../src/pep/testing/static-identity.js';
import {
  engineFor,
  rawTls,
  startProxy,
  startUpstream,
  statusOf,
  type Harness,
  type Upstream,
} from './helpers/harness.js';

const AUTH = 'Authorization: Bearer t\r\n';

function reasonOf(raw: string): string | undefined {
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  try {
    return (JSON.parse(body) as { reason?: string }).reason;
  } catch {
    return undefined;
  }
}

describe('proxy: path and smuggling rejections over a raw TLS socket', () => {
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
            policy: { allow: [{ authenticated: true, paths: ['/public/**'] }] },
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

  const paths: [string, string][] = [
    ['/public/..%2fadmin', 'encoded-slash'],
    ['/public%2F..%2Fadmin', 'encoded-slash'],
    ['/public/%5c../admin', 'encoded-backslash'],
    ['/public/a%00b', 'encoded-control'],
    ['/public/%0d%0aSet-Cookie:x', 'encoded-control'],
    ['/public/../../etc/passwd', 'above-root'],
    ['/..', 'above-root'],
    ['/public\\..\\admin', 'bad-character'],
    ['/public/%c0%ae%c0%ae/admin', 'invalid-utf8'],
    ['/public/%c0%af', 'invalid-utf8'],
    ['/public/%zz', 'bad-percent-encoding'],
  ];
  for (const [path, reason] of paths) {
    it(`refuses ${path} (${reason})`, async () => {
      const before = up.seen.length;
      const raw = await rawTls(
        h.port,
        `GET ${path} HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}\r\n`,
      );
      assert.equal(statusOf(raw), 400, raw);
      assert.equal(reasonOf(raw), reason);
      assert.match(raw, /x-request-id: [0-9a-f-]{36}/);
      assert.equal(up.seen.length, before);
    });
  }

  it('decides on the resolved path: `/public/../admin` is `/admin`, and denied', async () => {
    const raw = await rawTls(
      h.port,
      `GET /public/../admin HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}Connection: close\r\n\r\n`,
    );
    assert.equal(statusOf(raw), 403);
    const ok = await rawTls(
      h.port,
      `GET /x/../public/%61 HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}Connection: close\r\n\r\n`,
    );
    assert.equal(statusOf(ok), 200);
    assert.equal(up.seen.at(-1)?.url, '/public/a', 'the upstream gets the canonical path');
  });

  const framing: [string, string, string][] = [
    [
      'duplicate Host',
      `GET /public/x HTTP/1.1\r\nHost: app.localhost\r\nHost: evil.localhost\r\n${AUTH}\r\n`,
      'duplicate-host',
    ],
    [
      'duplicate Content-Length',
      `POST /public/x HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
      'duplicate-content-length',
    ],
    [
      'differing Content-Length',
      `POST /public/x HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}Content-Length: 3\r\nContent-Length: 30\r\n\r\nabc`,
      'duplicate-content-length',
    ],
    [
      'Content-Length with Transfer-Encoding',
      `POST /public/x HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      'content-length-with-transfer-encoding',
    ],
    [
      'Transfer-Encoding other than chunked',
      `POST /public/x HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
      'bad-transfer-encoding',
    ],
    [
      'absolute-form naming another host',
      `GET https://evil.localhost/public/x HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}\r\n`,
      'absolute-form-host-mismatch',
    ],
    [
      'Host with user info',
      `GET /public/x HTTP/1.1\r\nHost: alice@app.localhost\r\n${AUTH}\r\n`,
      'host-userinfo',
    ],
    ['no Host', `GET /public/x HTTP/1.0\r\n${AUTH}\r\n`, 'missing-host'],
    [
      'absolute-form with a backslash path (WHATWG URL would turn it into `/`)',
      `GET https://app.localhost/public\\..\\admin HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}\r\n`,
      'bad-character',
    ],
  ];
  for (const [name, bytes, reason] of framing) {
    it(`refuses ${name} (${reason})`, async () => {
      const before = up.seen.length;
      const raw = await rawTls(h.port, bytes);
      assert.equal(statusOf(raw), 400, raw);
      assert.equal(reasonOf(raw), reason, raw);
      assert.match(raw, /connection: close/i);
      assert.equal(up.seen.length, before, 'nothing reached the upstream');
    });
  }

  it('accepts absolute-form naming its own host, and routes on its path', async () => {
    const raw = await rawTls(
      h.port,
      `GET https://app.localhost/public/y?z=1 HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}Connection: close\r\n\r\n`,
    );
    assert.equal(statusOf(raw), 200);
    assert.equal(up.seen.at(-1)?.url, '/public/y?z=1');
  });

  it('does not let a smuggled second request ride on a refused one', async () => {
    const before = up.seen.length;
    const raw = await rawTls(
      h.port,
      `POST /public/x HTTP/1.1\r\nHost: app.localhost\r\n${AUTH}Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `0\r\n\r\nGET /admin HTTP/1.1\r\nHost: app.localhost\r\n\r\n`,
    );
    assert.equal(statusOf(raw), 400);
    assert.equal(
      (raw.match(/HTTP\/1\.1 /g) ?? []).length,
      1,
      'one response, then the connection closes',
    );
    assert.equal(up.seen.length, before);
  });
});
