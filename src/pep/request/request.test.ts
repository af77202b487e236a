import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isNormalizedPath } from '../../pdp/criteria/paths.js';
import { checkFraming } from './check-framing.js';
import { encodePath, normalizeTarget } from './normalize-path.js';
import { isForwardingHeader, isIdentityHeader, stripClientHeaders } from './strip-headers.js';

function path(target: string): string {
  const r = normalizeTarget(target);
  assert.ok(r.ok, `${target} was refused: ${r.ok ? '' : r.reason}`);
  return r.path;
}
function refused(target: string): string {
  const r = normalizeTarget(target);
  assert.ok(!r.ok, `${target} was accepted as ${r.ok ? r.path : ''}`);
  return r.reason;
}

describe('normalizeTarget', () => {
  it('keeps canonical paths as they are', () => {
    for (const p of [
      '/',
      '/a',
      '/a/b/',
      '/api/v1/users',
      '/files/report.pdf',
      "/a:b@c!$&'()*+,;=-._~",
    ]) {
      const r = normalizeTarget(p);
      assert.deepEqual(r, { ok: true, path: p, upstreamPath: p, query: '' });
    }
  });
  it('splits the query off and keeps it as sent', () => {
    const r = normalizeTarget('/a/./b?x=1&y=%2F/?');
    assert.deepEqual(r, { ok: true, path: '/a/b', upstreamPath: '/a/b', query: 'x=1&y=%2F/?' });
  });
  it('resolves dot segments and merges slashes, once', () => {
    assert.equal(path('/a/../b'), '/b');
    assert.equal(path('/a/./b/.'), '/a/b/');
    assert.equal(path('//admin///x'), '/admin/x');
    assert.equal(path('/a/b/..'), '/a/');
    assert.equal(path('/public/%2e%2e/admin'), '/admin');
    assert.equal(path('/public/.%2E/admin'), '/admin');
    assert.equal(path('/.well-known/x'), '/.well-known/x');
    assert.equal(path('/a/...'), '/a/...');
  });
  it('refuses to climb above the root', () => {
    assert.equal(refused('/..'), 'above-root');
    assert.equal(refused('/a/../../etc/passwd'), 'above-root');
    assert.equal(refused('/%2e%2e/x'), 'above-root');
  });
  it('refuses encodings whose meaning differs between servers', () => {
    assert.equal(refused('/admin%2fusers'), 'encoded-slash');
    assert.equal(refused('/admin%2Fusers'), 'encoded-slash');
    assert.equal(refused('/admin%5cusers'), 'encoded-backslash');
    assert.equal(refused('/a%00b'), 'encoded-control');
    assert.equal(refused('/a%0d%0aSet-Cookie:x'), 'encoded-control');
    assert.equal(refused('/a%7f'), 'encoded-control');
    assert.equal(refused('/%c0%ae%c0%ae/admin'), 'invalid-utf8'); // overlong `.`
    assert.equal(refused('/%c0%af'), 'invalid-utf8'); // overlong `/`
    assert.equal(refused('/%ed%a0%80'), 'invalid-utf8'); // surrogate
    assert.equal(refused('/%ff'), 'invalid-utf8');
    assert.equal(refused('/a%2'), 'bad-percent-encoding');
    assert.equal(refused('/a%zz'), 'bad-percent-encoding');
  });
  it('refuses raw characters that are not path characters', () => {
    for (const t of [
      '/a\\b',
      '/a b',
      '/a\tb',
      '/a\u0000',
      '/a"b',
      '/a<b',
      '/é',
      '/a#frag',
      '/a?b c',
      '/a?b\u007f',
    ]) {
      assert.equal(refused(t), 'bad-character', t);
    }
    assert.equal(refused('*'), 'not-origin-form');
    assert.equal(refused('http://x/a'), 'not-origin-form');
    assert.equal(refused(''), 'not-origin-form');
    assert.equal(refused(`/${'a'.repeat(9000)}`), 'too-long');
  });
  it('decodes once: a double-encoded character stays a literal on both sides', () => {
    const r = normalizeTarget('/a%252fb');
    assert.ok(r.ok);
    assert.equal(r.path, '/a%2fb');
    assert.equal(r.upstreamPath, '/a%252fb');
    const u = normalizeTarget('/caf%C3%A9/%41');
    assert.ok(u.ok);
    assert.equal(u.path, '/café/A');
    assert.equal(u.upstreamPath, '/caf%C3%A9/A');
  });
  it('property: never throws; accepted paths are normalized; normalizing again changes nothing', () => {
    const alphabet = fc.constantFrom(
      '/',
      '.',
      '%',
      '2',
      'e',
      'f',
      'F',
      'a',
      'c',
      '0',
      '5',
      'C',
      '?',
      '\\',
      ' ',
      'é',
      '~',
    );
    const target = fc.oneof(
      fc.string(),
      fc.array(alphabet, { maxLength: 30 }).map((a) => `/${a.join('')}`),
    );
    fc.assert(
      fc.property(target, (t) => {
        const r = normalizeTarget(t);
        if (!r.ok) return;
        assert.ok(isNormalizedPath(r.path), `not normalized: ${JSON.stringify(r.path)}`);
        const again = normalizeTarget(r.upstreamPath);
        assert.ok(again.ok);
        assert.equal(again.path, r.path);
        assert.equal(again.upstreamPath, r.upstreamPath);
        assert.equal(encodePath(r.path), r.upstreamPath);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('checkFraming', () => {
  const req = (rawHeaders: string[], url = '/x', httpVersion = '1.1') =>
    checkFraming({ rawHeaders, url, httpVersion });
  it('accepts an ordinary request and lower-cases the host', () => {
    assert.deepEqual(req(['Host', 'App.Example.com:8443']), {
      ok: true,
      host: 'app.example.com:8443',
      target: '/x',
    });
    assert.deepEqual(req(['host', '[::1]:8443', 'Transfer-Encoding', 'chunked']), {
      ok: true,
      host: '[::1]:8443',
      target: '/x',
    });
  });
  it('refuses the smuggling and host confusion vectors', () => {
    const reason = (r: ReturnType<typeof req>) => (r.ok ? 'ok' : r.reason);
    assert.equal(reason(req([])), 'missing-host');
    assert.equal(reason(req(['Host', 'a.example', 'host', 'b.example'])), 'duplicate-host');
    assert.equal(
      reason(req(['Host', 'a.example', 'Content-Length', '5', 'content-length', '5'])),
      'duplicate-content-length',
    );
    assert.equal(
      reason(req(['Host', 'a.example', 'Content-Length', '5', 'Transfer-Encoding', 'chunked'])),
      'content-length-with-transfer-encoding',
    );
    assert.equal(
      reason(req(['Host', 'a.example', 'Transfer-Encoding', 'gzip, chunked'])),
      'bad-transfer-encoding',
    );
    assert.equal(
      reason(
        req(['Host', 'a.example', 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked']),
      ),
      'bad-transfer-encoding',
    );
    assert.equal(reason(req(['Host', 'a.example', 'Content-Length', '-1'])), 'bad-content-length');
    assert.equal(
      reason(req(['Host', 'a.example', 'Content-Length', '0x10'])),
      'bad-content-length',
    );
    assert.equal(reason(req(['Host', 'user@a.example'])), 'host-userinfo');
    assert.equal(reason(req(['Host', 'a.example/evil'])), 'bad-host');
    assert.equal(reason(req(['Host', 'a.example:99999'])), 'bad-host');
    assert.equal(
      reason(req(['Host', 'a.example'], 'https://b.example/x')),
      'absolute-form-host-mismatch',
    );
    assert.equal(reason(req(['Host', 'a.example'], 'https://user@a.example/x')), 'bad-target');
    assert.equal(reason(req(['Host', 'a.example'], 'file:///etc/passwd')), 'bad-target');
  });
  it('absolute-form keeps the raw path for normalization (URL parsing used to rewrite it)', () => {
    const target = (url: string) => {
      const r = req(['Host', 'a.example'], url);
      assert.ok(r.ok, url);
      return r.target;
    };
    assert.equal(target('https://a.example/public\\..\\admin'), '/public\\..\\admin');
    assert.equal(normalizeTarget(target('https://a.example/public\\..\\admin')).ok, false);
    assert.equal(normalizeTarget(target('https://a.example/a\tb')).ok, false);
    assert.equal(normalizeTarget(target('https://a.example/\u00e9')).ok, false);
    assert.equal(target('https://a.example'), '/');
    assert.equal(target('https://a.example?x=1'), '/?x=1');
  });
  it('accepts absolute-form naming the same host, and routes on its path', () => {
    assert.deepEqual(req(['Host', 'a.example'], 'https://A.example:443/x?y=1'), {
      ok: true,
      host: 'a.example',
      target: '/x?y=1',
    });
  });
});

describe('client headers', () => {
  it('recognizes identity headers whatever their case or separator', () => {
    for (const n of [
      'x-ztgate-user',
      'X-Ztgate-Jwt-Assertion',
      'x_ztgate_email',
      'X_ZTGATE-GROUPS',
      'x-ztgate-',
    ]) {
      assert.ok(isIdentityHeader(n), n);
    }
    for (const n of ['x-ztgatex', 'x-zt-gate-user', 'ztgate-user', 'x-forwarded-for'])
      assert.ok(!isIdentityHeader(n), n);
  });
  it('lets the admin API CSRF marker through (the console sends it), and only its exact spelling', () => {
    assert.ok(!isIdentityHeader('x-ztgate-csrf'));
    assert.ok(!isIdentityHeader('X-Ztgate-Csrf'));
    assert.ok(isIdentityHeader('x_ztgate_csrf'));
    assert.ok(isIdentityHeader('x-ztgate-csrf-x'));
  });
  it('treats every client-identity forwarding header as forwarding (X-Original-*, True-Client-IP)', () => {
    for (const n of [
      'X-Original-URI',
      'x_original_method',
      'True-Client-IP',
      'X-Client-IP',
      'X-Forwarded-Prefix',
    ]) {
      assert.ok(isForwardingHeader(n), n);
    }
    assert.ok(!isForwardingHeader('x-request-id'));
  });
  it('strips identity headers always and forwarding headers from untrusted peers', () => {
    const headers = {
      'x-ztgate-user': 'admin',
      x_ztgate_groups: 'admins',
      'x-forwarded-for': '1.2.3.4',
      x_forwarded_host: 'evil',
      accept: '*/*',
    };
    assert.deepEqual(stripClientHeaders({ ...headers }, true).sort(), [
      'x-ztgate-user',
      'x_ztgate_groups',
    ]);
    const h = { ...headers };
    stripClientHeaders(h, false);
    assert.deepEqual(Object.keys(h), ['accept']);
  });
});
