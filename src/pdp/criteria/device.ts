/**
 * `device: {managed, tier, posture: {...}}` — the request comes from a known device that meets
 * these requirements. Each requirement is its own node so that a denial names exactly what to fix
 * (`device.posture.firewall`). `device: {}` asks only that the device be known.
 * A posture attribute the device has not reported is unknown, never assumed healthy.
 */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion, PostureCheck, Scalar } from '../lang/ast.js';
import {
  asList,
  child,
  listText,
  locationOf,
  makeReasons,
  report,
  type ParseContext,
  type Place,
} from '../lang/context.js';
import { knownDevice } from './facts.js';

type DeviceKnownNode = Extract<Criterion, { kind: 'device-known' }>;
type DeviceManagedNode = Extract<Criterion, { kind: 'device-managed' }>;
type DeviceTierNode = Extract<Criterion, { kind: 'device-tier' }>;
type DevicePostureNode = Extract<Criterion, { kind: 'device-posture' }>;

interface DeviceSyntax {
  managed?: boolean | undefined;
  tier?: string | string[] | undefined;
  posture?: Record<string, Scalar | { min?: number; max?: number } | { in: Scalar[] }> | undefined;
}

const MISSING = 'this requires a device enrolled with ztgate';

export function parseDevice(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const spec = value as DeviceSyntax;
  const out: Criterion[] = [];
  if (spec.managed !== undefined) {
    const here = child(place, 'managed');
    out.push({
      kind: 'device-managed',
      managed: spec.managed,
      criterion: here.criterion,
      at: locationOf(ctx, here),
      describe: spec.managed ? 'managed device' : 'unmanaged device',
      reasons: makeReasons(ctx, here, {
        'device-missing': MISSING,
        'device-posture-unknown': 'your device has not reported whether it is managed',
        'device-unmanaged': spec.managed
          ? 'this requires a managed device'
          : 'this is only for unmanaged devices',
      }),
    });
  }
  if (spec.tier !== undefined) {
    const here = child(place, 'tier');
    const tiers = new Set(asList(spec.tier));
    out.push({
      kind: 'device-tier',
      tiers,
      criterion: here.criterion,
      at: locationOf(ctx, here),
      describe: `device tier ${listText(tiers)}`,
      reasons: makeReasons(ctx, here, {
        'device-missing': MISSING,
        'device-posture-unknown': 'your device has no trust tier yet',
        'device-tier-insufficient': `this requires a device in trust tier ${listText(tiers)}`,
      }),
    });
  }
  for (const [attribute, condition] of Object.entries(spec.posture ?? {})) {
    const here = child(child(place, 'posture'), attribute);
    const check = parsePostureCheck(condition, here, ctx);
    if (!check) continue;
    const requirement = describeCheck(attribute, check);
    out.push({
      kind: 'device-posture',
      attribute,
      check,
      criterion: here.criterion,
      at: locationOf(ctx, here),
      describe: requirement,
      reasons: makeReasons(ctx, here, {
        'device-missing': MISSING,
        'device-posture-unknown': `your device has not reported \`${attribute}\``,
        'device-unhealthy': `your device does not meet a requirement: ${requirement}`,
      }),
    });
  }
  if (out.length === 0) {
    out.push({
      kind: 'device-known',
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: 'a known device',
      reasons: makeReasons(ctx, place, { 'device-missing': MISSING }),
    });
  }
  return out;
}

function parsePostureCheck(
  condition: unknown,
  place: Place,
  ctx: ParseContext,
): PostureCheck | undefined {
  if (
    typeof condition === 'string' ||
    typeof condition === 'number' ||
    typeof condition === 'boolean'
  ) {
    return { op: 'eq', value: condition };
  }
  const c = condition as { min?: number; max?: number; in?: Scalar[] };
  if (c.in !== undefined) return { op: 'in', values: c.in };
  const min = c.min ?? -Infinity;
  const max = c.max ?? Infinity;
  if (c.min === undefined && c.max === undefined) {
    report(
      ctx,
      place.path,
      'ZT_POLICY_INVALID_RANGE',
      'a range needs `min`, `max` or both',
      'write for example `{max: 30}`',
    );
    return undefined;
  }
  if (!Number.isFinite(min) && c.min !== undefined) return undefined;
  if (min > max) {
    report(
      ctx,
      place.path,
      'ZT_POLICY_INVALID_RANGE',
      `the range is empty: \`min\` ${min} is above \`max\` ${max}`,
      'swap the bounds',
    );
    return undefined;
  }
  return { op: 'range', min, max };
}

function describeCheck(attribute: string, check: PostureCheck): string {
  switch (check.op) {
    case 'eq':
      return `${attribute} must be ${String(check.value)}`;
    case 'in':
      return `${attribute} must be one of ${listText(check.values)}`;
    case 'range':
      if (check.min === -Infinity) return `${attribute} must be at most ${check.max}`;
      if (check.max === Infinity) return `${attribute} must be at least ${check.min}`;
      return `${attribute} must be between ${check.min} and ${check.max}`;
  }
}

export function evaluateDeviceKnown(node: DeviceKnownNode, input: DecisionInput): Reason | null {
  return knownDevice(input) ? null : (node.reasons['device-missing'] ?? null);
}

export function evaluateDeviceManaged(
  node: DeviceManagedNode,
  input: DecisionInput,
): Reason | null {
  const device = knownDevice(input);
  if (!device) return node.reasons['device-missing'] ?? null;
  if (typeof device.managed !== 'boolean') return node.reasons['device-posture-unknown'] ?? null;
  return device.managed === node.managed ? null : (node.reasons['device-unmanaged'] ?? null);
}

export function evaluateDeviceTier(node: DeviceTierNode, input: DecisionInput): Reason | null {
  const device = knownDevice(input);
  if (!device) return node.reasons['device-missing'] ?? null;
  if (typeof device.tier !== 'string' || device.tier === '')
    return node.reasons['device-posture-unknown'] ?? null;
  return node.tiers.has(device.tier) ? null : (node.reasons['device-tier-insufficient'] ?? null);
}

export function evaluateDevicePosture(
  node: DevicePostureNode,
  input: DecisionInput,
): Reason | null {
  const device = knownDevice(input);
  if (!device) return node.reasons['device-missing'] ?? null;
  const posture = device.posture;
  const value: unknown =
    posture !== null && typeof posture === 'object' && Object.hasOwn(posture, node.attribute)
      ? posture[node.attribute]
      : undefined;
  if (value === undefined || value === null) return node.reasons['device-posture-unknown'] ?? null;
  return checkPosture(node.check, value) ? null : (node.reasons['device-unhealthy'] ?? null);
}

function checkPosture(check: PostureCheck, value: unknown): boolean {
  switch (check.op) {
    case 'eq':
      return value === check.value;
    case 'in':
      return check.values.includes(value as Scalar);
    case 'range':
      return (
        typeof value === 'number' &&
        !Number.isNaN(value) &&
        value >= check.min &&
        value <= check.max
      );
  }
}
