/**
 * Sizes as written in ztgate.yaml: a whole number of bytes (`1048576`, as a YAML number or a
 * string), or a whole number and a unit: `B`; `kB`/`KB`, `MB`, `GB`, `TB` (powers of 1000, as SI
 * and disk vendors mean them); `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024). One space may stand
 * between the number and the unit (`10 MiB`). Units are case-sensitive apart from `kB`/`KB`:
 * `Mb` and `mb` read as megabits to many people, so they are refused rather than guessed.
 *
 * No fractions (`1.5GiB`): a size is a count of bytes, and a fraction would have to be rounded
 * somewhere. Bounded: at most 32 characters and at most MAX_SIZE_BYTES, so the result is always an
 * exact integer.
 */

/** 2^53 - 1: every size up to this is exact in a JavaScript number (8 PiB, far beyond any use). */
export const MAX_SIZE_BYTES = Number.MAX_SAFE_INTEGER;

const UNIT_BYTES: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1000,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** The units, for messages and "did you mean". */
export const SIZE_UNITS: readonly string[] = Object.keys(UNIT_BYTES);

/** What a size as text looks like; the JSON Schema carries it, and it bounds the digits. */
export const SIZE_PATTERN = '^[0-9]{1,16}( ?(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB))?$';

const SIZE = /^([0-9]{1,16})(?: ?([A-Za-z]{1,3}))?$/;

/**
 * A size in bytes, or undefined when the value is not a size (wrong form, unknown unit, negative,
 * fractional, not finite, larger than MAX_SIZE_BYTES). Never throws, whatever the input.
 */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== 'string' || value.length === 0 || value.length > 32) return undefined;
  const m = SIZE.exec(value);
  if (!m || m[1] === undefined) return undefined;
  // `Object.hasOwn` keeps `constructor` and other inherited names from being units.
  const unit =
    m[2] === undefined ? 1 : Object.hasOwn(UNIT_BYTES, m[2]) ? UNIT_BYTES[m[2]] : undefined;
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * An exact form for messages and docs: the largest binary unit that divides the size
 * (10485760 -> `10MiB`, 3072 -> `3KiB`), else bytes (1536 -> `1536B`). Round-trips through
 * parseSize.
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) return String(bytes);
  if (bytes === 0) return '0B';
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const size = UNIT_BYTES[unit] ?? 1;
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
