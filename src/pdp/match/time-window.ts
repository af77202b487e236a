/**
 * Time windows for the `time` criterion: days of the week, hours of the day and a date range,
 * all read on the wall clock of one IANA time zone.
 *
 * Wall-clock fields come from Intl, never from offset arithmetic done here, so daylight saving
 * time is whatever the tz database says: on a spring-forward day the skipped hour contains no
 * instant, and on a fall-back day the repeated hour contains both instants that show it.
 */
import { suggest } from '../../shared/suggest.js';
import { MAX_EPOCH_MS, dayNumber, parseCalendarDate, parseInstant } from './instant.js';

export interface TimeWindowSpec {
  days?: string | readonly string[];
  hours?: string | readonly string[];
  tz?: string;
  from?: string;
  until?: string;
}

export type TimeWindowKey = 'days' | 'hours' | 'tz' | 'from' | 'until';

export interface TimeWindowError {
  key: TimeWindowKey;
  /** The position in a list-valued key. */
  index?: number;
  message: string;
}

export interface TimeWindow {
  contains(epochMs: number): boolean;
  /** A short text for decision reasons, such as `mon-fri, 09:00-17:00 (Europe/Berlin)`. */
  describe(): string;
}

export type TimeWindowResult =
  | { readonly ok: true; readonly window: TimeWindow }
  | { readonly ok: false; readonly errors: TimeWindowError[] };

const MINUTES_PER_DAY = 1440;
const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;

/** Weekdays as Date.prototype.getUTCDay numbers them: 0 is Sunday. */
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const FULL_DAY_NAMES = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
] as const;
const DAY_NUMBERS = new Map<string, number>([
  ...DAY_NAMES.map((name, i) => [name, i] as const),
  ...FULL_DAY_NAMES.map((name, i) => [name, i] as const),
]);
const WEEKDAYS_MASK = 0b0111110;
const WEEKEND_MASK = 0b1000001;
const ALL_DAYS_MASK = 0b1111111;

/** Zone names are letters, digits, `_`, `+`, `-` and `/`, starting with a letter (`Etc/GMT+1`). */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;
const HOURS_SHAPE = /^(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$/;
const DATE_TIME_WITHOUT_OFFSET = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;
const DATE_TIME_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}.*(?:[Zz]|[+-]\d{2}:?\d{2})$/;

function quote(text: string): string {
  const shown = text.length > 64 ? `${text.slice(0, 61)}...` : text;
  return `\`${shown}\``;
}

type Bound =
  | { readonly kind: 'date'; readonly day: number; readonly text: string }
  | { readonly kind: 'instant'; readonly ms: number; readonly text: string };

interface Problem {
  readonly index?: number;
  readonly message: string;
}

/** Applies `parse` to a string or each element of a list, collecting problems with positions. */
function eachItem<T>(
  key: TimeWindowKey,
  value: string | readonly string[],
  parse: (item: string) => T | string,
  problems: Problem[],
): T[] {
  const out: T[] = [];
  if (typeof value === 'string') {
    const r = parse(value);
    if (typeof r === 'string') problems.push({ message: r });
    else out.push(r);
    return out;
  }
  if (!Array.isArray(value)) {
    problems.push({ message: `\`${key}\` must be a string or a list of strings` });
    return out;
  }
  if (value.length === 0) {
    problems.push({ message: `\`${key}\` is an empty list, which nothing matches` });
  }
  value.forEach((item: unknown, index) => {
    const r = typeof item === 'string' ? parse(item) : `each item of \`${key}\` must be a string`;
    if (typeof r === 'string') problems.push({ index, message: r });
    else out.push(r);
  });
  return out;
}

function parseDayName(name: string, whole: string): number | string {
  const day = DAY_NUMBERS.get(name.trim().toLowerCase());
  if (day !== undefined) return day;
  const guess = suggest(name.trim(), [...DAY_NAMES, ...FULL_DAY_NAMES, 'weekdays', 'weekend']);
  const hint = guess === undefined ? '; use `mon` to `sun`' : `; did you mean \`${guess}\`?`;
  const where = name === whole ? '' : ` in ${quote(whole)}`;
  return `${quote(name.trim())}${where} is not a day of the week${hint}`;
}

