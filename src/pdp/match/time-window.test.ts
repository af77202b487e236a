import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileTimeWindow } from './time-window.js';
import type { TimeWindow, TimeWindowError, TimeWindowSpec } from './time-window.js';

function compile(spec: TimeWindowSpec): TimeWindow {
  const r = compileTimeWindow(spec);
  if (!r.ok) assert.fail(JSON.stringify(r.errors));
  return r.window;
}

function errorsOf(spec: TimeWindowSpec): TimeWindowError[] {
  const r = compileTimeWindow(spec);
  assert.ok(!r.ok, `expected errors for ${JSON.stringify(spec)}`);
  return r.errors;
}

/** Epoch ms of an RFC 3339 text; every test instant is written with its offset. */
function t(text: string): number {
  const ms = Date.parse(text);
  assert.ok(!Number.isNaN(ms), text);
  return ms;
}

const MINUTE = 60_000;

/** The instants from `start` (inclusive) to `end` (exclusive) in one-minute steps that `w` holds. */
function minutesInside(w: TimeWindow, start: string, end: string): number[] {
  const inside: number[] = [];
  for (let ms = t(start); ms < t(end); ms += MINUTE) if (w.contains(ms)) inside.push(ms);
  return inside;
}

void describe('compileTimeWindow', () => {
  void it('holds business hours on weekdays in a zone, start inclusive and end exclusive', () => {
    const w = compile({ days: 'mon-fri', hours: '09:00-17:00', tz: 'Europe/Berlin' });
    assert.equal(w.describe(), 'mon-fri, 09:00-17:00 (Europe/Berlin)');
    // 2026-11-23 is a Monday; Berlin is UTC+1 in November.
    assert.equal(w.contains(t('2026-11-23T07:59:59.999Z')), false);
    assert.equal(w.contains(t('2026-11-23T08:00:00Z')), true);
    assert.equal(w.contains(t('2026-11-23T15:59:59.999Z')), true);
    assert.equal(w.contains(t('2026-11-23T16:00:00Z')), false);
    assert.equal(w.contains(t('2026-11-22T10:00:00Z')), false); // Sunday
    assert.equal(w.contains(t('2026-11-28T10:00:00Z')), false); // Saturday
    assert.equal(w.contains(t('2026-11-27T10:00:00Z')), true); // Friday
  });

  void it('defaults to UTC and accepts full day names in any case', () => {
    const w = compile({ days: ['Monday', 'WED'], hours: '00:00-24:00' });
    assert.equal(w.describe(), 'monday,wed, 00:00-24:00 (UTC)');
    assert.equal(w.contains(t('2026-11-23T00:00:00Z')), true);
    assert.equal(w.contains(t('2026-11-24T00:00:00Z')), false);
    assert.equal(w.contains(t('2026-11-25T23:59:59.999Z')), true);
  });

  void it('has no instant inside the hour skipped by spring-forward (Europe/Berlin)', () => {
    // 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00Z; 02:30 does not exist.
    const skipped = compile({ hours: '02:00-03:00', tz: 'Europe/Berlin' });
    assert.deepEqual(minutesInside(skipped, '2026-03-28T22:00:00Z', '2026-03-29T04:00:00Z'), []);
    const before = compile({ hours: '01:00-02:00', tz: 'Europe/Berlin' });
    const inside = minutesInside(before, '2026-03-28T22:00:00Z', '2026-03-29T04:00:00Z');
    assert.equal(inside.length, 60);
    assert.equal(inside[0], t('2026-03-29T00:00:00Z'));
    const after = compile({ hours: '03:00-04:00', tz: 'Europe/Berlin' });
    assert.equal(minutesInside(after, '2026-03-29T01:00:00Z', '2026-03-29T02:00:00Z').length, 60);
    assert.equal(after.contains(t('2026-03-29T00:59:59Z')), false);
  });

  void it('holds both instants of the hour repeated by fall-back (Europe/Berlin)', () => {
    // 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00Z; 02:30 happens twice.
    const w = compile({ hours: '02:00-03:00', tz: 'Europe/Berlin' });
    assert.equal(w.contains(t('2026-10-25T02:30:00+02:00')), true);
    assert.equal(w.contains(t('2026-10-25T02:30:00+01:00')), true);
    const inside = minutesInside(w, '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z');
    assert.equal(inside.length, 120);
    assert.equal(inside[0], t('2026-10-25T00:00:00Z'));
    assert.equal(inside[119], t('2026-10-25T01:59:00Z'));
  });

  void it('handles both transitions in America/New_York', () => {
    // 2026-03-08: 02:00 EST becomes 03:00 EDT; 02:30 does not exist.
    const skipped = compile({ hours: '02:00-03:00', tz: 'America/New_York' });
    assert.deepEqual(minutesInside(skipped, '2026-03-08T05:00:00Z', '2026-03-08T09:00:00Z'), []);
    // 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens twice.
    const repeated = compile({ hours: '01:00-02:00', tz: 'America/New_York' });
    assert.equal(repeated.contains(t('2026-11-01T01:30:00-04:00')), true);
    assert.equal(repeated.contains(t('2026-11-01T01:30:00-05:00')), true);
    assert.equal(repeated.contains(t('2026-11-01T00:59:00-04:00')), false);
    assert.equal(repeated.contains(t('2026-11-01T02:00:00-05:00')), false);
    assert.equal(
      minutesInside(repeated, '2026-11-01T03:00:00Z', '2026-11-01T09:00:00Z').length,
      120,
    );
  });

  void it('handles 30- and 45-minute offsets (Asia/Kolkata, Asia/Kathmandu)', () => {
    const kolkata = compile({ hours: '09:00-17:00', tz: 'Asia/Kolkata' });
    assert.equal(kolkata.contains(t('2026-11-23T03:29:59Z')), false);
    assert.equal(kolkata.contains(t('2026-11-23T03:30:00Z')), true);
    assert.equal(kolkata.contains(t('2026-11-23T11:29:59Z')), true);
    assert.equal(kolkata.contains(t('2026-11-23T11:30:00Z')), false);
    const kathmandu = compile({ hours: '09:00-17:00', tz: 'Asia/Kathmandu' });
    assert.equal(kathmandu.contains(t('2026-11-23T03:14:59Z')), false);
    assert.equal(kathmandu.contains(t('2026-11-23T03:15:00Z')), true);
    assert.equal(kathmandu.contains(t('2026-11-23T11:14:59Z')), true);
    assert.equal(kathmandu.contains(t('2026-11-23T11:15:00Z')), false);
  });

  void it('handles the 30-minute DST shift of Australia/Lord_Howe', () => {
    // 2026-04-05: 02:00 (+11) becomes 01:30 (+10:30); 01:30-02:00 happens twice.
    const repeated = compile({ hours: '01:30-02:00', tz: 'Australia/Lord_Howe' });
    const inside = minutesInside(repeated, '2026-04-04T12:00:00Z', '2026-04-04T18:00:00Z');
    assert.equal(inside.length, 60);
    assert.equal(inside[0], t('2026-04-04T14:30:00Z'));
    assert.equal(inside[59], t('2026-04-04T15:29:00Z'));
    // 2026-10-04: 02:00 (+10:30) becomes 02:30 (+11); 02:00-02:30 does not exist.
    const skipped = compile({ hours: '02:00-02:30', tz: 'Australia/Lord_Howe' });
    assert.deepEqual(minutesInside(skipped, '2026-10-03T12:00:00Z', '2026-10-03T18:00:00Z'), []);
  });

  void it('wraps hours past midnight, independently of days', () => {
    const w = compile({ hours: '22:00-06:00' });
    assert.equal(w.contains(t('2026-11-23T21:59:59Z')), false);
    assert.equal(w.contains(t('2026-11-23T22:00:00Z')), true);
    assert.equal(w.contains(t('2026-11-24T05:59:59Z')), true);
    assert.equal(w.contains(t('2026-11-24T06:00:00Z')), false);
    // Days and hours are separate conditions on the same local time: the Friday night shift
    // does not reach into Saturday morning, and Friday early morning is inside.
    const friday = compile({ days: 'fri', hours: '22:00-06:00' });
    assert.equal(friday.contains(t('2026-11-27T23:00:00Z')), true); // Friday 23:00
    assert.equal(friday.contains(t('2026-11-28T03:00:00Z')), false); // Saturday 03:00
    assert.equal(friday.contains(t('2026-11-27T03:00:00Z')), true); // Friday 03:00
  });

  void it('takes several hour ranges as a union', () => {
    const w = compile({ hours: ['08:00-12:00', '13:00-17:00'] });
    assert.equal(w.contains(t('2026-11-23T11:59:00Z')), true);
    assert.equal(w.contains(t('2026-11-23T12:30:00Z')), false);
    assert.equal(w.contains(t('2026-11-23T13:00:00Z')), true);
    assert.equal(w.describe(), '08:00-12:00,13:00-17:00 (UTC)');
  });

  void it('allows 24:00 as an end', () => {
    const w = compile({ hours: '17:00-24:00', tz: 'Europe/Berlin' });
    assert.equal(w.contains(t('2026-11-23T16:59:00+01:00')), false);
    assert.equal(w.contains(t('2026-11-23T17:00:00+01:00')), true);
    assert.equal(w.contains(t('2026-11-23T23:59:59.999+01:00')), true);
    assert.equal(w.contains(t('2026-11-24T00:00:00+01:00')), false);
    assert.equal(compile({ hours: '00:00-24:00' }).contains(t('2026-11-24T12:34:00Z')), true);
  });

  void it('wraps day ranges through the weekend', () => {
    const w = compile({ days: 'fri-mon' });
    const expected = [true, true, true, true, false, false, false]; // Fri 27 .. Thu 3
    expected.forEach((inside, i) => {
      assert.equal(w.contains(t('2026-11-27T12:00:00Z') + i * 86_400_000), inside, `day ${i}`);
    });
    const week = compile({ days: 'sun-sat' });
    for (let i = 0; i < 7; i++)
      assert.equal(week.contains(t('2026-11-22T12:00:00Z') + i * 86_400_000), true);
    const one = compile({ days: 'mon-mon' });
    let count = 0;
    for (let i = 0; i < 7; i++)
      if (one.contains(t('2026-11-22T12:00:00Z') + i * 86_400_000)) count++;
    assert.equal(count, 1);
    const weekend = compile({ days: ['weekend'] });
    assert.equal(weekend.contains(t('2026-11-28T12:00:00Z')), true);
    assert.equal(weekend.contains(t('2026-11-27T12:00:00Z')), false);
    const weekdays = compile({ days: 'Weekdays' });
    assert.equal(weekdays.contains(t('2026-11-27T12:00:00Z')), true);
    assert.equal(weekdays.contains(t('2026-11-28T12:00:00Z')), false);
  });

  void it('reads days on the local calendar of the zone', () => {
    // 2026-11-23T23:30Z is Monday in UTC but Tuesday in Tokyo and still Monday in Los Angeles.
    const instant = t('2026-11-23T23:30:00Z');
    assert.equal(compile({ days: 'tue', tz: 'Asia/Tokyo' }).contains(instant), true);
    assert.equal(compile({ days: 'mon', tz: 'Asia/Tokyo' }).contains(instant), false);
    assert.equal(compile({ days: 'mon', tz: 'America/Los_Angeles' }).contains(instant), true);
  });

  void it('compares date bounds with the local date, inclusive at both ends', () => {
    const tokyo = compile({ from: '2026-11-23', until: '2026-11-24', tz: 'Asia/Tokyo' });
    assert.equal(tokyo.contains(t('2026-11-23T00:00:00+09:00') - 1), false);
    assert.equal(tokyo.contains(t('2026-11-23T00:00:00+09:00')), true);
    assert.equal(tokyo.contains(t('2026-11-24T23:59:59.999+09:00')), true);
    assert.equal(tokyo.contains(t('2026-11-25T00:00:00+09:00')), false);
    const la = compile({ from: '2026-11-23', until: '2026-11-23', tz: 'America/Los_Angeles' });
    assert.equal(la.contains(t('2026-11-23T00:00:00-08:00') - 1), false);
    assert.equal(la.contains(t('2026-11-23T00:00:00-08:00')), true);
    assert.equal(la.contains(t('2026-11-23T23:59:59.999-08:00')), true);
    assert.equal(la.contains(t('2026-11-24T00:00:00-08:00')), false);
    // Only one bound: open on the other side.
    const from = compile({ from: '2026-11-23' });
    assert.equal(from.contains(t('2026-11-22T23:59:59Z')), false);
    assert.equal(from.contains(t('2999-01-01T00:00:00Z')), true);
    const until = compile({ until: '2026-11-23' });
    assert.equal(until.contains(t('1970-01-01T00:00:00Z')), true);
    assert.equal(until.contains(t('2026-11-24T00:00:00Z')), false);
  });

  void it('crosses the year boundary in a zone ahead of UTC', () => {
    // 2026-12-31 is a Thursday; 2026-12-31T23:30Z is already 2027-01-01 00:30, a Friday, in Berlin.
    const instant = t('2026-12-31T23:30:00Z');
    assert.equal(compile({ days: 'fri', tz: 'Europe/Berlin' }).contains(instant), true);
    assert.equal(compile({ days: 'thu', tz: 'Europe/Berlin' }).contains(instant), false);
    assert.equal(compile({ days: 'thu' }).contains(instant), true);
    const newYear = compile({ from: '2027-01-01', until: '2027-01-01', tz: 'Europe/Berlin' });
    assert.equal(newYear.contains(t('2026-12-31T22:59:59.999Z')), false);
    assert.equal(newYear.contains(t('2026-12-31T23:00:00Z')), true);
    assert.equal(newYear.contains(t('2027-01-01T22:59:59.999Z')), true);
    assert.equal(newYear.contains(t('2027-01-01T23:00:00Z')), false);
  });

  void it('treats instant bounds exactly: from inclusive, until exclusive', () => {
    const w = compile({ from: '2026-12-31T22:00:00Z', until: '2027-01-01T00:30:00+01:00' });
    assert.equal(w.contains(t('2026-12-31T22:00:00Z') - 1), false);
    assert.equal(w.contains(t('2026-12-31T22:00:00Z')), true);
    assert.equal(w.contains(t('2026-12-31T23:29:59.999Z')), true);
    assert.equal(w.contains(t('2026-12-31T23:30:00Z')), false);
    assert.equal(w.describe(), 'from 2026-12-31T22:00:00Z, until 2027-01-01T00:30:00+01:00 (UTC)');
    // A date and an instant mix.
    const mixed = compile({
      from: '2026-11-23',
      until: '2026-11-23T12:00:00Z',
      tz: 'Europe/Berlin',
    });
    assert.equal(mixed.contains(t('2026-11-22T23:00:00Z')), true);
    assert.equal(mixed.contains(t('2026-11-22T22:59:59Z')), false);
    assert.equal(mixed.contains(t('2026-11-23T12:00:00Z')), false);
  });

  void it('reads dates in year 0000 (1 BC) and at the ends of the Date range without failing', () => {
    const w = compile({ from: '0000-01-01', until: '0000-12-31' });
    assert.equal(w.contains(t('0000-06-01T00:00:00Z')), true);
    assert.equal(w.contains(t('0001-01-01T00:00:00Z')), false);
    assert.equal(w.contains(t('-000001-12-31T23:59:59Z')), false);
    const hours = compile({ days: 'mon-sun', hours: '00:00-24:00', tz: 'Europe/Berlin' });
    assert.equal(hours.contains(-8.64e15), true);
    assert.equal(hours.contains(8.64e15), true);
  });

  void it('is false, without throwing, for instants that are not finite or out of range', () => {
    const windows = [compile({ days: 'mon-sun' }), compile({ from: '2026-01-01T00:00:00Z' })];
    for (const w of windows) {
      for (const value of [NaN, Infinity, -Infinity, 8.64e15 + 1, -8.64e15 - 1, '0', undefined]) {
        assert.equal(w.contains(value as number), false, String(value));
      }
    }
  });

  void it('keeps results right across the memo, including offsets with seconds', () => {
    // Africa/Monrovia was UTC-0:44:30 until 1972-01-07T00:44:30Z: within the UTC minute 00:44 the
    // local time is 23:59:xx on Jan 6 before the change and 00:44:xx on Jan 7 after it.
    const w = compile({ hours: '23:00-24:00', tz: 'Africa/Monrovia' });
    const before = t('1972-01-07T00:44:10Z');
    const after = t('1972-01-07T00:44:45Z');
    for (const order of [
      [before, after, before],
      [after, before, after],
    ]) {
      assert.deepEqual(
        order.map((ms) => w.contains(ms)),
        order.map((ms) => ms === before),
      );
    }
    // Within one DST transition minute the memo must not leak across the transition.
    const berlin = compile({ hours: '02:00-03:00', tz: 'Europe/Berlin' });
    const sequence = [
      t('2026-03-29T00:59:59.999Z'),
      t('2026-03-29T01:00:00Z'),
      t('2026-03-29T00:59:00Z'),
      t('2026-10-25T01:59:59Z'),
      t('2026-10-25T02:00:00Z'),
      t('2026-10-25T01:59:00Z'),
    ];
    assert.deepEqual(
      sequence.map((ms) => berlin.contains(ms)),
      [false, false, false, true, false, true],
    );
  });

  void it('agrees with a toLocaleString oracle on random windows and instants', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'America/Los_Angeles',
      'Asia/Kolkata',
      'Asia/Kathmandu',
      'Australia/Lord_Howe',
      'Pacific/Chatham',
      'Pacific/Kiritimati',
      'America/St_Johns',
      'Africa/Casablanca',
    ];
    const dayTokens = [
      'mon',
      'tue',
      'wed',
      'thu',
      'fri',
      'sat',
      'sun',
      'Monday',
      'SUNDAY',
      'mon-fri',
      'fri-mon',
      'sat-sun',
      'wed-tue',
      'weekdays',
      'weekend',
    ];
    const names = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    const tokenDays = (token: string): string[] => {
      const n = (s: string): number =>
        names.findIndex((x) => s.toLowerCase().startsWith(x.toLowerCase()));
      if (token === 'weekdays') return ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'];
      if (token === 'weekend') return ['Sat', 'Sun'];
      const [a = '', b = a] = token.split('-');
      const out: string[] = [];
      for (let d = n(a); ; d = (d + 1) % 7) {
        out.push(names[d] ?? '');
        if (d === n(b)) return out;
      }
    };
    const hhmm = (m: number): string =>
      `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    const range = fc
      .tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 }))
      .filter(([s, e]) => s !== e)
      .map(([s, e]) => ({ start: s, end: e }));
    const date = fc
      .integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2100, 0, 1) })
      .map((ms) => new Date(ms).toISOString().slice(0, 10));
    const spec = fc.record(
      {
        tz: fc.constantFrom(...zones),
        days: fc.array(fc.constantFrom(...dayTokens), { minLength: 1, maxLength: 3 }),
        hours: fc.array(range, { minLength: 1, maxLength: 2 }),
        dates: fc.tuple(fc.option(date), fc.option(date)),
      },
      { requiredKeys: ['tz', 'dates'] },
    );
    // Instants near DST changes are the interesting ones; mix them in with uniform ones.
    const instant = fc.oneof(
      fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2100, 0, 1) }),
      fc
        .tuple(
          fc.constantFrom(
            Date.UTC(2026, 2, 29, 1),
            Date.UTC(2026, 9, 25, 1),
            Date.UTC(2026, 2, 8, 7),
            Date.UTC(2026, 10, 1, 6),
            Date.UTC(2026, 3, 4, 15),
            Date.UTC(2026, 9, 3, 15, 30),
          ),
          fc.integer({ min: -3 * 3_600_000, max: 3 * 3_600_000 }),
        )
        .map(([base, delta]) => base + delta),
    );
    const wall = (ms: number, tz: string): { day: string; minute: number; date: string } => {
      const text = new Date(ms).toLocaleString('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        weekday: 'short',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
      });
      const m = /^(\w{3}), (\d{2})\/(\d{2})\/(\d{4}), (\d{2}):(\d{2})$/.exec(text);
      assert.ok(m !== null, text);
      const [, day = '', month = '', dom = '', year = '', hour = '', minute = ''] = m;
      return { day, minute: Number(hour) * 60 + Number(minute), date: `${year}-${month}-${dom}` };
    };
    fc.assert(
      fc.property(spec, fc.array(instant, { minLength: 1, maxLength: 10 }), (s, instants) => {
        const [a, b] = s.dates;
        const [from, until] = a !== null && b !== null && a > b ? [b, a] : [a, b];
        const input: TimeWindowSpec = { tz: s.tz };
        if (s.days !== undefined) input.days = s.days;
        if (s.hours !== undefined)
          input.hours = s.hours.map((r) => `${hhmm(r.start)}-${hhmm(r.end)}`);
        if (from !== null) input.from = from;
        if (until !== null) input.until = until;
        const r = compileTimeWindow(input);
        if (
          input.days === undefined &&
          input.hours === undefined &&
          from === null &&
          until === null
        ) {
          assert.equal(r.ok, false);
          return;
        }
        assert.ok(r.ok, JSON.stringify(input));
        const allowedDays = new Set((s.days ?? dayTokens.slice(0, 7)).flatMap(tokenDays));
        for (const ms of instants) {
          const local = wall(ms, s.tz);
          const expected =
            allowedDays.has(local.day) &&
            (s.hours === undefined ||
              s.hours.some((h) =>
                h.start < h.end
                  ? local.minute >= h.start && local.minute < h.end
                  : local.minute >= h.start || local.minute < h.end,
              )) &&
            (from === null || local.date >= from) &&
            (until === null || local.date <= until);
          assert.equal(
            r.window.contains(ms),
            expected,
            `${JSON.stringify(input)} at ${new Date(ms).toISOString()}`,
          );
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

void describe('compileTimeWindow errors', () => {
  void it('collects every problem at once, with keys and list positions', () => {
    const errors = errorsOf({
      days: ['mon', 'mon-funday'],
      hours: ['25:00-26:00', '9-17'],
      tz: 'Mars/Olympus',
      from: '2026-02-30',
      until: '2026-11-22T10:00',
    });
    assert.deepEqual(
      errors.map((e) => [e.key, e.index]),
      [
        ['tz', undefined],
        ['days', 1],
        ['hours', 0],
        ['hours', 1],
        ['from', undefined],
        ['until', undefined],
      ],
    );
    const messages = errors.map((e) => e.message);
    assert.deepEqual(messages, [
      '`Mars/Olympus` is not an IANA time zone name, such as `Europe/Berlin` or `UTC`',
      '`funday` in `mon-funday` is not a day of the week; did you mean `sunday`?',
      '`25:00-26:00`: `25:00` is not a time of day',
      '`9-17` is not a time range; write `HH:MM-HH:MM` in 24-hour time, as in `09:00-17:00`',
      '`2026-02-30` is not a calendar date',
      '`2026-11-22T10:00` has no time zone offset; add `Z` for UTC or an offset such as `+01:00`, or give a date (`YYYY-MM-DD`) to use `tz`',
    ]);
    // A single string has no index.
    assert.equal('index' in (errorsOf({ days: 'someday' })[0] ?? {}), false);
  });

  void it('rejects bad hour ranges', () => {
    const cases: [string, RegExp][] = [
      ['09:00-09:00', /^`09:00-09:00` is an empty range; for the whole day use `00:00-24:00`$/],
      ['24:00-06:00', /a range cannot start at `24:00`; use `00:00`/],
      ['23:00-24:01', /`24:01` is not a time of day/],
      ['09:60-10:00', /`09:60` is not a time of day/],
      ['9:00-17:00', /is not a time range/],
      ['09:00', /is not a time range/],
      ['09:00-17:00-18:00', /is not a time range/],
      ['0900-1700', /is not a time range/],
      ['', /is not a time range/],
    ];
    for (const [hours, message] of cases) {
      const [e, ...rest] = errorsOf({ hours });
      assert.equal(rest.length, 0, hours);
      assert.equal(e?.key, 'hours');
      assert.match(e?.message ?? '', message, hours);
    }
    assert.equal(compile({ hours: ' 09:00 - 17:00 ' }).describe(), '09:00-17:00 (UTC)');
  });

  void it('rejects bad days', () => {
    const cases: [NonNullable<TimeWindowSpec['days']>, RegExp][] = [
      ['mon-funday', /did you mean `sunday`/],
      ['mond', /^`mond` is not a day of the week; did you mean `mon`\?$/],
      ['xyz', /use `mon` to `sun`/],
      ['mon,wed', /list several days as a list, as in `\[mon, wed\]`/],
      ['weekdays-fri', /is not a day of the week/],
      ['', /is not a day of the week/],
      [[], /^`days` is an empty list, which nothing matches$/],
      [[7 as unknown as string], /^each item of `days` must be a string$/],
      [{} as unknown as string, /^`days` must be a string or a list of strings$/],
    ];
    for (const [days, message] of cases) {
      const [e] = errorsOf({ days });
      assert.equal(e?.key, 'days');
      assert.match(e?.message ?? '', message, JSON.stringify(days));
    }
  });

  void it('accepts only IANA zone names', () => {
    for (const tz of [
      'Europe/Berlin',
      'europe/berlin',
      'UTC',
      'Etc/GMT+1',
      'America/Argentina/Buenos_Aires',
    ]) {
      assert.ok(compileTimeWindow({ days: 'mon', tz }).ok, tz);
    }
    const cases: [string, RegExp][] = [
      ['Mars/Olympus', /is not an IANA time zone name/],
      ['+01:00', /offsets change with daylight saving time, so name the zone/],
      ['-05:00', /offsets change with daylight saving time/],
      ['GMT+1', /is not an IANA time zone name/],
      ['UTC+1', /is not an IANA time zone name/],
      ['Europe/Berln', /did you mean `Europe\/Berlin`\?/],
      [' Europe/Berlin', /is not an IANA time zone name/],
      ['', /is not an IANA time zone name/],
      ['Z', /is not an IANA time zone name/],
      ['../../etc/passwd', /is not an IANA time zone name/],
    ];
    for (const [tz, message] of cases) {
      const [e, ...rest] = errorsOf({ days: 'mon', tz });
      assert.equal(rest.length, 0);
      assert.equal(e?.key, 'tz');
      assert.match(e?.message ?? '', message, tz);
    }
    assert.match(
      errorsOf({ days: 'mon', tz: 5 as unknown as string })[0]?.message ?? '',
      /must be a string/,
    );
  });

  void it('rejects bad from and until values', () => {
    const cases: [string, RegExp][] = [
      ['2026-02-30', /^`2026-02-30` is not a calendar date$/],
      ['2026-13-01', /is not a calendar date/],
      ['2026-11-22T10:00:00', /has no time zone offset; add `Z`/],
      ['2026-11-22 10:00', /has no time zone offset/],
      ['2026-11-22T25:00:00Z', /is not a valid RFC 3339 date-time/],
      ['2026-11-22T10:00:00+0100', /is not a valid RFC 3339 date-time/],
      ['Nov 22 2026', /is not a date \(`YYYY-MM-DD`\) or a date-time with an offset/],
      ['tomorrow', /is not a date/],
      ['', /is not a date/],
    ];
    for (const [value, message] of cases) {
      for (const key of ['from', 'until'] as const) {
        const [e, ...rest] = errorsOf({ [key]: value });
        assert.equal(rest.length, 0, value);
        assert.equal(e?.key, key);
        assert.match(e?.message ?? '', message, value);
      }
    }
  });

  void it('rejects a from after the until', () => {
    const cases: TimeWindowSpec[] = [
      { from: '2026-12-01', until: '2026-11-30' },
      { from: '2026-12-01T00:00:00Z', until: '2026-12-01T00:00:00Z' },
      { from: '2026-12-01T00:00:00Z', until: '2026-11-30T23:00:00Z' },
      { from: '2026-12-02', until: '2026-12-01T12:00:00Z' },
      { from: '2026-12-02T12:00:00Z', until: '2026-12-01' },
    ];
    for (const spec of cases) {
      const [e, ...rest] = errorsOf(spec);
      assert.equal(rest.length, 0);
      assert.equal(e?.key, 'until');
      assert.match(
        e?.message ?? '',
        /^`until` \(`.*`\) is (before|not after) `from` \(`.*`\), so the window is always closed$/,
      );
    }
    // A one-day window is fine.
    assert.ok(compileTimeWindow({ from: '2026-12-01', until: '2026-12-01' }).ok);
    // So is a date and an instant on the same local day.
    assert.ok(compileTimeWindow({ from: '2026-12-01', until: '2026-12-01T12:00:00Z' }).ok);
  });

  void it('rejects a window with no condition', () => {
    for (const spec of [{}, { tz: 'Europe/Berlin' }]) {
      const [e, ...rest] = errorsOf(spec);
      assert.equal(rest.length, 0);
      assert.equal(
        e?.message,
        'a time window needs at least one of `days`, `hours`, `from` or `until`',
      );
    }
    assert.equal(compileTimeWindow(null as unknown as TimeWindowSpec).ok, false);
  });

  void it('keeps huge hostile values out of messages', () => {
    const huge = 'x'.repeat(100_000);
    const errors = errorsOf({ days: huge, hours: huge, tz: huge, from: huge, until: huge });
    assert.equal(errors.length, 5);
    for (const e of errors) assert.ok(e.message.length < 300, e.key);
  });
});
