/** `authenticated: true` — holds for any signed-in user. */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion } from '../lang/ast.js';
import { locationOf, makeReasons, type ParseContext, type Place } from '../lang/context.js';
import { signedInUser } from './facts.js';

export type AuthenticatedNode = Extract<Criterion, { kind: 'authenticated' }>;

export const UNAUTHENTICATED_MESSAGE = 'you need to sign in';

export function parseAuthenticated(_value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  return [
    {
      kind: 'authenticated',
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: 'any signed-in user',
      reasons: makeReasons(ctx, place, { 'user-unauthenticated': UNAUTHENTICATED_MESSAGE }),
    },
  ];
}

export function evaluateAuthenticated(
  node: AuthenticatedNode,
  input: DecisionInput,
): Reason | null {
  return signedInUser(input) ? null : (node.reasons['user-unauthenticated'] ?? null);
}
