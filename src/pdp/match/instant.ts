/**
 * Instants in decision input (`request.time`, `session.mfa.at`) and in policies (`time.from`).
 *
 * Only unambiguous forms are accepted: a number of epoch milliseconds, or an RFC 3339 date-time
 * with `Z` or a numeric offset. `Date.parse` is not used because it accepts forms whose meaning
 * depends on the host (`Nov 22 2026`, date-times without an offset read as local time) and rolls
 * impossible dates over (`2026-02-30` becomes March 2nd); either would let a policy's time checks
 * depend on where ztgate happens to run.
 */

/** The range of a JavaScript Date; Intl and Date methods throw or return NaN beyond it. */
export const MAX_EPOCH_MS = 8.64e15;

// RFC 3339 section 5.6; section 5.6's note allows lower-case `t` and `z`. The fraction is
// unbounded in the RFC, so the whole text is capped instead (see MAX_TEXT_LENGTH).
const SHAPE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_TEXT_LENGTH = 64;
const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;
/** 400 Gregorian years are exactly 146097 days; see utcMs. */
const MS_PER_400_YEARS = 146_097 * MS_PER_DAY;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in `month` (1-12) of `year` (proleptic Gregorian). */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Epoch milliseconds of a UTC wall-clock time. Date.UTC maps years 0-99 to 1900-1999, so those
 * are shifted by one 400-year cycle and back, which keeps every field exact.
 */
export function utcMs(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
): number {
  if (year >= 0 && year < 100) {
    return Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - MS_PER_400_YEARS;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date, by arithmetic (H. Hinnant's
 * days_from_civil) rather than Date.UTC, so that it also works for local dates just past the
 * ends of the Date range, which a zone ahead of UTC reaches at +8.64e15 ms.
 */
export function dayNumber(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function digits(text: string, start: number, count: number): number {
  let v = 0;
  for (let i = start; i < start + count; i++) v = v * 10 + (text.charCodeAt(i) - 48);
  return v;
}

/** The day number of a `YYYY-MM-DD` date, or undefined when the text is not a real date. */
export function parseCalendarDate(text: string): number | undefined {
  if (typeof text !== 'string' || !DATE_SHAPE.test(text)) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return dayNumber(year, month, day);
}

function parseText(text: string): number | undefined {
  if (text.length > MAX_TEXT_LENGTH || !SHAPE.test(text)) return undefined;
  // The shape is fixed up to the seconds, so the fields are read in place without a match array.
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  // A leap second (`:60`) is valid RFC 3339, but epoch milliseconds have no place for it and
  // every clock ztgate reads smears or repeats instead; rejecting is the conservative reading.
  const second = digits(text, 17, 2);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let i = 19;
  let millis = 0;
  if (text.charCodeAt(i) === 46 /* . */) {
    i++;
    // Milliseconds are the resolution; further digits are truncated, as Date does.
    for (let place = 100; i < text.length; i++, place /= 10) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      if (place >= 1) millis += (c - 48) * place;
    }
  }
  let offsetMinutes = 0;
  const sign = text.charCodeAt(i);
  if (sign === 43 /* + */ || sign === 45 /* - */) {
    const offsetHour = digits(text, i + 1, 2);
    const offsetMinute = digits(text, i + 4, 2);
    if (offsetHour > 23 || offsetMinute > 59) return undefined;
    offsetMinutes = (sign === 45 ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  return utcMs(year, month, day, hour, minute, second, millis) - offsetMinutes * MS_PER_MINUTE;
}

// Decision inputs repeat the same timestamps across criteria and rules; two entries, since
// `request.time` and `session.mfa.at` alternate within one decision.
let memoText: string | undefined;
let memoValue: number | undefined;
let memoText2: string | undefined;
let memoValue2: number | undefined;

/**
 * Epoch milliseconds, or undefined. A number must be finite and within the Date range; a string
 * must be an RFC 3339 date-time with `Z` or a numeric offset and real calendar fields.
 */
export function parseInstant(value: string | number): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || Math.abs(value) > MAX_EPOCH_MS) return undefined;
    return value === 0 ? 0 : value; // -0 and 0 are the same instant; keep outputs comparable
  }
  if (typeof value !== 'string') return undefined;
  if (value === memoText) return memoValue;
  if (value === memoText2) return memoValue2;
  const result = parseText(value);
  memoText2 = memoText;
  memoValue2 = memoValue;
  memoText = value;
  memoValue = result;
  return result;
}
