/**
 * Durations as written in ztgate.yaml: one or more `<integer><unit>` parts, units `ms`, `s`, `m`,
 * `h`, `d` (`90s`, `30m`, `8h`, `1h30m`, `7d`). A bare `0` is zero. Returns milliseconds, or
 * undefined when the text is not a duration. Bounded: at most 32 characters, at most 10 years.
 */
const PART = /(\d{1,9})(ms|s|m|h|d)/y;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const MAX_DURATION_MS = 10 * 365 * 86_400_000;
export const DURATION_PATTERN = '^(0|([0-9]{1,9}(ms|s|m|h|d))+)$';

export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text.length === 0 || text.length > 32) return undefined;
  let total = 0;
  let pos = 0;
  const seen = new Set<string>();
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m || m[1] === undefined || m[2] === undefined) return undefined;
    if (seen.has(m[2])) return undefined; // `1h2h` is a typo, not 3h
    seen.add(m[2]);
    total += Number(m[1]) * (UNIT_MS[m[2]] ?? NaN);
    pos = PART.lastIndex;
  }
  if (!Number.isFinite(total) || total > MAX_DURATION_MS) return undefined;
  return total;
}

/** The shortest faithful form: 1800000 -> `30m`, 5400000 -> `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
