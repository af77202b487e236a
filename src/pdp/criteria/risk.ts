/** `risk: {min, max}` — the request's risk score (0-100) lies in this range, bounds inclusive. */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion } from '../lang/ast.js';
import { locationOf, makeReasons, report, type ParseContext, type Place } from '../lang/context.js';

export type RiskNode = Extract<Criterion, { kind: 'risk' }>;

export function parseRisk(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const spec = value as { min?: number; max?: number };
  const min = spec.min ?? 0;
  const max = spec.max ?? 100;
  const problems: string[] = [];
  if (spec.min === undefined && spec.max === undefined)
    problems.push('a risk range needs `min`, `max` or both');
  for (const [k, v] of [
    ['min', spec.min],
    ['max', spec.max],
  ] as const) {
    if (v !== undefined && (!Number.isFinite(v) || v < 0 || v > 100))
      problems.push(`\`${k}\` must be between 0 and 100, not ${v}`);
  }
  if (min > max) problems.push(`the range is empty: \`min\` ${min} is above \`max\` ${max}`);
  if (problems.length > 0) {
    for (const p of problems) report(ctx, place.path, 'ZT_POLICY_INVALID_RANGE', p);
    return [];
  }
  const describe =
    spec.max === undefined
      ? `risk score at least ${min}`
      : spec.min === undefined
        ? `risk score at most ${max}`
        : `risk score between ${min} and ${max}`;
  return [
    {
      kind: 'risk',
      min,
      max,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe,
      reasons: makeReasons(ctx, place, {
        'risk-unknown': 'the risk of this request could not be assessed',
        'risk-too-high': 'this request was assessed as too risky',
        'risk-too-low': `the risk score is below ${min}`,
      }),
    },
  ];
}

export function evaluateRisk(node: RiskNode, input: DecisionInput): Reason | null {
  const raw = input.risk?.score;
  if (typeof raw !== 'number' || Number.isNaN(raw)) return node.reasons['risk-unknown'] ?? null;
  // Scores saturate at the scale's ends: 150 is at least as risky as 100, so a deny rule
  // `risk: {min: 70}` must fire for it (out-of-range must never read as "no risk").
  const score = raw > 100 ? 100 : raw < 0 ? 0 : raw;
  if (score > node.max) return node.reasons['risk-too-high'] ?? null;
  if (score < node.min) return node.reasons['risk-too-low'] ?? null;
  return null;
}
