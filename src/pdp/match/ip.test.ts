import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { CidrSet, formatCidr, formatIp, parseCidr, parseIp } from './ip.js';
import type { IpAddress } from './ip.js';

/** A label for a hostile value in an assertion message. */
const describeValue = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value;

/** The address as one integer, for comparing with the reference parser below. */
function toBigInt(ip: IpAddress): bigint {
  if (ip.family === 4) return BigInt(ip.value);
  return ip.words.reduce((acc, w) => (acc << 32n) | BigInt(w), 0n);
}

/**
 * A deliberately naive IPv6 parser for text node:net already accepts: split on `::` and `:`,
 * convert a dotted tail to two groups. Slow, allocating and obviously right.
 */
function referenceV6(text: string): bigint {
  let t = text.toLowerCase();
  const lastColon = t.lastIndexOf(':');
  if (t.includes('.')) {
    const octets = t
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    t = `${t.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = '', right] = t.split('::');
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const groups =
    right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const MAPPED_PREFIX = 0xffffn << 32n;
function isMappedBig(v: bigint): boolean {
  return v >> 32n === 0xffffn;
}

function v4Text(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

function v6Full(v: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(16 * i)) & 0xffffn).toString(16));
  return groups.join(':');
}

/** The WHATWG URL serializer compresses IPv6 independently of formatIp. */
function v6Canonical(v: bigint): string {
  return new URL(`http://[${v6Full(v)}]/`).hostname.slice(1, -1);
}

// Generators biased towards a few values so that random CIDRs and addresses actually overlap.
const octet = fc.oneof(fc.constantFrom(0, 1, 10, 127, 128, 255), fc.integer({ min: 0, max: 255 }));
const v4Value = fc
  .tuple(octet, octet, octet, octet)
  .map(([a, b, c, d]) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0);
const group = fc.oneof(
  fc.constantFrom(0, 1, 0xffff, 0x2001, 0xdb8, 0x8000),
  fc.integer({ min: 0, max: 0xffff }),
);
const v6Value = fc
  .array(group, { minLength: 8, maxLength: 8 })
  .map((gs) => gs.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n));
const v6NotMapped = v6Value.filter((v) => !isMappedBig(v));
const v6Mapped = v4Value.map((v) => MAPPED_PREFIX | BigInt(v));

interface TestCidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

function maskBig(v: bigint, prefix: number, bits: number): bigint {
  const hostBits = BigInt(bits - prefix);
  return (v >> hostBits) << hostBits;
}

const v4Cidr = fc
  .tuple(v4Value, fc.integer({ min: 0, max: 32 }))
  .map(([v, p]): TestCidr => ({ family: 4, network: maskBig(BigInt(v), p, 32), prefix: p }));
const v6Cidr = (values: fc.Arbitrary<bigint>): fc.Arbitrary<TestCidr> =>
  fc
    .tuple(values, fc.integer({ min: 0, max: 128 }))
    .map(([v, p]): TestCidr => ({ family: 6, network: maskBig(v, p, 128), prefix: p }));

function cidrText(c: TestCidr, compressed: boolean): string {
  if (c.family === 4) return `${v4Text(Number(c.network))}/${c.prefix}`;
  return `${compressed ? v6Canonical(c.network) : v6Full(c.network)}/${c.prefix}`;
}

/** Addresses at and around the edges of each CIDR, where off-by-one mistakes live. */
function edgeAddresses(c: TestCidr): { family: 4 | 6; value: bigint }[] {
  const bits = c.family === 4 ? 32 : 128;
  const max = (1n << BigInt(bits)) - 1n;
  const last = c.network + (1n << BigInt(bits - c.prefix)) - 1n;
  return [c.network - 1n, c.network, last, last + 1n]
    .filter((v) => v >= 0n && v <= max)
    .map((value) => ({ family: c.family, value }));
}

function addressText(a: { family: 4 | 6; value: bigint }): string {
  return a.family === 4 ? v4Text(Number(a.value)) : v6Full(a.value);
}

