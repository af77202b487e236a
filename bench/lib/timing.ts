/**
 * Timing loops for single-threaded micro-benchmarks.
 *
 * Every measurement runs in a loop function compiled afresh for it (see `freshLoop`), so the call
 * `fn(input)` inside the loop only ever sees one target. Sharing one loop between benchmarks would
 * make that call site polymorphic and then megamorphic, and each benchmark would pay for the ones
 * that ran before it.
 *
 * - Throughput: after a warm-up, call `fn` on the inputs (cycled) in batches for a fixed wall-clock
 *   time and count the calls. The clock is read once per batch, so its cost is negligible. The time
 *   is cut into rounds and the median round is reported, so that a burst of other work on the
 *   machine moves the result less than it would move one long average.
 * - Latency: a separate pass that reads `process.hrtime.bigint()` before and after every call. The
 *   result includes the cost of the clock itself; `measureTimerOverhead` measures that cost by
 *   timing an empty call the same way, and reports should print it next to the latencies.
 */
import { distribution, median, type Distribution } from './stats.js';

export type Subject<T> = (input: T) => unknown;

export interface ThroughputOptions {
  /** untimed calls before measuring, in milliseconds of wall-clock time */
  readonly warmupMs: number;
  /** measured wall-clock time, in milliseconds */
  readonly durationMs: number;
  /** calls between two reads of the clock (default 1024) */
  readonly batch?: number;
  /** the measured time is cut into this many rounds (default 5) */
  readonly rounds?: number;
}

export interface Throughput {
  readonly calls: number;
  readonly elapsedNs: number;
  /** calls per second: the median of the rounds */
  readonly perSecond: number;
  /** calls per second of each round, in order */
  readonly roundsPerSecond: readonly number[];
  /** how many calls returned something other than undefined (keeps results observable) */
  readonly defined: number;
}

export interface LatencyOptions {
  /** timed calls */
  readonly samples: number;
  /** untimed passes of the same loop first (default: samples / 4) */
  readonly warmup?: number;
}

type ThroughputLoop = <T>(
  fn: Subject<T>,
  inputs: readonly T[],
  calls: number,
  start: number,
) => number;
type LatencyLoop = <T>(
  fn: Subject<T>,
  inputs: readonly T[],
  out: Float64Array,
  clock: () => bigint,
) => void;

const THROUGHPUT_LOOP = `
  return function throughputLoop(fn, inputs, calls, start) {
    const len = inputs.length;
    let k = start;
    let defined = 0;
    for (let i = 0; i < calls; i++) {
      if (fn(inputs[k]) !== undefined) defined++;
      if (++k === len) k = 0;
    }
    return defined;
  };`;

const LATENCY_LOOP = `
  return function latencyLoop(fn, inputs, out, clock) {
    const len = inputs.length;
    const n = out.length;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const input = inputs[k];
      const t0 = clock();
      fn(input);
      const t1 = clock();
      out[i] = Number(t1 - t0);
      if (++k === len) k = 0;
    }
  };`;

/** A new instance of a loop, with its own type feedback (see the module comment). */
function freshLoop<L>(source: string): L {
  // The source is a constant of this module, never data: this is how benchmark harnesses
  // (benchmark.js, mitata) give each measurement its own optimized loop.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(source) as () => L;
  return factory();
}

const clock = (): bigint => process.hrtime.bigint();

export function measureThroughput<T>(
  fn: Subject<T>,
  inputs: readonly T[],
  options: ThroughputOptions,
): Throughput {
  if (inputs.length === 0) throw new Error('measureThroughput needs at least one input');
  const loop = freshLoop<ThroughputLoop>(THROUGHPUT_LOOP);
  const batch = options.batch ?? 1024;
  const len = inputs.length;
  let k = 0;
  const warmEnd = clock() + BigInt(Math.round(options.warmupMs * 1e6));
  while (clock() < warmEnd) {
    loop(fn, inputs, batch, k);
    k = (k + batch) % len;
  }
  const rounds = Math.max(1, options.rounds ?? 5);
  const roundNs = BigInt(Math.round((options.durationMs * 1e6) / rounds));
  const roundsPerSecond: number[] = [];
  let calls = 0;
  let defined = 0;
  let elapsedNs = 0;
  for (let r = 0; r < rounds; r++) {
    let roundCalls = 0;
    const start = clock();
    const end = start + roundNs;
    let now = start;
    do {
      defined += loop(fn, inputs, batch, k);
      k = (k + batch) % len;
      roundCalls += batch;
      now = clock();
    } while (now < end);
    const ns = Number(now - start);
    roundsPerSecond.push((roundCalls * 1e9) / ns);
    calls += roundCalls;
    elapsedNs += ns;
  }
  return { calls, elapsedNs, perSecond: median(roundsPerSecond), roundsPerSecond, defined };
}

export function measureLatency<T>(
  fn: Subject<T>,
  inputs: readonly T[],
  options: LatencyOptions,
): Distribution {
  if (inputs.length === 0) throw new Error('measureLatency needs at least one input');
  const loop = freshLoop<LatencyLoop>(LATENCY_LOOP);
  const warmup = options.warmup ?? Math.ceil(options.samples / 4);
  if (warmup > 0) loop(fn, inputs, new Float64Array(warmup), clock);
  const out = new Float64Array(options.samples);
  loop(fn, inputs, out, clock);
  return distribution(out);
}

/**
 * The cost of the latency measurement itself: an identity function timed exactly as
 * `measureLatency` times a real subject.
 */
export function measureTimerOverhead(samples: number): Distribution {
  const inputs = [0, 1, 2, 3];
  return measureLatency((x: number) => x, inputs, { samples });
}

/** Milliseconds taken by `fn`, with its result. */
export function timeOnce<R>(fn: () => R): { ms: number; result: R } {
  const t0 = clock();
  const result = fn();
  return { ms: Number(clock() - t0) / 1e6, result };
}
