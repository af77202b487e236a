/**
 * The issuance policy's matching rules and the name parsers it relies on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PkiError } from '../errors.js';
import { parseDnsName, parseIpAddress } from '../names.js';
import { dnsMatch, globMatch, IssuancePolicy } from './policy.js';

describe('issuance policy', () => {
  it('matches DNS patterns label by label', () => {
    assert.ok(dnsMatch('localhost', 'localhost'));
    assert.ok(dnsMatch('*.localhost', 'app.localhost'));
    assert.ok(dnsMatch('*.localhost', '*.localhost'), 'the wildcard name itself');
    assert.ok(!dnsMatch('*.localhost', 'localhost'));
    assert.ok(!dnsMatch('*.localhost', 'a.b.localhost'));
    assert.ok(!dnsMatch('*.localhost', 'evillocalhost'));
    assert.ok(dnsMatch('**.example.org', 'a.b.example.org'));
    assert.ok(!dnsMatch('**.example.org', 'example.org'));
    assert.ok(!dnsMatch('**.example.org', 'badexample.org'));
    assert.ok(dnsMatch('App.Example.org', 'app.example.org'), 'patterns are case-insensitive');
  });

  it('matches globs in linear time', () => {
    assert.ok(globMatch('*', 'anything'));
    assert.ok(globMatch('laptop-*', 'laptop-7'));
    assert.ok(!globMatch('laptop-*', 'desktop-7'));
    assert.ok(globMatch('a*b*c', 'aXXbYYc'));
    const started = Date.now();
    assert.ok(!globMatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000)));
    assert.ok(Date.now() - started < 500);
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        assert.ok(globMatch('*', s));
        assert.ok(globMatch(s.replace(/\*/g, ''), s.replace(/\*/g, '')));
      }),
    );
  });

  it('matches IP addresses against addresses and CIDRs, v4 and v6', () => {
    const p = IssuancePolicy.parse(
      'requesters: [{name: r, types: [server], ips: [10.0.0.0/8, "2001:db8::/32", "::1"]}]',
    );
    const ask = (ip: string) => ({
      type: 'server' as const,
      ttlMs: 60_000,
      ips: [parseIpAddress(ip)],
    });
    p.authorize('r', ask('10.200.3.4'));
    p.authorize('r', ask('2001:db8:1::7'));
    p.authorize('r', ask('0:0:0:0:0:0:0:1'));
    assert.throws(() => p.authorize('r', ask('11.0.0.1')), /IP address `11.0.0.1`/);
    assert.throws(() => p.authorize('r', ask('2001:db9::1')), /2001:db9::1/);
  });

  it('reports malformed policies with where and what', () => {
    const bad = (text: string, message: RegExp) =>
      assert.throws(
        () => IssuancePolicy.parse(text, 'policy.yaml'),
        (e: unknown) =>
          e instanceof PkiError &&
          e.code === 'ZT_PKI_ISSUANCE_POLICY_INVALID' &&
          message.test(e.message),
      );
    bad(
      'requesters: [{name: r, types: [server], colour: red}]',
      /policy\.yaml: at `requesters\.0`: .*colour/,
    );
    bad('requesters: [{name: r, types: [root]}]', /requesters\.0\.types\.0/);
    bad(
      'requesters: [{name: r, types: [server], ips: [10.0.0.0/33]}]',
      /`10\.0\.0\.0\/33` is not an IP address or CIDR/,
    );
    bad(
      'requesters: [{name: r, types: [svid], spiffe_ids: ["spiffe://td/a/../b"]}]',
      /dot segment/,
    );
    bad('requesters: [{name: r, types: [svid], max_ttl: soon}]', /`soon` is not a duration/);
    bad('requesters: [', /not valid YAML/);
  });

  it('the unrestricted policy allows everything; an empty one nothing', () => {
    IssuancePolicy.unrestricted().authorize('anyone', {
      type: 'svid',
      ttlMs: 1,
      spiffeId: 'spiffe://x/y',
    });
    assert.throws(
      () =>
        IssuancePolicy.parse('requesters: []').authorize('anyone', {
          type: 'svid',
          ttlMs: 1,
          spiffeId: 'spiffe://x/y',
        }),
      /no entry/,
    );
  });
});

describe('names', () => {
  it('DNS names are lower-cased and checked', () => {
    assert.equal(parseDnsName('App.Example.ORG'), 'app.example.org');
    assert.equal(parseDnsName('*.localhost'), '*.localhost');
    assert.equal(parseDnsName('xn--bcher-kva.de'), 'xn--bcher-kva.de');
    for (const bad of [
      '',
      '*',
      'a..b',
      '-a.b',
      'a-.b',
      'a_b.c',
      'f*o.bar',
      `${'a'.repeat(64)}.b`,
      'example.org.',
      '1.2.3.4',
    ]) {
      assert.throws(
        () => parseDnsName(bad),
        (e: unknown) => e instanceof PkiError && e.code === 'ZT_PKI_NAME_INVALID',
        bad,
      );
    }
  });

  it('IP addresses are canonical and 4 or 16 bytes', () => {
    assert.deepEqual(parseIpAddress('127.0.0.1').bytes, Buffer.from([127, 0, 0, 1]));
    assert.equal(parseIpAddress('2001:DB8:0:0:0:0:0:1').text, '2001:db8::1');
    assert.equal(parseIpAddress('::ffff:10.0.0.1').text, '::ffff:a00:1');
    assert.equal(parseIpAddress('::').text, '::');
    assert.equal(parseIpAddress('1:0:0:2:0:0:0:3').text, '1:0:0:2::3');
    for (const bad of ['1.2.3', '1.2.3.256', 'fe80::1%eth0', '10.0.0.0/8', 'localhost']) {
      assert.throws(() => parseIpAddress(bad), /not an IPv4 or IPv6 address/, bad);
    }
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const a = parseIpAddress(ip);
        assert.equal(a.bytes.length, 16);
        assert.deepEqual(parseIpAddress(a.text).bytes, a.bytes);
      }),
    );
  });
});
