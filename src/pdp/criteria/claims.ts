/**
 * `claims: {department: [eng, ops], level: 3}` — each named identity claim has one of the accepted
 * values. Comparison is strict (`3` is not `"3"`), since claims are typed JSON. A claim that is a
 * list holds when any of its elements is accepted.
 */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion, Scalar } from '../lang/ast.js';
import {
  asList,
  child,
  listText,
  locationOf,
  makeReasons,
  type ParseContext,
  type Place,
} from '../lang/context.js';
import { UNAUTHENTICATED_MESSAGE } from './authenticated.js';
import { signedInUser } from './facts.js';

export type ClaimNode = Extract<Criterion, { kind: 'claim' }>;

export function parseClaims(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const out: Criterion[] = [];
  for (const [name, accepted] of Object.entries(value as Record<string, Scalar | Scalar[]>)) {
    const here = child(place, name);
    const values = asList(accepted);
    out.push({
      kind: 'claim',
      name,
      values,
      criterion: here.criterion,
      at: locationOf(ctx, here),
      describe: `claim ${name} is ${listText(values)}`,
      reasons: makeReasons(ctx, here, {
        'user-unauthenticated': UNAUTHENTICATED_MESSAGE,
        'claim-mismatch': `your identity's \`${name}\` attribute does not have a value this rule requires`,
      }),
    });
  }
  return out;
}

export function evaluateClaim(node: ClaimNode, input: DecisionInput): Reason | null {
  const user = signedInUser(input);
  if (!user) return node.reasons['user-unauthenticated'] ?? null;
  const claims = user.claims;
  if (claims !== null && typeof claims === 'object' && Object.hasOwn(claims, node.name)) {
    const actual = claims[node.name];
    if (Array.isArray(actual)) {
      for (const v of actual) if (node.values.includes(v as Scalar)) return null;
    } else if (node.values.includes(actual as Scalar)) {
      return null;
    }
  }
  return node.reasons['claim-mismatch'] ?? null;
}
