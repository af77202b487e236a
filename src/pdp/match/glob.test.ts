import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GlobSet, MAX_PATTERN_LENGTH, compileGlob } from './glob.js';
import type { Glob } from './glob.js';

function glob(pattern: string): Glob {
  const r = compileGlob(pattern);
  if (!r.ok) assert.fail(`${pattern}: ${r.message}`);
  return r.glob;
}

/**
 * The oracle: a RegExp over the text with a `/` appended, so that every segment, the last one
 * included, ends in `/`. A literal or `*` segment is its regex followed by `/`; `**` is
 * `(?:[^/]*\/)*`, any number of whole segments. Fine for small inputs; backtracking is why it is
 * not the implementation.
 */
function oracle(pattern: string): (text: string) => boolean {
  const body = pattern
    .split('/')
    .map((segment) =>
      segment === '**'
        ? '(?:[^/]*/)*'
        : `${segment
            .split('*')
            .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('[^/]*')}/`,
    )
    .join('');
  const re = new RegExp(`^${body}$`);
  return (text) => re.test(`${text}/`);
}

void describe('compileGlob', () => {
  void it('matches the documented examples', () => {
    const cases: [string, string[], string[]][] = [
      [
        '/api/**',
        ['/api', '/api/', '/api/x', '/api/x/y'],
        ['/apix', '/ap', '/', '/API/x', 'api/x'],
      ],
      ['/a/**/b', ['/a/b', '/a/x/b', '/a/x/y/b'], ['/a', '/a/b/c', '/ab', '/a/xb']],
      ['/**', ['/', '/x', '/x/y/z', '//', ''], ['x', 'x/y']],
      [
        '/files/*.pdf',
        ['/files/a.pdf', '/files/.pdf', '/files/x.y.pdf'],
        ['/files/x/a.pdf', '/files/a.PDF', '/files/a.pdfx'],
      ],
      ['/exact', ['/exact'], ['/exact/', '/Exact', '/exac', '/exactly']],
      ['/a/*/c', ['/a/b/c', '/a//c'], ['/a/b/b/c', '/a/c']],
      ['/a/*', ['/a/b', '/a/'], ['/a', '/a/b/c']],
      ['/a?b', ['/a?b'], ['/axb', '/ab']], // `?` is literal
      ['/[ab]', ['/[ab]'], ['/a', '/b']], // brackets are literal
      ['/a.b', ['/a.b'], ['/axb']], // `.` is literal
      ['/*a*b*', ['/ab', '/xaybz', '/aab', '/abab'], ['/ba', '/a', '/a/b']],
      // A middle part may not overlap the suffix: `xaa` has no `aa` before its final `a`.
      ['/*aa*a', ['/aaa', '/xaaya'], ['/xaa', '/aa']],
      ['**', ['', 'x', '/', '/a/b', 'a/b'], []],
      ['**/x', ['x', '/x', 'a/b/x'], ['xx', '/x/y']],
      [
        'spiffe://example.org/ns/*/sa/**',
        ['spiffe://example.org/ns/prod/sa/web', 'spiffe://example.org/ns/prod/sa'],
        [
          'spiffe://example.org/ns/prod/x/sa/web',
          'spiffe://example.org/ns/prod',
          'spiffe://evil.org/ns/prod/sa/web',
        ],
      ],
      [
        'spiffe://example.org/**',
        ['spiffe://example.org', 'spiffe://example.org/ns/a'],
        ['spiffe://example.org.evil/ns', 'spiffe://example.orgx'],
      ],
      ['/a/**/**/b', ['/a/b', '/a/x/b'], ['/a/x']],
      ['/a/**/b/**', ['/a/b', '/a/x/b/y/z'], ['/a/x']],
    ];
    for (const [pattern, yes, no] of cases) {
      const g = glob(pattern);
      assert.equal(g.pattern, pattern);
      for (const text of yes) assert.equal(g.matches(text), true, `${pattern} ~ ${text}`);
      for (const text of no) assert.equal(g.matches(text), false, `${pattern} !~ ${text}`);
    }
  });

  void it('matches case-sensitively and treats non-ASCII as literal', () => {
    assert.equal(glob('/Ä/*').matches('/Ä/x'), true);
    assert.equal(glob('/Ä/*').matches('/ä/x'), false);
    assert.equal(glob('/*😀').matches('/a😀'), true);
    assert.equal(glob('/*😀').matches('/a/😀'), false);
  });

  void it('rejects malformed patterns with clear messages', () => {
    const cases: [string, RegExp][] = [
      ['', /^a pattern must not be empty$/],
      ['/a**', /^`\/a\*\*`: `\*\*` must be a whole path segment, as in `\/api\/\*\*`$/],
      ['/**.js', /`\*\*` must be a whole path segment/],
      ['/***', /`\*\*` must be a whole path segment/],
      ['/a/**b/c', /`\*\*` must be a whole path segment/],
      ['/' + 'a'.repeat(MAX_PATTERN_LENGTH), /is longer than 4096 characters$/],
      ['/*'.repeat(65), /has 65 wildcards; at most 64 are allowed$/],
      ['/' + '*a'.repeat(65), /has 65 wildcards/],
    ];
    for (const [pattern, message] of cases) {
      const r = compileGlob(pattern);
      assert.ok(!r.ok, pattern);
      assert.match(r.message, message, pattern);
      assert.ok(r.message.length < 200, 'huge patterns are abbreviated in messages');
    }
    assert.ok(compileGlob('/*'.repeat(64)).ok);
    assert.ok(compileGlob('/' + 'a'.repeat(MAX_PATTERN_LENGTH - 1)).ok);
    assert.equal(compileGlob(undefined as unknown as string).ok, false);
  });

  void it('never throws on texts that are not strings', () => {
    for (const pattern of ['/x', '/x/**', '**', '/*/y']) {
      const g = glob(pattern);
      for (const value of <unknown[]>[undefined, null, 1, {}, ['/x']]) {
        assert.equal(g.matches(value as string), false, pattern);
      }
    }
  });

  void it('agrees with a RegExp oracle on random patterns and texts', () => {
    const segment = fc.oneof(
      fc.constant('**'),
      fc.string({ unit: fc.constantFrom('a', 'b', '*'), maxLength: 6 }),
    );
    const pattern = fc
      .array(segment, { minLength: 1, maxLength: 6 })
      .map((segments) => segments.join('/'))
      .filter((p) => p.length > 0);
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 14 });
    fc.assert(
      fc.property(pattern, fc.array(text, { maxLength: 12 }), (p, texts) => {
        const compiled = compileGlob(p);
        const malformed = p.split('/').some((s) => s !== '**' && s.includes('**'));
        assert.equal(compiled.ok, !malformed, p);
        if (!compiled.ok) return;
        const expected = oracle(p);
        // Texts made from the pattern itself hit the interesting cases often.
        const literal = p.replaceAll('*', '');
        for (const t of [...texts, literal, `/${literal}`, `${literal}/`, `${literal}/a`]) {
          assert.equal(compiled.glob.matches(t), expected(t), `${p} ~ ${t}`);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  void it('finishes hostile patterns on 100 KB texts', { timeout: 10_000 }, () => {
    const big = `/${'a'.repeat(100_000)}`;
    const deep = '/a'.repeat(50_000);
    const slashes = '/'.repeat(100_000);
    const cases: [string, string, boolean][] = [
      ['/*a*a*a*a*a*a*a*a*b', big, false],
      ['/*a*a*a*a*a*a*a*a*b', `${big}b`, true],
      ['/**/**/**/**/x', deep, false],
      ['/**/**/**/**/x', `${deep}/x`, true],
      ['/**/*a*a*a*a*b*/**', deep, false],
      ['/**/a/**/a/**/a/**/a/**/b', deep, false],
      ['/**/*/*/*/*/*/*/*/*/b', deep, false],
      ['/**/*a*a*a*a*a*a*a*a*b', big, false],
      ['/**/x', slashes, false],
      ['/**/', slashes, true],
      ['/**/*', slashes, true],
      [`/${'*a'.repeat(32)}*b`, big, false],
    ];
    for (const [pattern, text, expected] of cases) {
      assert.equal(glob(pattern).matches(text), expected, pattern);
    }
    // Thousands of live NFA states on every segment: the len(text) x len(pattern) worst case.
    const wide = glob(`/**/${'a/'.repeat(2_040)}b`);
    assert.equal(wide.matches(deep), false);
    // The largest allowed pattern against a large text.
    const long = glob(`/**/${'*a'.repeat(30)}/${'x/'.repeat(1_900)}**/y`);
    assert.equal(long.matches(deep), false);
  });

  void it('takes the fast paths without changing results', () => {
    // Exact and `prefix/**` patterns have their own implementations; compare them with a general
    // pattern that means the same thing but cannot take the fast path.
    const pairs: [string, string][] = [
      ['/api/**', '/api/**/**/**'],
      ['/**', '/**/**'],
      ['/a//**', '/a//**/**'],
    ];
    const texts = [
      '',
      '/',
      '//',
      '/api',
      '/api/',
      '/api/x',
      '/apix',
      '/a/',
      '/a//',
      '/a//x',
      'api',
      '/a',
    ];
    for (const [fast, general] of pairs) {
      for (const t of texts) {
        assert.equal(glob(fast).matches(t), oracle(fast)(t), `${fast} ~ ${t}`);
        assert.equal(glob(general).matches(t), oracle(fast)(t), `${general} ~ ${t}`);
      }
    }
  });
});

void describe('GlobSet', () => {
  void it('matches when any pattern matches', () => {
    const { set, errors } = GlobSet.compile(['/health', '/api/**', '/files/*.pdf']);
    assert.deepEqual(errors, []);
    assert.equal(set.matches('/health'), true);
    assert.equal(set.matches('/health/x'), false);
    assert.equal(set.matches('/api'), true);
    assert.equal(set.matches('/api/v1/users'), true);
    assert.equal(set.matches('/files/a.pdf'), true);
    assert.equal(set.matches('/files/a.txt'), false);
    assert.equal(set.matches(undefined as unknown as string), false);
  });

  void it('collects errors with indices and keeps the valid patterns', () => {
    const { set, errors } = GlobSet.compile([
      '/ok',
      '',
      '/a**',
      '/also/**',
      7 as unknown as string,
    ]);
    assert.deepEqual(
      errors.map((e) => e.index),
      [1, 2, 4],
    );
    assert.match(errors[1]?.message ?? '', /must be a whole path segment/);
    assert.equal(set.matches('/ok'), true);
    assert.equal(set.matches('/also/x'), true);
  });

  void it('matches nothing when empty and everything with `**`', () => {
    assert.equal(GlobSet.compile([]).set.matches('/'), false);
    assert.equal(GlobSet.compile(['**']).set.matches('anything/at/all'), true);
  });

  void it('agrees with "any pattern matches" on random sets, small and large', () => {
    const segment = fc.oneof(
      fc.constant('**'),
      fc.string({ unit: fc.constantFrom('a', 'b', '*'), maxLength: 3 }),
    );
    const literalSegment = fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 3 });
    // Many `prefix/**` patterns push the set past its scan limit into the hashed lookup.
    const pattern = fc.oneof(
      fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/')),
      fc.array(literalSegment, { minLength: 1, maxLength: 4 }).map((s) => `${s.join('/')}/**`),
      fc.array(literalSegment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/')),
    );
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 12 });
    fc.assert(
      fc.property(
        fc.array(pattern, { maxLength: 30 }),
        fc.array(text, { maxLength: 20 }),
        (ps, ts) => {
          const { set, errors } = GlobSet.compile(ps);
          const valid = ps.filter((p) => compileGlob(p).ok);
          assert.equal(errors.length, ps.length - valid.length);
          const oracles = valid.map(oracle);
          for (const t of [...ts, ...valid.map((p) => p.replaceAll('*', ''))]) {
            assert.equal(
              set.matches(t),
              oracles.some((o) => o(t)),
              t,
            );
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
