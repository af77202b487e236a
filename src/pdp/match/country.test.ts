import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { COUNTRY_CODES, normalizeCountry } from './country.js';

/** A label for a hostile value in an assertion message. */
const describeValue = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value;

void describe('normalizeCountry', () => {
  void it('holds the 249 assigned ISO 3166-1 alpha-2 codes plus XK', () => {
    assert.equal(COUNTRY_CODES.size, 250);
    for (const code of COUNTRY_CODES) assert.match(code, /^[A-Z]{2}$/);
  });

  void it('returns assigned codes upper-cased', () => {
    for (const [input, expected] of [
      ['DE', 'DE'],
      ['de', 'DE'],
      ['dE', 'DE'],
      ['US', 'US'],
      ['gb', 'GB'],
      ['XK', 'XK'],
      ['xk', 'XK'],
      ['AX', 'AX'], // Åland
      ['SS', 'SS'], // South Sudan (2011)
      ['BQ', 'BQ'], // the Caribbean Netherlands (2010)
      ['ZW', 'ZW'],
      ['AD', 'AD'],
    ]) {
      assert.equal(normalizeCountry(input as string), expected, input);
    }
  });

  void it('rejects unassigned, reserved and withdrawn codes', () => {
    // ZZ and AA are user-assigned; UK, EU and UN are exceptionally reserved; SU, YU, CS and AN
    // were withdrawn.
    for (const code of [
      'ZZ',
      'AA',
      'QO',
      'XA',
      'UK',
      'EU',
      'UN',
      'SU',
      'YU',
      'CS',
      'AN',
      'ZR',
      'TP',
    ]) {
      assert.equal(normalizeCountry(code), undefined, code);
    }
  });

  void it('rejects malformed values', () => {
    for (const value of <unknown[]>[
      '',
      'D',
      'DEU',
      'D E',
      ' DE',
      'DE ',
      'D1',
      '12',
      'Dé',
      'ıT', // dotless i upper-cases to I
      'ＤＥ', // full-width letters
      'de\n',
      'x'.repeat(100_000),
      undefined,
      null,
      49,
      {},
    ]) {
      assert.equal(normalizeCountry(value as string), undefined, describeValue(value).slice(0, 10));
    }
  });

  void it('is the identity on its own output and agrees with the embedded list', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 3 }), (text) => {
        const code = normalizeCountry(text);
        if (code === undefined) {
          assert.ok(!COUNTRY_CODES.has(text.toUpperCase()) || !/^[A-Za-z]{2}$/.test(text));
          return;
        }
        assert.equal(code, text.toUpperCase());
        assert.equal(normalizeCountry(code), code);
        assert.ok(COUNTRY_CODES.has(code));
      }),
    );
  });

  void it('knows every code that ICU names a region, except ICU extras', () => {
    // A cross-check against an independent list. ICU also names withdrawn and reserved codes and
    // its own pseudo-regions, which must stay out.
    const icuExtras = new Set(
      'AC AN BU CP CQ CS DD DG DY EA EU EZ FX HV IC NH QO RH SU TA TP UK UN VD XA XB YD YU ZR ZZ'.split(
        ' ',
      ),
    );
    const names = new Intl.DisplayNames('en', { type: 'region' });
    for (const code of COUNTRY_CODES) {
      assert.notEqual(names.of(code), code, `ICU has no name for ${code}`);
    }
    for (let a = 65; a <= 90; a++) {
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b);
        if (names.of(code) !== code && !icuExtras.has(code)) {
          assert.ok(COUNTRY_CODES.has(code), `${code} (${names.of(code)}) is missing`);
        }
      }
    }
  });
});
