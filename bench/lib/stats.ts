/** Summary statistics for benchmark samples. */

/** A latency distribution; every field in nanoseconds except `samples`. */
export interface Distribution {
  readonly samples: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** The nearest-rank percentile (`q` in [0, 1]) of ascending `sorted` values. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1] as number;
}

export function distribution(samples: Float64Array): Distribution {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    samples: n,
    min: n > 0 ? (sorted[0] as number) : NaN,
    mean: n > 0 ? sum / n : NaN,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: n > 0 ? (sorted[n - 1] as number) : NaN,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A distribution in microseconds, rounded for reports: `{p50: 0.21, ...}`. */
export function inMicroseconds(d: Distribution, digits = 3): Record<keyof Distribution, number> {
  const us = (ns: number) => Number((ns / 1000).toFixed(digits));
  return {
    samples: d.samples,
    min: us(d.min),
    mean: us(d.mean),
    p50: us(d.p50),
    p90: us(d.p90),
    p99: us(d.p99),
    p999: us(d.p999),
    max: us(d.max),
  };
}
