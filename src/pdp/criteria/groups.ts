/** `groups: [engineering, sre]` — the user is in at least one of these groups (exact names). */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion } from '../lang/ast.js';
import {
  asList,
  listText,
  locationOf,
  makeReasons,
  type ParseContext,
  type Place,
} from '../lang/context.js';
import { UNAUTHENTICATED_MESSAGE } from './authenticated.js';
import { signedInUser } from './facts.js';

export type GroupsNode = Extract<Criterion, { kind: 'groups' }>;

export function parseGroups(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const groups = new Set(asList(value as string | string[]));
  return [
    {
      kind: 'groups',
      groups,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: `member of ${listText(groups)}`,
      reasons: makeReasons(ctx, place, {
        'user-unauthenticated': UNAUTHENTICATED_MESSAGE,
        'group-not-allowed': 'you are not in a group this rule requires',
      }),
    },
  ];
}

export function evaluateGroups(node: GroupsNode, input: DecisionInput): Reason | null {
  const user = signedInUser(input);
  if (!user) return node.reasons['user-unauthenticated'] ?? null;
  const groups = user.groups;
  if (Array.isArray(groups)) {
    for (let i = 0; i < groups.length; i++) {
      if (node.groups.has(groups[i] as string)) return null;
    }
  }
  return node.reasons['group-not-allowed'] ?? null;
}
