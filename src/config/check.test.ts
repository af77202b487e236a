import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ProblemsError } from '../shared/errors.js';
import { isLoopbackHost, parseListen, routeKey } from './check.js';
import { loadConfigText } from './load.js';

describe('parseListen', () => {
  test('splits host and port', () => {
    assert.deepEqual(parseListen('127.0.0.1:8443'), { host: '127.0.0.1', port: 8443 });
    assert.deepEqual(parseListen('[::1]:8443'), { host: '::1', port: 8443 });
    assert.deepEqual(parseListen('[::]:1'), { host: '::', port: 1 });
    assert.deepEqual(parseListen('gw.example.com:65535'), { host: 'gw.example.com', port: 65535 });
  });

  test('never throws, and a result is always a valid port', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const r = parseListen(text);
        if ('port' in r) assert.ok(Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535);
        else assert.ok(r.error.length > 0 && r.help.length > 0);
      }),
    );
  });
});

describe('isLoopbackHost', () => {
  test('loopback addresses and localhost names', () => {
    for (const h of [
      'localhost',
      'app.localhost',
      '127.0.0.1',
      '127.8.9.10',
      '[::1]',
      '::1',
      'LOCALHOST',
    ]) {
      assert.ok(isLoopbackHost(h), h);
    }
    for (const h of ['10.0.0.1', 'example.com', 'localhost.example.com', '[::2]', '128.0.0.1']) {
      assert.ok(!isLoopbackHost(h), h);
    }
    assert.ok(isLoopbackHost(new URL('http://[::ffff:127.0.0.1]/').hostname));
  });
});

describe('routeKey', () => {
  test('normalizes case, default port and a final slash', () => {
    const k = (u: string): string => routeKey(new URL(u));
    assert.equal(k('https://App.Example.com:443/api/'), k('https://app.example.com/api'));
    assert.notEqual(k('https://app.example.com/api'), k('https://app.example.com/apix'));
    assert.notEqual(k('https://app.example.com:8443'), k('https://app.example.com'));
  });
});

describe('audit settings', () => {
  const it = test;
  const load = (yaml: string) => {
    try {
      return loadConfigText(yaml, 'ztgate.yaml', { env: {} }).problems.map(
        (p) => `${p.severity} ${p.code}`,
      );
    } catch (err) {
      return (err as ProblemsError).problems.map((p) => `${p.severity} ${p.code}`);
    }
  };
  it('checks the syslog address and the webhook URL', () => {
    assert.deepEqual(load('audit: {syslog: {address: "siem.example.com:6514", tls: true}}'), []);
    assert.deepEqual(load('audit: {syslog: {address: "siem.example.com"}}'), [
      'error ZT_CONFIG_INVALID_LISTEN',
    ]);
    assert.deepEqual(load('audit: {webhook: {url: "https://siem.example.com/in"}}'), []);
    assert.deepEqual(load('audit: {webhook: {url: "http://siem.example.com/in"}}'), [
      'error ZT_CONFIG_INVALID_URL',
    ]);
    assert.deepEqual(load('audit: {webhook: {url: "http://127.0.0.1:9/in"}}'), [
      'warning ZT_CONFIG_INSECURE',
    ]);
    assert.deepEqual(load('audit: {on_backlog_full: drop}'), ['error ZT_CONFIG_INVALID_VALUE']);
  });
});
