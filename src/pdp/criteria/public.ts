/** `public: true` — holds for everyone, signed in or not. */
import type { Criterion } from '../lang/ast.js';
import { locationOf, makeReasons, type ParseContext, type Place } from '../lang/context.js';

export type PublicNode = Extract<Criterion, { kind: 'public' }>;

export function parsePublic(_value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  return [
    {
      kind: 'public',
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: 'anyone',
      reasons: makeReasons(ctx, place, {}),
    },
  ];
}

export function evaluatePublic(): null {
  return null;
}