function blockListFor(cidrs: readonly TestCidr[]): net.BlockList {
  const list = new net.BlockList();
  for (const c of cidrs) {
    const text = c.family === 4 ? v4Text(Number(c.network)) : v6Full(c.network);
    list.addSubnet(text, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

function compileOk(list: readonly string[]): CidrSet {
  const { set, errors } = CidrSet.compile(list);
  assert.deepEqual(errors, []);
  return set;
}

void describe('parseIp', () => {
  void it('parses dotted quads', () => {
    assert.deepEqual(parseIp('10.1.2.3'), { family: 4, value: 0x0a010203 });
    assert.deepEqual(parseIp('0.0.0.0'), { family: 4, value: 0 });
    assert.deepEqual(parseIp('255.255.255.255'), { family: 4, value: 0xffffffff });
    assert.deepEqual(parseIp('192.168.100.200'), { family: 4, value: 0xc0a864c8 });
  });

  void it('rejects IPv4 text that other parsers read differently or loosely', () => {
    for (const text of [
      '010.1.1.1', // octal in inet_aton
      '1.1.1.01',
      '00.1.1.1',
      '0x1.1.1.1',
      '256.1.1.1',
      '1.2.3.1000',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.4.',
      '.1.2.3.4',
      '1..2.3',
      '16909060', // a bare integer is an address to inet_aton
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1.2.3.4\n',
      '1.2.3.4/32',
      '1.2.3.4:80',
      '1.2.3.4%eth0',
      '１.２.３.４', // full-width digits
      '',
    ]) {
      assert.equal(parseIp(text), undefined, text);
    }
  });

  void it('parses every RFC 4291 text form, in any case', () => {
    const cases: [string, bigint][] = [
      ['::', 0n],
      ['::1', 1n],
      ['1::', 1n << 112n],
      ['2001:db8::1', 0x20010db8000000000000000000000001n],
      ['2001:DB8::1', 0x20010db8000000000000000000000001n],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', 0x20010db8000000000000000000000001n],
      ['1:2:3:4:5:6:7:8', 0x00010002000300040005000600070008n],
      ['1::2:3:4:5:6:7', 0x00010000000200030004000500060007n], // `::` for one group (RFC 4291 allows it)
      ['1:2:3:4:5:6:7::', 0x00010002000300040005000600070000n],
      ['fe80::1:2', 0xfe800000000000000000000000010002n],
      ['64:ff9b::1.2.3.4', 0x0064ff9b000000000000000001020304n],
      ['::1.2.3.4', 0x01020304n], // IPv4-compatible: deprecated, but still IPv6 and not mapped
      ['1:2:3:4:5:6:1.2.3.4', 0x00010002000300040005000601020304n],
      ['1:2:3:4:5::1.2.3.4', 0x00010002000300040005000001020304n],
      ['FFFF:ffff:FfFf:ffff:ffff:ffff:ffff:ffff', (1n << 128n) - 1n],
    ];
    for (const [text, value] of cases) {
      const ip = parseIp(text);
      assert.ok(ip !== undefined && ip.family === 6, text);
      assert.equal(toBigInt(ip), value, text);
    }
  });

  void it('rejects malformed IPv6 text, zone ids, brackets and ports', () => {
    for (const text of [
      ':',
      ':::',
      '1:::2',
      '1::2::3',
      ':1::',
      '1::2:',
      ':1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::8', // `::` must stand for at least one group
      '1:2:3:4:5:6:7:8::',
      '12345::',
      '::g',
      '::ffff:1.2.3',
      '::ffff:1.2.3.04',
      '::ffff:256.1.1.1',
      '::1.2.3.4:5',
      '1.2.3.4::',
      '1:2:3:4:5:6:7:1.2.3.4',
      '1:2:3:4:5:6::1.2.3.4',
      'fe80::1%eth0',
      'fe80::1%25eth0',
      '::%1',
      '[::1]',
      '[::1]:443',
      ' ::1',
      '::1 ',
      '0000:0000:0000:0000:0000:ffff:255.255.255.255:1',
      'x'.repeat(100_000),
      ':'.repeat(100_000),
    ]) {
      assert.equal(parseIp(text), undefined, text);
    }
  });

  void it('returns IPv4-mapped IPv6 addresses as IPv4, in dotted and hex form', () => {
    assert.deepEqual(parseIp('::ffff:10.1.2.3'), { family: 4, value: 0x0a010203 });
    assert.deepEqual(parseIp('::FFFF:10.1.2.3'), { family: 4, value: 0x0a010203 });
    assert.deepEqual(parseIp('::ffff:0a01:0203'), { family: 4, value: 0x0a010203 });
    assert.deepEqual(parseIp('0:0:0:0:0:ffff:a01:203'), { family: 4, value: 0x0a010203 });
    assert.deepEqual(parseIp('::ffff:0.0.0.0'), { family: 4, value: 0 });
    // Neighbours of the mapped block stay IPv6.
    assert.equal(parseIp('::fffe:10.1.2.3')?.family, 6);
    assert.equal(parseIp('1::ffff:10.1.2.3')?.family, 6);
    assert.equal(parseIp('64:ff9b::10.1.2.3')?.family, 6);
  });

  void it('never throws on values that are not strings', () => {
    for (const value of <unknown[]>[undefined, null, 1, {}, [], Symbol('x')]) {
      assert.equal(parseIp(value as string), undefined);
    }
  });

  void it('agrees with node:net isIP on random strings, except zone ids', () => {
    // node:net accepts `<ipv6>%<anything>` (a scoped address); ztgate rejects zone ids on purpose
    // because they name an interface of the receiving host, not a client. Every other string
    // must get the same verdict.
    const unit = fc.constantFrom(
      ...'0123456789abcdefABCDEF:.%g '.split(''),
      '::',
      'ffff',
      '255',
      '1.2.3.4',
      '.0',
      '00',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 24 }), (text) => {
        const ours = parseIp(text) !== undefined;
        const node = net.isIP(text) !== 0;
        const zone = text.indexOf('%');
        if (zone >= 0) {
          assert.equal(ours, false);
          if (node) assert.equal(net.isIP(text.slice(0, zone)), 6);
        } else {
          assert.equal(ours, node, text);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  void it('parses generated valid addresses to the values a reference parser gives', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const ip = parseIp(text);
        assert.ok(ip !== undefined, text);
        assert.notEqual(net.isIP(text), 0);
        if (net.isIP(text) === 4) {
          assert.equal(ip.family, 4);
          assert.equal(formatIp(ip), text);
          return;
        }
        const expected = referenceV6(text);
        if (isMappedBig(expected)) {
          assert.equal(ip.family, 4, text);
          assert.equal(BigInt(toBigInt(ip)), expected & 0xffffffffn);
        } else {
          assert.equal(ip.family, 6, text);
          assert.equal(toBigInt(ip), expected, text);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  void it('formats IPv6 canonically (RFC 5952) and round-trips', () => {
    fc.assert(
      fc.property(v6NotMapped, (value) => {
        const ip = parseIp(v6Full(value));
        assert.ok(ip !== undefined && ip.family === 6);
        const text = formatIp(ip);
        assert.equal(text, v6Canonical(value));
        assert.deepEqual(parseIp(text), ip);
      }),
      { numRuns: 5_000 },
    );
    const one = parseIp('2001:db8:0:1:1:1:1:1');
    assert.ok(one !== undefined);
    assert.equal(formatIp(one), '2001:db8:0:1:1:1:1:1'); // a single zero group is not compressed
    const tie = parseIp('2001:0:0:1:0:0:0:1');
    assert.ok(tie !== undefined);
    assert.equal(formatIp(tie), '2001:0:0:1::1'); // the longest run wins
    const first = parseIp('2001:db8:0:0:1:0:0:1');
    assert.ok(first !== undefined);
    assert.equal(formatIp(first), '2001:db8::1:0:0:1'); // on a tie, the first run
  });
});

void describe('parseCidr', () => {
  void it('parses IPv4 and IPv6 CIDRs; a bare address is a single host', () => {
    const a = parseCidr('10.0.0.0/8');
    assert.ok(a.ok && a.family === 4);
    assert.equal(a.address.value, 0x0a000000);
    assert.equal(a.prefix, 8);
    const b = parseCidr('10.1.2.3');
    assert.ok(b.ok && b.family === 4);
    assert.equal(b.prefix, 32);
    const c = parseCidr('2001:db8::/32');
    assert.ok(c.ok && c.family === 6);
    assert.equal(c.prefix, 32);
    assert.equal(formatCidr(c), '2001:db8::/32');
    const d = parseCidr('2001:db8::1');
    assert.ok(d.ok && d.family === 6);
    assert.equal(d.prefix, 128);
    const all = parseCidr('0.0.0.0/0');
    assert.ok(all.ok && all.prefix === 0);
    const all6 = parseCidr('::/0');
    assert.ok(all6.ok && all6.family === 6 && all6.prefix === 0);
  });

  void it('turns IPv4-mapped CIDRs with a prefix of at least 96 into IPv4 CIDRs', () => {
    const a = parseCidr('::ffff:10.0.0.0/104');
    assert.ok(a.ok && a.family === 4);
    assert.equal(formatCidr(a), '10.0.0.0/8');
    const b = parseCidr('::ffff:0:0/96');
    assert.ok(b.ok && b.family === 4);
    assert.equal(formatCidr(b), '0.0.0.0/0');
    const c = parseCidr('::ffff:10.1.2.3');
    assert.ok(c.ok && c.family === 4);
    assert.equal(formatCidr(c), '10.1.2.3/32');
    const d = parseCidr('::ffff:a01:0/112');
    assert.ok(d.ok && d.family === 4);
    assert.equal(formatCidr(d), '10.1.0.0/16');
    // A shorter prefix is an IPv6 CIDR (that covers the mapped block, or has host bits set).
    const e = parseCidr('::/80');
    assert.ok(e.ok && e.family === 6);
  });

  void it('rejects host bits and suggests the network', () => {
    const cases: [string, string][] = [
      ['10.0.0.1/8', '`10.0.0.1/8` has host bits set; did you mean `10.0.0.0/8`?'],
      ['192.168.1.1/16', '`192.168.1.1/16` has host bits set; did you mean `192.168.0.0/16`?'],
      ['1.2.3.4/0', '`1.2.3.4/0` has host bits set; did you mean `0.0.0.0/0`?'],
      ['2001:db8::1/32', '`2001:db8::1/32` has host bits set; did you mean `2001:db8::/32`?'],
      [
        '::ffff:10.0.0.1/104',
        '`::ffff:10.0.0.1/104` has host bits set; did you mean `::ffff:10.0.0.0/104`?',
      ],
      ['::ffff:0:0/80', '`::ffff:0:0/80` has host bits set; did you mean `::/80`?'],
    ];
    for (const [text, message] of cases) {
      assert.deepEqual(parseCidr(text), { ok: false, message }, text);
    }
  });

  void it('rejects bad prefixes with lower-case messages naming the input', () => {
    const cases: [string, RegExp][] = [
      ['10.0.0.0/33', /^`10\.0\.0\.0\/33`: the prefix length must be from 0 to 32/],
      ['::/129', /^`::\/129`: the prefix length must be from 0 to 128/],
      [
        '10.0.0.0/08',
        /^`10\.0\.0\.0\/08`: write the prefix length without leading zeros, as in `\/8`/,
      ],
      ['10.0.0.0/00', /without leading zeros, as in `\/0`/],
      ['10.0.0.0/', /^`10\.0\.0\.0\/`: the prefix length must be a number/],
      ['10.0.0.0/x', /must be a number/],
      ['10.0.0.0/+8', /must be a number/],
      ['10.0.0.0/-1', /must be a number/],
      ['10.0.0.0/8 ', /must be a number/],
      ['10.0.0.0/1e1', /must be a number/],
      ['10.0.0.0/８', /must be a number/],
      ['10.0.0.0/8/8', /must be a number/],
      ['10.0.0.0/99999999999999999999', /must be from 0 to 32/],
    ];
    for (const [text, pattern] of cases) {
      const r = parseCidr(text);
      assert.ok(!r.ok, text);
      assert.match(r.message, pattern, text);
    }
  });

  void it('explains common address mistakes', () => {
    const cases: [string, RegExp][] = [
      ['fe80::1%eth0/64', /^`fe80::1%eth0\/64`: zone ids such as `%eth0` are not allowed/],
      ['[::1]/128', /write IPv6 addresses without brackets/],
      ['1.2.3.4:80', /ports are not allowed/],
      [' 10.0.0.0/8', /has surrounding whitespace/],
      ['010.0.0.0/8', /octets must not have leading zeros/],
      ['10.0.0/8', /^`10\.0\.0\/8` is not an IP address or CIDR$/],
      ['example.com', /is not an IP address or CIDR/],
      ['', /^`` is not an IP address or CIDR$/],
    ];
    for (const [text, pattern] of cases) {
      const r = parseCidr(text);
      assert.ok(!r.ok, text);
      assert.match(r.message, pattern, text);
      assert.equal(r.message[0], '`');
    }
  });

  void it('keeps huge hostile input out of messages', () => {
    const r = parseCidr(`${'1'.repeat(100_000)}/8`);
    assert.ok(!r.ok);
    assert.ok(r.message.length < 200);
    assert.equal(parseCidr(undefined as unknown as string).ok, false);
  });
});

void describe('CidrSet', () => {
  void it('matches the examples, including mapped addresses in both directions', () => {
    const set = compileOk(['10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32']);
    assert.equal(set.contains('10.1.2.3'), true);
    assert.equal(set.contains('11.0.0.0'), false);
    assert.equal(set.contains('192.168.1.255'), true);
    assert.equal(set.contains('192.168.2.0'), false);
    assert.equal(set.contains('2001:db8:1::1'), true);
    assert.equal(set.contains('2001:db9::'), false);
    // A dual-stack socket reports IPv4 clients as mapped IPv6 addresses.
    assert.equal(set.contains('::ffff:10.1.2.3'), true);
    assert.equal(set.contains('::ffff:a01:203'), true);
    assert.equal(set.contains('::ffff:11.1.2.3'), false);
    // A mapped CIDR matches plain IPv4 addresses.
    const mapped = compileOk(['::ffff:10.0.0.0/104']);
    assert.equal(mapped.contains('10.200.0.1'), true);
    assert.equal(mapped.contains('::ffff:10.200.0.1'), true);
    assert.equal(mapped.contains('11.0.0.1'), false);
    // The mapped block as a whole is all of IPv4, and so is any IPv6 CIDR containing it.
    for (const cidr of ['::ffff:0:0/96', '::/0', '::/64', '::fffe:0:0/95']) {
      const s = compileOk([cidr]);
      assert.equal(s.contains('203.0.113.9'), true, cidr);
      assert.equal(s.contains('0.0.0.0'), true, cidr);
    }
    // Other embeddings of IPv4 are not IPv4.
    assert.equal(compileOk(['10.0.0.0/8']).contains('::10.1.2.3'), false);
    assert.equal(compileOk(['10.0.0.0/8']).contains('64:ff9b::10.1.2.3'), false);
    assert.equal(compileOk(['64:ff9b::/96']).contains('10.1.2.3'), false);
    assert.equal(compileOk(['2001:db8::/32']).contains('10.1.2.3'), false);
  });

  void it('treats unparsable and hostile addresses as not contained, never throwing', () => {
    const set = compileOk(['0.0.0.0/0', '::/0']);
    for (const value of <unknown[]>[
      '',
      'localhost',
      '10.0.0.1/8',
      'fe80::1%eth0',
      '[::1]',
      '1.2.3.4:80',
      ' 1.2.3.4',
      '\u0000',
      '1'.repeat(1_000_000),
      undefined,
      null,
      42,
      {},
    ]) {
      assert.equal(set.contains(value as string), false, describeValue(value).slice(0, 20));
    }
  });

  void it('collects every error with its index and keeps the valid entries', () => {
    const { set, errors } = CidrSet.compile([
      '10.0.0.0/8',
      '10.0.0.1/8',
      'nonsense',
      '2001:db8::/32',
      42 as unknown as string,
    ]);
    assert.deepEqual(
      errors.map((e) => e.index),
      [1, 2, 4],
    );
    assert.match(errors[0]?.message ?? '', /did you mean `10\.0\.0\.0\/8`/);
    assert.equal(set.contains('10.9.9.9'), true);
    assert.equal(set.contains('2001:db8::5'), true);
  });

  void it('is empty for an empty list', () => {
    const set = compileOk([]);
    assert.equal(set.contains('1.2.3.4'), false);
    assert.equal(set.contains('::1'), false);
  });

  void it('merges overlapping, nested and adjacent ranges', () => {
    const set = compileOk([
      '10.0.0.0/9',
      '10.128.0.0/9',
      '10.1.0.0/16',
      '10.0.0.0/8',
      '255.255.255.255/32',
      '255.255.255.254/32',
      '::/128',
      '::1/128',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128',
      '8000::/1',
    ]);
    for (const a of ['10.0.0.0', '10.127.255.255', '10.128.0.0', '10.255.255.255']) {
      assert.equal(set.contains(a), true, a);
    }
    assert.equal(set.contains('9.255.255.255'), false);
    assert.equal(set.contains('11.0.0.0'), false);
    assert.equal(set.contains('255.255.255.255'), true);
    assert.equal(set.contains('255.255.255.253'), false);
    assert.equal(set.contains('::'), true);
    assert.equal(set.contains('::1'), true);
    assert.equal(set.contains('::2'), false);
    assert.equal(set.contains('8000::'), true);
    assert.equal(set.contains('7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), false);
  });

  void it('containsParsed agrees with contains, also for hand-built mapped values', () => {
    const set = compileOk(['10.0.0.0/8', '2001:db8::/32']);
    const mapped: IpAddress = { family: 6, words: [0, 0, 0xffff, 0x0a010203] };
    assert.equal(set.containsParsed(mapped), true);
    for (const text of ['10.1.2.3', '11.1.2.3', '2001:db8::1', '2001:db9::1', '::ffff:10.0.0.1']) {
      const ip = parseIp(text);
      assert.ok(ip !== undefined);
      assert.equal(set.containsParsed(ip), set.contains(text), text);
    }
  });

  // Both the linear scan (few ranges) and the binary search (many) are exercised: list sizes
  // run from 0 to 40.
  void it('agrees with node:net BlockList on non-mapped CIDRs and addresses', () => {
    const cidr = fc.oneof(v4Cidr, v6Cidr(v6NotMapped));
    const address = fc.oneof(
      v4Value.map((v) => ({ family: 4 as const, value: BigInt(v) })),
      v6NotMapped.map((value) => ({ family: 6 as const, value })),
    );
    fc.assert(
      fc.property(
        fc.array(cidr, { maxLength: 40 }),
        fc.array(address, { maxLength: 20 }),
        fc.boolean(),
        (cidrs, randomAddresses, compressed) => {
          const set = compileOk(cidrs.map((c) => cidrText(c, compressed)));
          const reference = blockListFor(cidrs);
          const addresses = [...randomAddresses, ...cidrs.flatMap(edgeAddresses)].filter(
            (a) => a.family === 4 || !isMappedBig(a.value),
          );
          for (const a of addresses) {
            const text = addressText(a);
            const expected = reference.check(text, a.family === 4 ? 'ipv4' : 'ipv6');
            assert.equal(set.contains(text), expected, `${text} in ${cidrs.length} cidrs`);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });

  void it('agrees with node:net BlockList on mapped CIDRs and addresses', () => {
    // BlockList maps IPv4 to ::ffff:0:0/96 when comparing across families, which is the
    // meaning CidrSet gives mapped addresses too.
    const cidr = fc.oneof(v4Cidr, v6Cidr(v6Mapped), v6Cidr(v6Value));
    const address = fc.oneof(
      v4Value.map((v) => ({ family: 4 as const, value: BigInt(v) })),
      v6Mapped.map((value) => ({ family: 6 as const, value })),
    );
    fc.assert(
      fc.property(
        fc.array(cidr, { maxLength: 20 }),
        fc.array(address, { maxLength: 20 }),
        (cidrs, addresses) => {
          const set = compileOk(
            cidrs.map((c) => cidrText(c, false)).filter((t) => parseCidr(t).ok),
          );
          const reference = blockListFor(cidrs.filter((c) => parseCidr(cidrText(c, false)).ok));
          for (const a of [...addresses, ...cidrs.flatMap(edgeAddresses)]) {
            const text = addressText(a);
            const expected = reference.check(text, a.family === 4 ? 'ipv4' : 'ipv6');
            assert.equal(set.contains(text), expected, text);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  void it('compiles 1,000,000 entries and answers lookups', { timeout: 60_000 }, () => {
    // Every even address in 10.0.0.0/10 as a /32 and every even /64 under 2001:db8::/40,
    // listed in a scrambled order, so that sorting and merging are both exercised and the
    // expected answer is known without a reference.
    const half = 500_000;
    const list: string[] = new Array<string>(2 * half);
    for (let k = 0; k < half; k++) {
      const i = (k * 7919) % half; // 7919 is prime and does not divide half: a permutation
      list[2 * k] = `${v4Text(0x0a000000 + 2 * i)}/32`;
      list[2 * k + 1] =
        `2001:db8:${((2 * i) >>> 16).toString(16)}:${((2 * i) & 0xffff).toString(16)}::/64`;
    }
    const set = compileOk(list);
    for (const i of [0, 1, 2, 3, 12_345, 12_346, 499_998, 499_999, 999_998, 999_999, 1_000_000]) {
      const inList = i % 2 === 0 && i < 2 * half;
      assert.equal(set.contains(v4Text(0x0a000000 + i)), inList, `v4 ${i}`);
      const v6 = `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::42`;
      assert.equal(set.contains(v6), inList, `v6 ${i}`);
    }
    assert.equal(set.contains('9.255.255.255'), false);
    assert.equal(set.contains('2001:db7::'), false);
  });
});
