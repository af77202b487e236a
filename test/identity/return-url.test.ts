/** Open-redirect defences: every trick in the book is refused; ordinary return URLs are kept. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertReturnUrl, routeHosts, validateReturnUrl } from '../../src/identity/return-url.js';
import { ZtError } from '../../src/shared/errors.js';

const policy = {
  publicUrl: 'https://auth.example.com',
  allowedHosts: ['app.example.com', 'wiki.example.com:8443', '*.apps.example.com'],
};

describe('return URL validation', () => {
  const refused: Record<string, string> = {
    'scheme-relative': '//evil.example',
    'scheme-relative with path': '//evil.example/x',
    'slash backslash': '/\\evil.example',
    'backslash slash': '\\/evil.example',
    'double backslash': '\\\\evil.example',
    'https without slashes': 'https:evil.example',
    'https with one slash': 'https:/evil.example',
    'https with backslashes': 'https:\\\\evil.example',
    'javascript scheme': 'javascript:alert(1)',
    'data scheme': 'data:text/html,<script>alert(1)</script>',
    'other host': 'https://evil.example/',
    'suffix attack': 'https://app.example.com.evil.example/',
    'prefix attack': 'https://evilapp.example.com/',
    userinfo: 'https://app.example.com@evil.example/',
    'userinfo on an allowed host': 'https://user:pass@app.example.com/',
    'encoded userinfo': 'https://app.example.com%40evil.example/',
    'encoded double slash': '/%2f%2fevil.example',
    'encoded scheme-relative': '%2F%2Fevil.example',
    'encoded backslash': '/%5cevil.example',
    'double-encoded backslash': '/%255cevil.example',
    'double-encoded slashes': '%252F%252Fevil.example',
    'tab inside': '/\t/evil.example',
    'newline inside': '/\n/evil.example',
    'leading space': ' //evil.example',
    'trailing control': '/ok\u0000',
    'encoded tab': '/%09/evil.example',
    'encoded newline': '/%0d%0aLocation:%20https://evil.example',
    'encoded NUL': '/x%00',
    'encoded leading space before slashes': '%20//evil.example',
    'unicode slash look-alike': '/\u2215\u2215evil.example',
    'full-width slash': '／／evil.example',
    'non-ASCII host': 'https://аpp.example.com/',
    'encoded scheme': '%68ttps://evil.example',
    'http not allowed': 'http://app.example.com/',
    'wrong port': 'https://wiki.example.com/',
    'wildcard base itself': 'https://apps.example.com/',
    'ambiguous host (trailing dot)': 'https://app.example.com./',
    'numeric host': 'https://0x7f.1/',
    empty: '',
    'malformed percent': '/%zz',
    'too long': `/${'a'.repeat(3000)}`,
  };
  for (const [name, url] of Object.entries(refused)) {
    it(`refuses ${name}: ${JSON.stringify(url).slice(0, 60)}`, () => {
      const r = validateReturnUrl(url, policy);
      assert.equal(r.ok, false, JSON.stringify(r));
    });
  }

  const accepted: Record<string, [string, string]> = {
    'a path': ['/app/x?y=1#z', 'https://auth.example.com/app/x?y=1#z'],
    'a path with an encoded space': ['/files/my%20doc', 'https://auth.example.com/files/my%20doc'],
    'a query holding a URL': ['/x?next=%2F%2Fevil', 'https://auth.example.com/x?next=%2F%2Fevil'],
    'the public host': ['https://auth.example.com/portal', 'https://auth.example.com/portal'],
    'a route host': ['https://app.example.com/dash', 'https://app.example.com/dash'],
    'upper-case scheme and host': ['HTTPS://APP.example.com/', 'https://app.example.com/'],
    'a route host with its port': [
      'https://wiki.example.com:8443/p',
      'https://wiki.example.com:8443/p',
    ],
    'a wildcard subdomain': [
      'https://grafana.apps.example.com/',
      'https://grafana.apps.example.com/',
    ],
    'the default port written out': ['https://app.example.com:443/', 'https://app.example.com/'],
  };
  for (const [name, [url, expected]] of Object.entries(accepted)) {
    it(`accepts ${name}`, () => {
      assert.deepEqual(validateReturnUrl(url, policy), { ok: true, url: expected });
    });
  }

  it('accepts http only when allowed, for loopback development', () => {
    assert.equal(
      validateReturnUrl('http://127.0.0.1:9000/', { publicUrl: 'http://127.0.0.1:9000' }).ok,
      false,
    );
    assert.equal(
      validateReturnUrl('http://127.0.0.1:9000/', {
        publicUrl: 'http://127.0.0.1:9000',
        allowHttp: true,
      }).ok,
      true,
    );
  });

  it('throws a coded error from assertReturnUrl and builds allow lists from routes', () => {
    assert.throws(
      () => assertReturnUrl('//evil.example', policy),
      (e: unknown) => e instanceof ZtError && e.code === 'ZT_IDENTITY_RETURN_URL_REFUSED',
    );
    assert.deepEqual(
      routeHosts([{ from: 'https://App.example.com:8443/api' }, { from: 'https://b.example.com' }]),
      ['app.example.com:8443', 'b.example.com'],
    );
  });
});
