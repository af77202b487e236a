import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dayNumber, daysInMonth, parseCalendarDate, parseInstant, utcMs } from './instant.js';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Valid RFC 3339 fields, with an offset in minutes. */
const fields = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 31 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    ms: fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined }),
    offset: fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
    ),
  })
  .map((f) => ({ ...f, day: Math.min(f.day, daysInMonth(f.year, f.month)) }));

function format(f: {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number | undefined;
  offset: number | undefined;
}): string {
  const fraction = f.ms === undefined ? '' : `.${pad(f.ms, 3)}`;
  const offset =
    f.offset === undefined
      ? 'Z'
      : `${f.offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(f.offset) / 60))}:${pad(Math.abs(f.offset) % 60)}`;
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}${fraction}${offset}`;
}

void describe('parseInstant', () => {
  void it('parses RFC 3339 date-times with Z or an offset', () => {
    assert.equal(parseInstant('2026-11-22T10:05:00Z'), Date.UTC(2026, 10, 22, 10, 5));
    assert.equal(
      parseInstant('2026-11-22T10:05:00.123+01:00'),
      Date.UTC(2026, 10, 22, 9, 5, 0, 123),
    );
    assert.equal(parseInstant('2026-11-22T10:05:00-05:30'), Date.UTC(2026, 10, 22, 15, 35));
    assert.equal(parseInstant('2026-11-22T10:05:00-00:00'), Date.UTC(2026, 10, 22, 10, 5));
    assert.equal(parseInstant('2026-11-22t10:05:00z'), Date.UTC(2026, 10, 22, 10, 5)); // RFC 3339 5.6 note
    assert.equal(parseInstant('2026-11-22T23:30:00-01:00'), Date.UTC(2026, 10, 23, 0, 30));
    assert.equal(parseInstant('1969-12-31T23:59:59.999Z'), -1);
  });

  void it('reads fractions as milliseconds, truncating finer digits', () => {
    assert.equal(parseInstant('2026-01-01T00:00:00.1Z'), Date.UTC(2026, 0, 1, 0, 0, 0, 100));
    assert.equal(parseInstant('2026-01-01T00:00:00.12Z'), Date.UTC(2026, 0, 1, 0, 0, 0, 120));
    assert.equal(
      parseInstant('2026-01-01T00:00:00.123999999Z'),
      Date.UTC(2026, 0, 1, 0, 0, 0, 123),
    );
    assert.equal(parseInstant('2026-01-01T00:00:00.Z'), undefined);
  });

  void it('handles leap years and the years Date.UTC treats specially', () => {
    assert.equal(parseInstant('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
    assert.equal(parseInstant('2000-02-29T00:00:00Z'), Date.UTC(2000, 1, 29));
    assert.equal(parseInstant('2026-02-29T00:00:00Z'), undefined);
    assert.equal(parseInstant('2100-02-29T00:00:00Z'), undefined);
    // Date.UTC(99, ...) means 1999; the parser must not.
    assert.equal(parseInstant('0099-06-01T00:00:00Z'), Date.parse('0099-06-01T00:00:00Z'));
    assert.equal(parseInstant('0000-01-01T00:00:00Z'), Date.parse('0000-01-01T00:00:00Z'));
    assert.equal(parseInstant('9999-12-31T23:59:59.999Z'), Date.parse('9999-12-31T23:59:59.999Z'));
  });

  void it('rejects everything that is not strict RFC 3339 with an offset', () => {
    for (const text of [
      '2026-11-22', // date only
      '2026-11-22T10:05:00', // no offset: local time of whichever host parses it
      '2026-11-22T10:05Z', // seconds are required
      '2026-11-22 10:05:00Z', // RFC 3339 allows a space only by mutual agreement
      'Nov 22 2026',
      'Sun, 22 Nov 2026 10:05:00 GMT',
      '2026-13-01T00:00:00Z',
      '2026-00-01T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:60:00Z',
      '2026-01-01T00:00:60Z', // leap seconds: see instant.ts
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00+01:60',
      '2026-01-01T00:00:00+0100',
      '2026-01-01T00:00:00+01',
      '2026-01-01T00:00:00 Z',
      ' 2026-01-01T00:00:00Z',
      '2026-01-01T00:00:00Z ',
      '2026-01-01T00:00:00Z\n',
      '+002026-01-01T00:00:00Z', // expanded years
      '26-01-01T00:00:00Z',
      '２０２６-01-01T00:00:00Z',
      `2026-01-01T00:00:00.${'1'.repeat(100)}Z`,
      '1700000000000', // a number as text is not a number
      '',
      'x'.repeat(100_000),
    ]) {
      assert.equal(parseInstant(text), undefined, text);
    }
  });

  void it('takes finite numbers as epoch milliseconds within the Date range', () => {
    assert.equal(parseInstant(0), 0);
    assert.ok(Object.is(parseInstant(-0), 0));
    assert.equal(parseInstant(1_763_805_900_000), 1_763_805_900_000);
    assert.equal(parseInstant(-1), -1);
    assert.equal(parseInstant(8.64e15), 8.64e15);
    assert.equal(parseInstant(-8.64e15), -8.64e15);
    for (const value of [NaN, Infinity, -Infinity, 8.64e15 + 1, -8.64e15 - 1, Number.MAX_VALUE]) {
      assert.equal(parseInstant(value), undefined, String(value));
    }
  });

  void it('returns undefined for values that are neither strings nor numbers', () => {
    for (const value of <unknown[]>[undefined, null, true, {}, [], new Date(0), 1n]) {
      assert.equal(parseInstant(value as string), undefined);
    }
  });

  void it('agrees with Date.parse on generated valid date-times', () => {
    fc.assert(
      fc.property(fields, (f) => {
        const text = format(f);
        assert.equal(parseInstant(text), Date.parse(text), text);
      }),
      { numRuns: 5_000 },
    );
  });

  void it('accepts nothing that Date.parse would read differently', () => {
    // Valid texts with a few random edits: whatever is still accepted must mean what Date.parse
    // says it means.
    const edit = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('replace', 'insert', 'delete'),
      char: fc.constantFrom(...'0123456789-:T.Z+ tz'.split('')),
    });
    fc.assert(
      fc.property(fields, fc.array(edit, { minLength: 1, maxLength: 3 }), (f, edits) => {
        let text = format(f);
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          const keep = e.kind === 'insert' ? at : at + 1;
          text = text.slice(0, at) + (e.kind === 'delete' ? '' : e.char) + text.slice(keep);
        }
        const ours = parseInstant(text);
        if (ours !== undefined) assert.equal(ours, Date.parse(text.toUpperCase()), text);
      }),
      { numRuns: 20_000 },
    );
  });

  void it('rejects out-of-range fields that Date.parse-style parsers roll over', () => {
    fc.assert(
      fc.property(
        fields,
        fc.constantFrom('month', 'day', 'hour', 'minute', 'second'),
        fc.integer({ min: 0, max: 99 }),
        (f, field, value) => {
          const limits = {
            month: [1, 12],
            day: [1, daysInMonth(f.year, f.month)],
            hour: [0, 23],
            minute: [0, 59],
            second: [0, 59],
          } as const;
          const [min, max] = limits[field];
          const g = { ...f, [field]: value };
          const inRange = value >= min && value <= max;
          const text = format(g);
          // A changed month can shorten the month under an unchanged day.
          const dayOk = g.day <= daysInMonth(g.year, g.month) && g.month >= 1 && g.month <= 12;
          assert.equal(parseInstant(text) !== undefined, inRange && dayOk, text);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  void it('gives the same answers whatever the memo holds', () => {
    const table = new Map<string | number, number | undefined>([
      ['2026-11-22T10:05:00Z', Date.UTC(2026, 10, 22, 10, 5)],
      ['2026-11-22T10:05:00+01:00', Date.UTC(2026, 10, 22, 9, 5)],
      ['2026-02-30T00:00:00Z', undefined],
      ['nonsense', undefined],
      ['', undefined],
      [42, 42],
      [NaN, undefined],
    ]);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...table.keys()), { maxLength: 30 }), (sequence) => {
        for (const value of sequence) assert.equal(parseInstant(value), table.get(value));
      }),
      { numRuns: 500 },
    );
  });
});

void describe('parseCalendarDate', () => {
  void it('returns the day number of real dates only', () => {
    assert.equal(parseCalendarDate('1970-01-01'), 0);
    assert.equal(parseCalendarDate('1970-01-02'), 1);
    assert.equal(parseCalendarDate('1969-12-31'), -1);
    assert.equal(parseCalendarDate('2026-11-22'), Date.UTC(2026, 10, 22) / 86_400_000);
    assert.equal(parseCalendarDate('0001-01-01'), Date.parse('0001-01-01T00:00:00Z') / 86_400_000);
    for (const text of [
      '2026-02-30',
      '2026-13-01',
      '2026-1-01',
      '2026-01-01T00:00:00Z',
      ' 2026-01-01',
      '',
    ]) {
      assert.equal(parseCalendarDate(text), undefined, text);
    }
  });
});

void describe('dayNumber and utcMs', () => {
  void it('agree with Date.UTC across the Date range, including years 0-99', () => {
    const date = fc
      .record({
        year: fc.oneof(
          fc.integer({ min: -270_000, max: 270_000 }),
          fc.integer({ min: -5, max: 105 }),
        ),
        month: fc.integer({ min: 1, max: 12 }),
        day: fc.integer({ min: 1, max: 31 }),
      })
      .map((d) => ({ ...d, day: Math.min(d.day, daysInMonth(d.year, d.month)) }));
    fc.assert(
      fc.property(date, ({ year, month, day }) => {
        const reference = new Date(0);
        reference.setUTCFullYear(year, month - 1, day);
        assert.equal(dayNumber(year, month, day) * 86_400_000, reference.getTime());
        assert.equal(utcMs(year, month, day), reference.getTime());
      }),
      { numRuns: 5_000 },
    );
  });
});
