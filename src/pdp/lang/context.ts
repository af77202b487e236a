/**
 * What parsing one rule needs: where we are (for locations and reason texts) and where problems go.
 */
import type { ErrorCode } from '../../shared/error-catalog.js';
import type { Problem } from '../../shared/errors.js';
import type { KeyPath, Locate, SourceLocation } from '../../shared/source.js';
import type { Reason, ReasonCode, StepUpRequirement } from '../decision.js';

export interface ParseContext {
  readonly policy: string;
  /** `allow[0]` */
  readonly rule: string;
  readonly locate: Locate;
  readonly problems: Problem[];
}

/** Where a criterion is: its absolute key path in the document and its path inside the rule. */
export interface Place {
  readonly path: KeyPath;
  readonly criterion: string;
}

export function child(place: Place, key: string | number): Place {
  const criterion =
    typeof key === 'number'
      ? `${place.criterion}[${key}]`
      : place.criterion
        ? `${place.criterion}.${key}`
        : key;
  return { path: [...place.path, key], criterion };
}

export function locationOf(ctx: ParseContext, place: Place): SourceLocation | undefined {
  return ctx.locate(place.path);
}

export function report(
  ctx: ParseContext,
  path: KeyPath,
  code: ErrorCode,
  message: string,
  help?: string,
  severity: 'error' | 'warning' = 'error',
): void {
  const at = ctx.locate(path);
  ctx.problems.push({
    code,
    severity,
    message,
    path,
    ...(at ? { at } : {}),
    ...(help ? { help } : {}),
  });
}

/** Builds the frozen reasons a node can give, once, at parse time. */
export function makeReasons(
  ctx: ParseContext,
  place: Place,
  messages: Partial<Record<ReasonCode, string>>,
  stepUp?: StepUpRequirement,
): Readonly<Partial<Record<ReasonCode, Reason>>> {
  const at = locationOf(ctx, place);
  const out: Partial<Record<ReasonCode, Reason>> = {};
  for (const [code, message] of Object.entries(messages) as [ReasonCode, string][]) {
    out[code] = Object.freeze({
      code,
      rule: ctx.rule,
      criterion: place.criterion,
      message,
      ...(at ? { at } : {}),
      ...(stepUp &&
      (code === 'mfa-required' || code === 'mfa-too-old' || code === 'mfa-method-not-allowed')
        ? { step_up: stepUp }
        : {}),
    });
  }
  return Object.freeze(out);
}

/** `a` or `[a, b]` -> `[a, b]` */
export function asList<T>(value: T | readonly T[]): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** Lists a few values for a description; long lists are cut. */
export function listText(values: Iterable<unknown>, max = 5): string {
  const all = [...values].map((v) => String(v));
  const shown = all.slice(0, max).join(', ');
  return all.length > max ? `${shown} and ${all.length - max} more` : shown;
}
