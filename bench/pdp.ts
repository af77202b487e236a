/**
 * Policy decision point benchmark: `npm run bench:pdp` (human-readable) or
 * `npm run -s bench:pdp -- --json` (one JSON summary line on stdout, nothing else there).
 * An error (for example ztgate and Cedar disagreeing) goes to stderr with exit code 1.
 *
 * One thread, bounded time (about 30 s; `--quick` about 8 s). Phases:
 *   0. Set-up: compile the engineering policy (PRODUCT.md section 3) and its Cedar translation,
 *      and check that both engines agree on every sampled input. Nothing is timed before that.
 *   1. Timer overhead: an empty call timed the way every latency below is timed.
 *   2. Engineering policy on 1,024 varied inputs, times as epoch ms and as ISO strings:
 *      decisions/s (fixed time after a warm-up) and per-decision latency (separate pass).
 *   3. 1,000 routes, each with its own policy: route lookup by host and path, then evaluation.
 *   4. Compile time of 10,000 routes through buildEngine from plain objects, without source
 *      positions (median of 3), and the memory the engine retains.
 *   5. The same engineering decisions with @cedar-policy/cedar-wasm, and the speed ratio.
 * Method and results: docs/performance.md.
 */
import { createCedarAuthorizer } from './cedar/authorizer.js';
import { assertEquivalent, compareEngines } from './cedar/equivalence.js';
import { parseBenchArgs } from './lib/args.js';
import { liveHeapBytes, mib } from './lib/heap.js';
import { machineInfo } from './lib/machine.js';
import {
  compileEngineering,
  ENGINEERING_MIX,
  engineeringInputs,
  noLocation,
  withFixedShape,
  type Scenario,
} from './lib/pdp-fixtures.js';
import { routeConfig, routeRequests, TEMPLATES, type RouteRequest } from './lib/pdp-routes.js';
import { atLeast, below, fmtNumber, latencyCells, Reporter, type Target } from './lib/report.js';
import { inMicroseconds, median, type Distribution } from './lib/stats.js';
import {
  measureLatency,
  measureThroughput,
  measureTimerOverhead,
  timeOnce,
  type Subject,
  type Throughput,
  type ThroughputOptions,
} from './lib/timing.js';
import { buildEngine, type Decision, type DecisionInput, type Verdict } from '../src/pdp/index.js';
import { PolicySchema } from '../src/pdp/lang/schema.js';

const args = parseBenchArgs(
  'bench:pdp',
  'Policy decision point: decisions/s and latency for the engineering policy and 1,000 routes,\n' +
    'compile time for 10,000 routes, and a comparison with @cedar-policy/cedar-wasm.',
);
const out = new Reporter(args.json);
const scale = args.quick ? 0.2 : 1;

const POOL_SIZE = 1024;
const WARMUP_MS = 500 * scale;
const DURATION_MS = 2000 * scale;
const LATENCY_SAMPLES = Math.round(300_000 * scale);
const CEDAR_WARMUP_MS = 1500 * scale; // the wasm module tiers up from its baseline compiler
const CEDAR_DURATION_MS = 2000 * scale;
const CEDAR_LATENCY_SAMPLES = Math.round(20_000 * scale);
const ROUTES = 1000;
const COMPILE_ROUTES = 10_000;
const COMPILE_RUNS = 3;

const TARGET_DECISIONS = 1_000_000;
const TARGET_P99_US = 5;
const TARGET_COMPILE_MS = 1000;
const TARGET_CEDAR_RATIO = 20;

interface Measured {
  readonly decisionsPerSec: number;
  readonly throughput: Throughput;
  readonly latency: Distribution;
}

function measure<T>(
  fn: Subject<T>,
  inputs: readonly T[],
  samples = LATENCY_SAMPLES,
  timing: ThroughputOptions = { warmupMs: WARMUP_MS, durationMs: DURATION_MS },
): Measured {
  const throughput = measureThroughput(fn, inputs, timing);
  const latency = measureLatency(fn, inputs, { samples });
  return { decisionsPerSec: throughput.perSecond, throughput, latency };
}

function measuredJson(m: Measured) {
  return {
    decisions_per_sec: Math.round(m.decisionsPerSec),
    decisions_per_sec_rounds: m.throughput.roundsPerSecond.map((r) => Math.round(r)),
    latency_us: inMicroseconds(m.latency),
  };
}

/** The spread of the throughput rounds: `1,912k-2,050k`. */
function spread(t: Throughput): string {
  const k = (n: number) => `${fmtNumber(n / 1000, n < 100_000 ? 1 : 0)}k`;
  return `${k(Math.min(...t.roundsPerSecond))}-${k(Math.max(...t.roundsPerSecond))}`;
}

