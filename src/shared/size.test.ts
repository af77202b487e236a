import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_SIZE_BYTES, SIZE_PATTERN, SIZE_UNITS, formatSize, parseSize } from './size.js';

const PATTERN = new RegExp(SIZE_PATTERN);

describe('parseSize', () => {
  test('plain bytes, as a number or as text', () => {
    assert.equal(parseSize(0), 0);
    assert.equal(parseSize(1_048_576), 1_048_576);
    assert.equal(parseSize('0'), 0);
    assert.equal(parseSize('1048576'), 1_048_576);
    assert.equal(parseSize('007'), 7);
  });

  test('binary and decimal units', () => {
    assert.equal(parseSize('10MiB'), 10 * 1024 * 1024);
    assert.equal(parseSize('512KiB'), 512 * 1024);
    assert.equal(parseSize('1GB'), 1_000_000_000);
    assert.equal(parseSize('1GiB'), 1024 ** 3);
    assert.equal(parseSize('2TiB'), 2 * 1024 ** 4);
    assert.equal(parseSize('3kB'), 3000);
    assert.equal(parseSize('3KB'), 3000);
    assert.equal(parseSize('5MB'), 5_000_000);
    assert.equal(parseSize('1TB'), 1e12);
    assert.equal(parseSize('100B'), 100);
    assert.equal(parseSize('10 MiB'), 10 * 1024 * 1024, 'one space between number and unit');
  });

  test('refuses what is not a size', () => {
    for (const bad of [
      '',
      ' ',
      'MiB',
      '10 ',
      ' 10',
      '10  MiB',
      '10MiB ',
      '10\tMiB',
      '10\nMiB',
      '10MiB\n',
      '-1',
      '-1MiB',
      '+1',
      '1.5GiB',
      '1,5GiB',
      '1e6',
      '0x10',
      '0b101',
      'Infinity',
      'NaN',
      '10mib', // case matters: `mb` reads as millibits or megabits to many
      '10Mb',
      '10M',
      '10Gi',
      '10 bytes',
      '10iB',
      '10MiBB',
      '１０MiB', // full-width digits
      '10MiB; rm -rf /',
      '10constructor',
      '10toString',
      '10__proto__',
      '1'.repeat(17),
      `${'1'.repeat(40)}MiB`,
    ]) {
      assert.equal(parseSize(bad), undefined, JSON.stringify(bad));
    }
  });

  test('refuses numbers that are not whole, safe and non-negative', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, Number.MAX_VALUE, -0.5]) {
      assert.equal(parseSize(bad), undefined, String(bad));
    }
    assert.equal(parseSize(MAX_SIZE_BYTES), MAX_SIZE_BYTES);
  });

  test('refuses anything else without throwing', () => {
    for (const bad of [null, undefined, true, {}, [], ['10MiB'], 10n, Symbol('x'), () => 1]) {
      assert.equal(parseSize(bad), undefined);
    }
    assert.equal(
      parseSize({ toString: () => '10MiB' }),
      undefined,
      'an object is not its string form',
    );
  });

  test('sizes beyond 2^53 - 1 are refused rather than rounded', () => {
    assert.equal(parseSize('9007199254740991'), MAX_SIZE_BYTES);
    assert.equal(parseSize('9007199254740992'), undefined);
    assert.equal(parseSize('9999999999999999TiB'), undefined);
    assert.equal(parseSize('8191TiB'), 8191 * 1024 ** 4);
    assert.equal(parseSize('8192TiB'), undefined, '2^53 is not safe');
  });

  test('property: never throws, and a result is always a safe non-negative integer', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.double(), fc.integer()),
        (v) => {
          const r = parseSize(v);
          return r === undefined || (Number.isSafeInteger(r) && r >= 0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('property: text accepted by parseSize matches SIZE_PATTERN, and back', () => {
    const unit = fc.constantFrom('', ...SIZE_UNITS);
    fc.assert(
      fc.property(fc.nat({ max: 8191 }), unit, fc.boolean(), (n, u, space) => {
        const text = `${n}${u && space ? ' ' : ''}${u}`;
        const bytes = parseSize(text);
        assert.equal(PATTERN.test(text), true, text);
        assert.notEqual(bytes, undefined, text);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), (text) => {
        if (parseSize(text) !== undefined) assert.ok(PATTERN.test(text), text);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatSize', () => {
  test('the largest binary unit that divides the size, else bytes', () => {
    assert.equal(formatSize(0), '0B');
    assert.equal(formatSize(10 * 1024 * 1024), '10MiB');
    assert.equal(formatSize(3072), '3KiB');
    assert.equal(formatSize(1536), '1536B');
    assert.equal(formatSize(1_000_000_000), '1000000000B');
    assert.equal(formatSize(1024 ** 4), '1TiB');
  });

  test('property: round-trips through parseSize', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => parseSize(formatSize(n)) === n),
      { numRuns: 2000 },
    );
  });
});