/** One `days` item as a bit mask over getUTCDay numbers. */
function parseDays(item: string): number | string {
  const text = item.trim().toLowerCase();
  if (text === 'weekdays') return WEEKDAYS_MASK;
  if (text === 'weekend') return WEEKEND_MASK;
  if (text.includes(',')) {
    return `${quote(item)}: list several days as a list, as in \`[mon, wed]\`, or use a range such as \`mon-fri\``;
  }
  const trimmed = item.trim();
  const dash = trimmed.indexOf('-');
  if (dash < 0) {
    const day = parseDayName(trimmed, trimmed);
    return typeof day === 'string' ? day : 1 << day;
  }
  const first = parseDayName(trimmed.slice(0, dash), trimmed);
  const last = parseDayName(trimmed.slice(dash + 1), trimmed);
  if (typeof first === 'string') return first;
  if (typeof last === 'string') return last;
  // A range runs forward through the week and may wrap: `fri-mon` is Friday to Monday.
  let mask = 0;
  for (let d = first; ; d = (d + 1) % 7) {
    mask |= 1 << d;
    if (d === last) break;
  }
  return mask;
}

function formatMinute(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

interface HourRange {
  readonly start: number;
  readonly end: number;
}

function parseHours(item: string): HourRange | string {
  const m = HOURS_SHAPE.exec(item.trim());
  if (m === null) {
    return `${quote(item)} is not a time range; write \`HH:MM-HH:MM\` in 24-hour time, as in \`09:00-17:00\``;
  }
  const [startHour, startMinute, endHour, endMinute] = [m[1], m[2], m[3], m[4]].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const startText = `${m[1]}:${m[2]}`;
  const endText = `${m[3]}:${m[4]}`;
  if (startHour === 24 && startMinute === 0) {
    return `${quote(item)}: a range cannot start at \`24:00\`; use \`00:00\``;
  }
  if (startHour > 23 || startMinute > 59) {
    return `${quote(item)}: ${quote(startText)} is not a time of day`;
  }
  const endIsMidnight = endHour === 24 && endMinute === 0;
  if (!endIsMidnight && (endHour > 23 || endMinute > 59)) {
    return `${quote(item)}: ${quote(endText)} is not a time of day`;
  }
  const start = startHour * 60 + startMinute;
  const end = endHour * 60 + endMinute;
  if (start === end) {
    return `${quote(item)} is an empty range; for the whole day use \`00:00-24:00\``;
  }
  return { start, end };
}

function parseBound(text: string): Bound | string {
  const day = parseCalendarDate(text);
  if (day !== undefined) return { kind: 'date', day, text };
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return `${quote(text)} is not a calendar date`;
  const ms = parseInstant(text);
  if (ms !== undefined) return { kind: 'instant', ms, text };
  if (DATE_TIME_WITHOUT_OFFSET.test(text)) {
    return `${quote(text)} has no time zone offset; add \`Z\` for UTC or an offset such as \`+01:00\`, or give a date (\`YYYY-MM-DD\`) to use \`tz\``;
  }
  if (DATE_TIME_WITH_OFFSET.test(text)) {
    return `${quote(text)} is not a valid RFC 3339 date-time, such as \`2026-11-22T10:05:00Z\``;
  }
  return `${quote(text)} is not a date (\`YYYY-MM-DD\`) or a date-time with an offset (\`2026-11-22T10:05:00Z\`)`;
}

let zoneNames: readonly string[] | undefined;

/**
 * One clock per zone, shared by every window in it: an `Intl.DateTimeFormat` costs ~60 µs to build
 * and ~29 KiB outside the heap, and 10,000 routes must not build 10,000 of them. Valid zone names
 * only, so the map is bounded by the zones ICU knows.
 */
const clocks = new Map<string, ZoneClock>();

function checkZone(tz: unknown): ZoneClock | string {
  if (typeof tz !== 'string') {
    return '`tz` must be a string, an IANA time zone name such as `Europe/Berlin`';
  }
  const known = clocks.get(tz);
  if (known) return known;
  if (ZONE_NAME.test(tz)) {
    try {
      const clock = new ZoneClock(
        new Intl.DateTimeFormat('en-US', {
          timeZone: tz,
          hourCycle: 'h23',
          era: 'short',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        }),
      );
      clocks.set(tz, clock);
      return clock;
    } catch {
      // not a zone Intl knows; explained below
    }
  }
  zoneNames ??= Intl.supportedValuesOf('timeZone');
  const guess = suggest(tz, zoneNames);
  const hint =
    guess !== undefined
      ? `; did you mean \`${guess}\`?`
      : /^[+-]?\d/.test(tz)
        ? '; offsets change with daylight saving time, so name the zone, such as `Europe/Berlin`'
        : ', such as `Europe/Berlin` or `UTC`';
  return `${quote(tz)} is not an IANA time zone name${hint}`;
}

export function compileTimeWindow(spec: TimeWindowSpec): TimeWindowResult {
  const errors: TimeWindowError[] = [];
  const report = (key: TimeWindowKey, problems: readonly Problem[]): void => {
    for (const p of problems) {
      errors.push(
        p.index === undefined
          ? { key, message: p.message }
          : { key, index: p.index, message: p.message },
      );
    }
  };
  if (typeof spec !== 'object' || spec === null) {
    return { ok: false, errors: [{ key: 'days', message: 'a time window must be a map' }] };
  }

  const tz = spec.tz ?? 'UTC';
  const format = checkZone(tz);
  if (typeof format === 'string') errors.push({ key: 'tz', message: format });

  let daysMask = ALL_DAYS_MASK;
  if (spec.days !== undefined) {
    const problems: Problem[] = [];
    const masks = eachItem('days', spec.days, parseDays, problems);
    report('days', problems);
    daysMask = masks.reduce((a, b) => a | b, 0);
  }

  let minutes: Uint8Array | undefined;
  const hourRanges: HourRange[] = [];
  if (spec.hours !== undefined) {
    const problems: Problem[] = [];
    hourRanges.push(...eachItem('hours', spec.hours, parseHours, problems));
    report('hours', problems);
    // One flag per minute of the day: a lookup is one index, however many ranges.
    minutes = new Uint8Array(MINUTES_PER_DAY);
    for (const { start, end } of hourRanges) {
      if (end > start) minutes.fill(1, start, end);
      else {
        minutes.fill(1, start);
        minutes.fill(1, 0, end);
      }
    }
  }

  const bound = (key: 'from' | 'until'): Bound | undefined => {
    const value = spec[key];
    if (value === undefined) return undefined;
    const r = typeof value === 'string' ? parseBound(value) : `\`${key}\` must be a string`;
    if (typeof r === 'string') {
      errors.push({ key, message: r });
      return undefined;
    }
    return r;
  };
  const from = bound('from');
  const until = bound('until');

  if (
    spec.days === undefined &&
    spec.hours === undefined &&
    spec.from === undefined &&
    spec.until === undefined
  ) {
    errors.push({
      key: 'days',
      message: 'a time window needs at least one of `days`, `hours`, `from` or `until`',
    });
  }

  if (from !== undefined && until !== undefined && typeof format !== 'string') {
    if (isEmptyRange(from, until, format.formatter)) {
      const relation =
        from.kind === 'instant' && until.kind === 'instant' ? 'is not after' : 'is before';
      errors.push({
        key: 'until',
        message: `\`until\` (${quote(until.text)}) ${relation} \`from\` (${quote(from.text)}), so the window is always closed`,
      });
    }
  }

  if (errors.length > 0 || typeof format === 'string') return { ok: false, errors };

  const describe = [
    spec.days === undefined
      ? undefined
      : (typeof spec.days === 'string' ? [spec.days] : spec.days)
          .map((d) =>
            d
              .trim()
              .toLowerCase()
              .replace(/\s*-\s*/, '-'),
          )
          .join(','),
    hourRanges.length === 0
      ? undefined
      : hourRanges.map((r) => `${formatMinute(r.start)}-${formatMinute(r.end)}`).join(','),
    from === undefined ? undefined : `from ${from.text}`,
    until === undefined ? undefined : `until ${until.text}`,
  ]
    .filter((x) => x !== undefined)
    .join(', ');

  return {
    ok: true,
    window: new ZonedTimeWindow(format, daysMask, minutes, from, until, `${describe} (${tz})`),
  };
}

/**
 * Whether from/until leave nothing. A date bound is a whole local day, so an instant is compared
 * with the local date it falls on.
 */
function isEmptyRange(from: Bound, until: Bound, format: Intl.DateTimeFormat): boolean {
  if (from.kind === 'instant' && until.kind === 'instant') return from.ms >= until.ms;
  if (from.kind === 'date' && until.kind === 'date') return from.day > until.day;
  if (from.kind === 'date' && until.kind === 'instant') {
    return from.day > (localFields(format, until.ms)?.day ?? Infinity);
  }
  if (from.kind === 'instant' && until.kind === 'date') {
    return (localFields(format, from.ms)?.day ?? -Infinity) > until.day;
  }
  return false;
}

interface LocalFields {
  /** Days since 1970-01-01 of the local date. */
  day: number;
  /** 0 is Sunday. */
  weekday: number;
  minuteOfDay: number;
  /** Local wall time minus UTC, in milliseconds. */
  offset: number;
}

/** The wall-clock fields of an instant in the formatter's zone, or undefined if Intl balks. */
function localFields(format: Intl.DateTimeFormat, ms: number): LocalFields | undefined {
  let era = '';
  let year = NaN;
  let month = NaN;
  let day = NaN;
  let hour = NaN;
  let minute = NaN;
  let second = NaN;
  for (const part of format.formatToParts(ms)) {
    const type = part.type;
    if (type === 'era') era = part.value;
    else if (type === 'year') year = Number(part.value);
    else if (type === 'month') month = Number(part.value);
    else if (type === 'day') day = Number(part.value);
    else if (type === 'hour') hour = Number(part.value);
    else if (type === 'minute') minute = Number(part.value);
    else if (type === 'second') second = Number(part.value);
  }
  // Year 1 BC is astronomical year 0.
  if (era === 'BC') year = 1 - year;
  // Some ICU versions print midnight as 24 even with h23; it is the start of the same day.
  if (hour === 24) hour = 0;
  const localDay = dayNumber(year, month, day);
  const local = localDay * MS_PER_DAY + hour * 3_600_000 + minute * MS_PER_MINUTE + second * 1000;
  if (!Number.isFinite(local)) return undefined;
  return {
    day: localDay,
    // 1970-01-01 was a Thursday.
    weekday: (((localDay + 4) % 7) + 7) % 7,
    minuteOfDay: hour * 60 + minute,
    offset: local - Math.floor(ms / 1000) * 1000,
  };
}

/** A zone's formatter and the memo of the last UTC minute's local fields (see local()). */
class ZoneClock {
  private memoMinute = NaN;
  day = 0;
  weekday = 0;
  minuteOfDay = 0;

  constructor(readonly formatter: Intl.DateTimeFormat) {}

  /**
   * Loads the local fields of `ms`. Offsets are whole minutes in every zone since local mean time
   * was abandoned, and a change between two whole-minute offsets happens on a whole UTC minute, so
   * the fields at the start of a UTC minute hold for all of it. Older offsets with seconds (such as
   * Monrovia's -0:44:30 until 1972) are computed per call.
   */
  local(ms: number): boolean {
    const minute = Math.floor(ms / MS_PER_MINUTE);
    if (minute === this.memoMinute) return true;
    let fields = localFields(this.formatter, minute * MS_PER_MINUTE);
    let reusable = fields !== undefined && fields.offset % MS_PER_MINUTE === 0;
    if (!reusable) {
      fields = localFields(this.formatter, ms);
      reusable = false;
    }
    if (fields === undefined) {
      this.memoMinute = NaN;
      return false;
    }
    this.memoMinute = reusable ? minute : NaN;
    this.day = fields.day;
    this.weekday = fields.weekday;
    this.minuteOfDay = fields.minuteOfDay;
    return true;
  }
}

class ZonedTimeWindow implements TimeWindow {
  private readonly fromMs: number;
  private readonly untilMs: number;
  private readonly fromDay: number;
  private readonly untilDay: number;
  private readonly needsLocal: boolean;

  constructor(
    private readonly clock: ZoneClock,
    private readonly daysMask: number,
    private readonly minutes: Uint8Array | undefined,
    from: Bound | undefined,
    until: Bound | undefined,
    private readonly text: string,
  ) {
    this.fromMs = from?.kind === 'instant' ? from.ms : -Infinity;
    this.untilMs = until?.kind === 'instant' ? until.ms : Infinity;
    this.fromDay = from?.kind === 'date' ? from.day : -Infinity;
    this.untilDay = until?.kind === 'date' ? until.day : Infinity;
    this.needsLocal =
      daysMask !== ALL_DAYS_MASK ||
      minutes !== undefined ||
      from?.kind === 'date' ||
      until?.kind === 'date';
  }

  describe(): string {
    return this.text;
  }

  contains(epochMs: number): boolean {
    if (typeof epochMs !== 'number' || !(Math.abs(epochMs) <= MAX_EPOCH_MS)) return false;
    if (epochMs < this.fromMs || epochMs >= this.untilMs) return false;
    if (!this.needsLocal) return true;
    const clock = this.clock;
    if (!clock.local(epochMs)) return false;
    if ((this.daysMask & (1 << clock.weekday)) === 0) return false;
    if (this.minutes !== undefined && this.minutes[clock.minuteOfDay] !== 1) return false;
    return clock.day >= this.fromDay && clock.day <= this.untilDay;
  }
}