const MEASURED_HEADER = ['decisions/s', 'rounds min-max', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs'];

function measuredRow(label: string, m: Measured): string[] {
  return [label, fmtNumber(m.decisionsPerSec), spread(m.throughput), ...latencyCells(m.latency)];
}

function countBy<T, K extends string>(items: readonly T[], key: (t: T) => K): Map<K, number> {
  const counts = new Map<K, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1)}%`;
}

function verdictMix(decisions: readonly Decision[]): Record<Verdict, number> {
  const mix: Record<Verdict, number> = { allow: 0, deny: 0, login: 0, step_up: 0 };
  for (const d of decisions) mix[d.decision]++;
  return mix;
}

function mixText(mix: Record<Verdict, number>, total: number): string {
  return (Object.keys(mix) as Verdict[]).map((v) => `${v} ${pct(mix[v], total)}`).join(', ');
}

const NO_ROUTE: Decision = Object.freeze({
  decision: 'deny',
  policy: '',
  reasons: Object.freeze([]),
});

interface CompileRun {
  readonly ms: number;
  /** heap used after the build, after a full GC (the engine and its config still alive) */
  readonly heapAfter: number;
  /** what the engine added to the live heap (the config's plain objects excluded) */
  readonly retained: number;
  /** growth of the resident set during the build (includes memory outside the JS heap) */
  readonly rssGrowth: number;
}

/**
 * One timed build. A function of its own, so that nothing of an earlier run is still referenced
 * when the heap is measured before this one.
 */
function compileRun(n: number): CompileRun {
  const config = routeConfig(n); // fresh plain objects, built outside the timing
  const before = liveHeapBytes();
  const rssBefore = process.memoryUsage().rss;
  const { ms, result } = timeOnce(() => buildEngine(config, noLocation));
  const heapAfter = liveHeapBytes();
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  const errors = result.problems.filter((p) => p.severity === 'error').length;
  if (errors > 0 || result.engine.routes.size !== n) {
    throw new Error(`the ${n}-route config did not compile cleanly (${errors} errors)`);
  }
  return { ms, heapAfter, retained: heapAfter - before, rssGrowth };
}

function main(): void {
  const machine = machineInfo();
  out.line('ztgate policy decision point benchmark (bench/pdp.ts)');
  out.line(
    `machine: ${machine.cpuModel}, nproc ${machine.nproc}, Node ${machine.node} (V8 ${machine.v8}), ` +
      `${machine.platform}/${machine.arch}; load average ${machine.loadAverage.join(' ')}; ` +
      `one thread${args.quick ? '; --quick: short phases' : ''}`,
  );

  // ---- 0. set-up and the Cedar equivalence check, before anything is timed
  const engineering = compileEngineering();
  const epochPool = engineeringInputs(POOL_SIZE, { times: 'epoch' });
  const isoPool = engineeringInputs(POOL_SIZE, { times: 'iso' });
  const cedar = createCedarAuthorizer();
  const eqEpoch = compareEngines(engineering, cedar, epochPool);
  assertEquivalent(eqEpoch, 'epoch-ms');
  const eqIso = compareEngines(engineering, cedar, isoPool);
  assertEquivalent(eqIso, 'ISO-string');
  const epochInputs = epochPool.map((s) => s.input);
  const isoInputs = isoPool.map((s) => s.input);
  const mix = verdictMix(epochInputs.map((i) => engineering.evaluate(i)));
  const scenarios = countBy(epochPool, (s) => s.scenario);

  out.section('Set-up');
  out.line(
    `engineering policy: ${POOL_SIZE} pre-built inputs, cycled; ztgate verdicts: ${mixText(mix, POOL_SIZE)}`,
  );
  out.line(
    `  scenarios: ${(Object.keys(ENGINEERING_MIX) as Scenario[])
      .map((s) => `${s} ${scenarios.get(s) ?? 0}`)
      .join(', ')}`,
  );
  out.line(
    `cedar ${cedar.version}: same allow/not-allow as ztgate on all ${eqEpoch.checked} epoch-ms and ` +
      `${eqIso.checked} ISO inputs (${eqEpoch.allowed} allowed by both)`,
  );

  // ---- 1. timer overhead
  const overhead = measureTimerOverhead(LATENCY_SAMPLES);
  out.section('Timer overhead (an empty call timed with process.hrtime.bigint(), in µs)');
  out.table(['', 'p50', 'p99', 'p99.9', 'max'], [['empty call', ...latencyCells(overhead)]]);
  out.line('Every latency below includes this overhead; nothing is subtracted.');

  // ---- 2. the engineering policy
  const evaluate = (i: DecisionInput) => engineering.evaluate(i);
  const engEpoch = measure(evaluate, epochInputs);
  const engIso = measure(evaluate, isoInputs);
  const engFixed = measure(evaluate, epochInputs.map(withFixedShape));
  out.section(
    `Engineering policy, ${POOL_SIZE} inputs (warm-up ${WARMUP_MS} ms, ${DURATION_MS} ms timed; ` +
      `${fmtNumber(LATENCY_SAMPLES)} latency samples)`,
  );
  out.table(
    ['times in input', ...MEASURED_HEADER],
    [
      measuredRow('epoch ms (proxy)', engEpoch),
      measuredRow('ISO strings (JSON)', engIso),
      measuredRow('epoch ms, fixed shape', engFixed),
    ],
  );
  out.line(
    '"fixed shape": the same inputs built with every key present in one order (see withFixedShape).',
  );

  // ---- 3. 1,000 routes
  const config = routeConfig(ROUTES);
  const built = buildEngine(config, noLocation);
  const routeErrors = built.problems.filter((p) => p.severity === 'error');
  if (routeErrors.length > 0) {
    throw new Error(`the ${ROUTES}-route config does not compile: ${routeErrors[0]?.message}`);
  }
  const engine = built.engine;
  const decideRoute = (r: RouteRequest): Decision => {
    const route = engine.routes.match(r.host, r.path);
    if (route === undefined) return NO_ROUTE;
    const policy = engine.policyFor(route);
    return policy === undefined ? NO_ROUTE : policy.evaluate(r.input);
  };
  const nowPool = routeRequests(ROUTES, POOL_SIZE, { times: 'now' });
  const weekPool = routeRequests(ROUTES, POOL_SIZE, { times: 'week' });
  const unmatched = nowPool.filter((r) => engine.routes.match(r.host, r.path) === undefined).length;
  const routeMix = verdictMix(nowPool.map(decideRoute));
  const routesNow = measure(decideRoute, nowPool);
  const routesWeek = measure(decideRoute, weekPool, Math.round(LATENCY_SAMPLES / 3));
  out.section(
    `${fmtNumber(ROUTES)} routes, each with its own policy (${TEMPLATES.join('; ')}): ` +
      'routes.match(host, path) + policyFor(route).evaluate(input)',
  );
  out.line(
    `${POOL_SIZE} requests; ${unmatched} match no route; verdicts: ${mixText(routeMix, POOL_SIZE)}`,
  );
  out.table(
    ['request times', ...MEASURED_HEADER],
    [measuredRow('within one minute', routesNow), measuredRow('spread over a week', routesWeek)],
  );
  out.line(
    '"within one minute" is live traffic; "over a week" defeats the per-minute cache of time windows.',
  );

  // ---- 4. compile time for 10,000 routes
  const compiles = Array.from({ length: COMPILE_RUNS }, () => compileRun(COMPILE_ROUTES));
  const runsMs = compiles.map((c) => c.ms);
  const compileMs = median(runsMs);
  const { heapAfter, retained } = compiles[compiles.length - 1] as CompileRun;
  const firstRssGrowth = (compiles[0] as CompileRun).rssGrowth;
  const schemaConfig = routeConfig(COMPILE_ROUTES);
  const schemaMs = timeOnce(() => {
    for (const r of schemaConfig.routes) PolicySchema.parse(r.policy);
  }).ms;
  out.section(
    `Compile ${fmtNumber(COMPILE_ROUTES)} routes with buildEngine (each its own policy; plain objects, no source positions)`,
  );
  out.table(
    ['', 'value'],
    [
      ['runs, the first one cold (ms)', runsMs.map((m) => m.toFixed(1)).join(', ')],
      ['median (ms)', compileMs.toFixed(1)],
      ['per route (µs)', ((compileMs * 1000) / COMPILE_ROUTES).toFixed(1)],
      ['heap used after compile (MiB)', String(mib(heapAfter))],
      ['heap retained by the engine (MiB)', String(mib(retained))],
      ['resident set growth, first build (MiB)', String(mib(firstRssGrowth))],
      ['schema validation, not in buildEngine (ms)', schemaMs.toFixed(1)],
    ],
  );
  out.line(
    'Schema validation (PolicySchema.parse) is what a config load runs before buildEngine; shown for context.',
  );

  // ---- 5. Cedar
  const cedarEpoch = epochInputs.map((i) => cedar.request(i));
  const isAllowed = cedar.isAllowed;
  const cedarMeasured = measure(isAllowed, cedarEpoch, CEDAR_LATENCY_SAMPLES, {
    warmupMs: CEDAR_WARMUP_MS,
    durationMs: CEDAR_DURATION_MS,
    batch: 16,
  });
  const stateless = measureThroughput(cedar.isAllowedStateless, cedarEpoch, {
    warmupMs: 500 * scale,
    durationMs: 1000 * scale,
    batch: 8,
    rounds: 3,
  });
  const ratio = engEpoch.decisionsPerSec / cedarMeasured.decisionsPerSec;
  const ratioIso = engIso.decisionsPerSec / cedarMeasured.decisionsPerSec;
  out.section(`Cedar ${cedar.version} (${cedar.api})`);
  out.line(
    `The same ${POOL_SIZE} engineering inputs, mapped to Cedar requests before timing (the mapping is not timed).`,
  );
  out.table(
    ['engine', ...MEASURED_HEADER],
    [
      measuredRow('ztgate (epoch ms)', engEpoch),
      measuredRow('cedar-wasm, preparsed', cedarMeasured),
      ['cedar-wasm, isAuthorized', fmtNumber(stateless.perSecond), spread(stateless)],
    ],
  );
  out.line(
    `ztgate / cedar-wasm (preparsed): ${ratio.toFixed(1)}x with epoch-ms inputs, ${ratioIso.toFixed(1)}x with ISO inputs`,
  );

  // ---- targets
  const targets: Target[] = [
    atLeast('engineering decisions/s (epoch ms)', engEpoch.decisionsPerSec, TARGET_DECISIONS, '/s'),
    below('engineering p99 latency (epoch ms)', engEpoch.latency.p99 / 1000, TARGET_P99_US, 'µs'),
    below(`compile ${fmtNumber(COMPILE_ROUTES)} routes`, compileMs, TARGET_COMPILE_MS, 'ms', 0),
    atLeast('speed vs cedar-wasm (epoch ms)', ratio, TARGET_CEDAR_RATIO, 'x', 1),
  ];
  const informative: Target[] = [
    atLeast('engineering decisions/s (ISO)', engIso.decisionsPerSec, TARGET_DECISIONS, '/s'),
    below('engineering p99 latency (ISO)', engIso.latency.p99 / 1000, TARGET_P99_US, 'µs'),
    atLeast('speed vs cedar-wasm (ISO)', ratioIso, TARGET_CEDAR_RATIO, 'x', 1),
  ];
  const allMet = targets.every((t) => t.met);
  out.section('Targets');
  out.targets([...targets, ...informative]);
  out.line(
    allMet
      ? 'All targets met (the epoch-ms rows are the targets; the ISO rows are for information).'
      : 'Some targets are NOT met.',
  );

  out.summary({
    benchmark: 'pdp',
    quick: args.quick,
    machine,
    pool_size: POOL_SIZE,
    timer_overhead_us: inMicroseconds(overhead),
    engineering: {
      verdicts: mix,
      epoch_ms: measuredJson(engEpoch),
      iso: measuredJson(engIso),
      epoch_ms_fixed_shape: measuredJson(engFixed),
    },
    routes_1000: {
      unmatched,
      verdicts: routeMix,
      times_within_minute: measuredJson(routesNow),
      times_over_week: measuredJson(routesWeek),
    },
    compile_10000: {
      runs_ms: runsMs.map((m) => Number(m.toFixed(1))),
      median_ms: Number(compileMs.toFixed(1)),
      per_route_us: Number(((compileMs * 1000) / COMPILE_ROUTES).toFixed(2)),
      heap_used_after_mib: mib(heapAfter),
      heap_retained_mib: mib(retained),
      rss_growth_first_build_mib: mib(firstRssGrowth),
      schema_validation_ms: Number(schemaMs.toFixed(1)),
    },
    cedar: {
      version: cedar.version,
      api: cedar.api,
      equivalence: {
        checked: eqEpoch.checked + eqIso.checked,
        allowed: eqEpoch.allowed + eqIso.allowed,
        disagreements: 0,
      },
      preparsed: measuredJson(cedarMeasured),
      stateless_decisions_per_sec: Math.round(stateless.perSecond),
      ratio_epoch: Number(ratio.toFixed(1)),
      ratio_iso: Number(ratioIso.toFixed(1)),
    },
    targets: [...targets, ...informative].map((t) => ({
      name: t.name,
      goal: t.goal,
      value: Number(t.value.toFixed(3)),
      met: t.met,
    })),
    all_targets_met: allMet,
  });
  if (args.checkTargets && !allMet) process.exitCode = 1;
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench:pdp: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
