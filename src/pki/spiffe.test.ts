/**
 * The SPIFFE ID parser: the rules of the SPIFFE-ID spec (as go-spiffe applies them), by example
 * and by property: every ID built from valid parts parses back to those parts; any ID with one
 * forbidden thing in it (a wildcard, a dot segment, an empty segment, an upper-case trust domain,
 * a query, a fragment, a port, user info, percent-encoding) is refused with ZT_PKI_SPIFFE_ID_INVALID;
 * arbitrary strings either parse or are refused with that code, never anything else.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PkiError } from './errors.js';
import { formatSpiffeId, parseSpiffeId, parseTrustDomain, spiffeIdHasPrefix } from './spiffe.js';

const TD_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.-_'.split('');
const SEG_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_'.split('');

const trustDomain = fc.string({ unit: fc.constantFrom(...TD_CHARS), minLength: 1, maxLength: 40 });
const segment = fc
  .string({ unit: fc.constantFrom(...SEG_CHARS), minLength: 1, maxLength: 20 })
  .filter((s) => s !== '.' && s !== '..');
const segments = fc.array(segment, { minLength: 1, maxLength: 6 });

function refused(input: string, pattern?: RegExp): void {
  assert.throws(
    () => parseSpiffeId(input, { leaf: true }),
    (err: unknown) => {
      assert.ok(err instanceof PkiError, `not a PkiError: ${String(err)}`);
      assert.equal(err.code, 'ZT_PKI_SPIFFE_ID_INVALID');
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
    input,
  );
}

describe('parseSpiffeId', () => {
  it('accepts well-formed IDs and splits them', () => {
    assert.deepEqual(parseSpiffeId('spiffe://example.org/ns/prod/sa/web'), {
      id: 'spiffe://example.org/ns/prod/sa/web',
      trustDomain: 'example.org',
      path: '/ns/prod/sa/web',
    });
    assert.equal(parseSpiffeId('spiffe://example.org').path, '');
    assert.equal(parseSpiffeId('spiffe://a_b-c.d/A.b_C-9').path, '/A.b_C-9');
  });

  it('refuses each thing the spec forbids, saying which', () => {
    refused('spiffe://example.org', /has no path/);
    refused('http://example.org/x', /does not start with `spiffe:\/\/`/);
    refused('SPIFFE://example.org/x', /upper-case scheme/);
    refused('spiffe:///x', /no trust domain/);
    refused('spiffe://Example.org/x', /upper-case letters in its trust domain/);
    refused('spiffe://example.org:8443/x', /has a port/);
    refused('spiffe://user@example.org/x', /has user info/);
    refused('spiffe://example.org/x?y=1', /has a query/);
    refused('spiffe://example.org/x#y', /has a fragment/);
    refused('spiffe://example.org/*', /has a wildcard/);
    refused('spiffe://*.example.org/x', /has a wildcard/);
    refused('spiffe://example.org/a/./b', /dot segment/);
    refused('spiffe://example.org/a/../b', /dot segment/);
    refused('spiffe://example.org/a//b', /empty path segment/);
    refused('spiffe://example.org/a/', /ends with a slash/);
    refused('spiffe://example.org/a%2fb', /percent-encoded/);
    refused('spiffe://example.org/a b', /character/);
    refused(`spiffe://example.org/${'a'.repeat(2048)}`, /longer than 2048/);
  });

  it('parses trust domain names on their own', () => {
    assert.equal(parseTrustDomain('example.org'), 'example.org');
    assert.equal(parseTrustDomain('spiffe://example.org'), 'example.org');
    assert.throws(() => parseTrustDomain('Example.org'), /upper-case/);
    assert.throws(() => parseTrustDomain('spiffe://example.org/x'), /workload ID/);
  });

  it('matches prefixes on segment boundaries only', () => {
    assert.ok(spiffeIdHasPrefix('spiffe://td/ns/prod', 'spiffe://td/ns/prod'));
    assert.ok(spiffeIdHasPrefix('spiffe://td/ns/prod/web', 'spiffe://td/ns/prod'));
    assert.ok(spiffeIdHasPrefix('spiffe://td/ns/prod/web', 'spiffe://td/ns/prod/'));
    assert.ok(!spiffeIdHasPrefix('spiffe://td/ns/production', 'spiffe://td/ns/prod'));
    assert.ok(!spiffeIdHasPrefix('spiffe://td2/ns/prod', 'spiffe://td/ns/prod'));
  });
});

describe('parseSpiffeId properties', () => {
  it('round-trips every ID built from valid parts', () => {
    fc.assert(
      fc.property(trustDomain, segments, (td, segs) => {
        const id = formatSpiffeId(td, segs);
        const parsed = parseSpiffeId(id, { leaf: true });
        assert.equal(parsed.id, id);
        assert.equal(parsed.trustDomain, td);
        assert.deepEqual(parsed.path.slice(1).split('/'), segs);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses any valid ID with one forbidden thing spliced in', () => {
    const corruption = fc.constantFrom(
      (td: string, segs: string[]) => formatSpiffeId(td, [...segs, '*']),
      (td: string, segs: string[]) =>
        formatSpiffeId(td, [...segs.slice(0, 1), '..', ...segs.slice(1)]),
      (td: string, segs: string[]) =>
        formatSpiffeId(td, [...segs.slice(0, 1), '.', ...segs.slice(1)]),
      (td: string, segs: string[]) =>
        formatSpiffeId(td, [...segs.slice(0, 1), '', ...segs.slice(1)]),
      (td: string, segs: string[]) => `${formatSpiffeId(td, segs)}/`,
      (td: string, segs: string[]) => `${formatSpiffeId(td, segs)}?q=1`,
      (td: string, segs: string[]) => `${formatSpiffeId(td, segs)}#f`,
      (td: string, segs: string[]) => formatSpiffeId(`${td}:443`, segs),
      (td: string, segs: string[]) => formatSpiffeId(`u@${td}`, segs),
      (td: string, segs: string[]) => formatSpiffeId(`X${td}`, segs),
      (td: string, segs: string[]) =>
        formatSpiffeId(td, [`${segs[0] ?? 'a'}%41`, ...segs.slice(1)]),
      (td: string) => formatSpiffeId(td, []),
      (td: string, segs: string[]) => formatSpiffeId(td, segs).replace('spiffe://', 'spiffe:/'),
    );
    fc.assert(
      fc.property(trustDomain, segments, corruption, (td, segs, corrupt) => {
        refused(corrupt(td, segs));
      }),
      { numRuns: 500 },
    );
  });

  it('on arbitrary input either parses to a canonical ID or refuses with its own code', () => {
    const input = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ maxLength: 60 }).map((s) => `spiffe://${s}`),
      fc
        .array(
          fc.constantFrom(
            'spiffe://',
            'a',
            'B',
            '/',
            '.',
            '..',
            '%',
            ':',
            '@',
            '?',
            '#',
            '*',
            '-',
            '_',
            ' ',
            'é',
          ),
          {
            maxLength: 20,
          },
        )
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(input, (s) => {
        try {
          const id = parseSpiffeId(s);
          assert.equal(
            formatSpiffeId(id.trustDomain, id.path === '' ? [] : id.path.slice(1).split('/')),
            s,
          );
          assert.match(id.trustDomain, /^[a-z0-9._-]+$/);
        } catch (err) {
          assert.ok(
            err instanceof PkiError && err.code === 'ZT_PKI_SPIFFE_ID_INVALID',
            String(err),
          );
        }
      }),
      { numRuns: 2000 },
    );
  });
});
