/**
 * Output for benchmarks: human-readable sections and tables on stdout, or (with `--json`) nothing
 * until the end and then exactly one JSON line. Targets are checked in one place so that every
 * benchmark prints them the same way.
 */
import type { Distribution } from './stats.js';

export interface Target {
  readonly name: string;
  /** the goal as text: `>= 1,000,000 decisions/s` */
  readonly goal: string;
  /** the measured value as text */
  readonly measured: string;
  readonly value: number;
  readonly threshold: number;
  readonly met: boolean;
}

/** A target met when `value >= threshold`. */
export function atLeast(
  name: string,
  value: number,
  threshold: number,
  unit: string,
  digits = 0,
): Target {
  return {
    name,
    goal: `>= ${fmtNumber(threshold, digits)} ${unit}`,
    measured: `${fmtNumber(value, digits)} ${unit}`,
    value,
    threshold,
    met: value >= threshold,
  };
}

/** A target met when `value < threshold`. */
export function below(
  name: string,
  value: number,
  threshold: number,
  unit: string,
  digits = 2,
): Target {
  return {
    name,
    goal: `< ${fmtNumber(threshold, digits)} ${unit}`,
    measured: `${fmtNumber(value, digits)} ${unit}`,
    value,
    threshold,
    met: value < threshold,
  };
}

export function fmtNumber(n: number, digits = 0): string {
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Nanoseconds as microseconds: `0.213`. */
export function fmtUs(ns: number, digits = 3): string {
  return (ns / 1000).toFixed(digits);
}

export class Reporter {
  constructor(private readonly json: boolean) {}

  /** Human output only. */
  section(title: string): void {
    if (this.json) return;
    process.stdout.write(`\n== ${title}\n`);
  }

  /** Human output only. */
  line(text = ''): void {
    if (this.json) return;
    process.stdout.write(`${text}\n`);
  }

  /** Human output only: an aligned table; numeric-looking cells are right-aligned. */
  table(header: readonly string[], rows: readonly (readonly string[])[]): void {
    if (this.json) return;
    const all = [header, ...rows];
    const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
    const numeric = /^[-+<>=~]?\s?[\d,.]+(\s?\S+)?$/;
    const format = (r: readonly string[]) =>
      r
        .map((cell, c) => {
          const w = widths[c] ?? 0;
          return numeric.test(cell) && c > 0 ? cell.padStart(w) : cell.padEnd(w);
        })
        .join('  ')
        .trimEnd();
    process.stdout.write(`  ${format(header)}\n`);
    process.stdout.write(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
    for (const r of rows) process.stdout.write(`  ${format(r)}\n`);
  }

  /** Human output only: the targets table. */
  targets(targets: readonly Target[]): void {
    this.table(
      ['target', 'goal', 'measured', 'met'],
      targets.map((t) => [t.name, t.goal, t.measured, t.met ? 'yes' : 'NO']),
    );
  }

  /** JSON output only: the one summary line. */
  summary(value: unknown): void {
    if (!this.json) return;
    process.stdout.write(`${JSON.stringify(value)}\n`);
  }
}

/** A latency row for a table: p50, p99, p99.9 and max in µs. */
export function latencyCells(d: Distribution): string[] {
  return [fmtUs(d.p50), fmtUs(d.p99), fmtUs(d.p999), fmtUs(d.max, 1)];
}
