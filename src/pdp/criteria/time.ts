/** `time: {days, hours, tz, from, until}` — the request happens inside a window of local time. */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion } from '../lang/ast.js';
import {
  child,
  locationOf,
  makeReasons,
  report,
  type ParseContext,
  type Place,
} from '../lang/context.js';
import { parseInstant } from '../match/instant.js';
import { compileTimeWindow, type TimeWindowSpec } from '../match/time-window.js';

export type TimeNode = Extract<Criterion, { kind: 'time' }>;

export function parseTime(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const result = compileTimeWindow(value as TimeWindowSpec);
  if (!result.ok) {
    for (const e of result.errors) {
      const at = child(place, e.key);
      const where =
        e.index !== undefined && Array.isArray((value as Record<string, unknown>)[e.key])
          ? child(at, e.index)
          : at;
      report(
        ctx,
        where.path,
        e.key === 'tz' ? 'ZT_POLICY_INVALID_TIME_ZONE' : 'ZT_POLICY_INVALID_TIME',
        e.message,
      );
    }
    return [];
  }
  const window = result.window;
  return [
    {
      kind: 'time',
      window,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: `time ${window.describe()}`,
      reasons: makeReasons(ctx, place, {
        'time-unknown': 'the time of the request is unknown',
        'time-not-allowed': `access is allowed only ${window.describe()}`,
      }),
    },
  ];
}

export function evaluateTime(node: TimeNode, input: DecisionInput): Reason | null {
  const time = input.request?.time;
  const ms = time === undefined ? undefined : parseInstant(time);
  if (ms === undefined) return node.reasons['time-unknown'] ?? null;
  return node.window.contains(ms) ? null : (node.reasons['time-not-allowed'] ?? null);
}
