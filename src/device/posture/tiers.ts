/**
 * Trust tiers: the first configured tier whose rule a device meets, in the configured order, or
 * none. A rule uses the operators of a policy's `device.posture` with the same meaning: strict
 * equality, `{min, max}` on numbers (bounds inclusive), `{in: [...]}`. An attribute that is absent
 * (never reported, or stale) fails its condition: unknown posture never earns a tier.
 */
import type { PostureValue } from '../../pdp/input.js';
import type { PostureCondition, TierRule } from '../settings.js';

export interface TierInput {
  readonly managed: boolean;
  readonly posture: Readonly<Record<string, PostureValue>>;
}

export function conditionHolds(
  condition: PostureCondition,
  value: PostureValue | undefined,
): boolean {
  if (value === undefined) return false;
  switch (condition.op) {
    case 'eq':
      return value === condition.value;
    case 'in':
      return condition.values.includes(value);
    case 'range':
      return (
        typeof value === 'number' &&
        !Number.isNaN(value) &&
        value >= condition.min &&
        value <= condition.max
      );
  }
}

export function ruleHolds(rule: TierRule, input: TierInput): boolean {
  if (rule.managed !== undefined && rule.managed !== input.managed) return false;
  return rule.posture.every(({ attribute, condition }) =>
    conditionHolds(
      condition,
      Object.hasOwn(input.posture, attribute) ? input.posture[attribute] : undefined,
    ),
  );
}

/** The name of the first tier whose rule holds, or undefined. */
export function computeTier(tiers: readonly TierRule[], input: TierInput): string | undefined {
  for (const rule of tiers) if (ruleHolds(rule, input)) return rule.name;
  return undefined;
}

/** Why a device is not in `tier` (for `device show` and the portal): the failing conditions. */
export function tierShortfall(rule: TierRule, input: TierInput): string[] {
  const out: string[] = [];
  if (rule.managed !== undefined && rule.managed !== input.managed)
    out.push(rule.managed ? 'the device is not managed' : 'the device is managed');
  for (const { attribute, condition } of rule.posture) {
    const value = Object.hasOwn(input.posture, attribute) ? input.posture[attribute] : undefined;
    if (conditionHolds(condition, value)) continue;
    out.push(
      value === undefined
        ? `\`${attribute}\` is unknown`
        : `\`${attribute}\` is ${JSON.stringify(value)}`,
    );
  }
  return out;
}
