/**
 * `users: [alice@example.com, u-123]` — the user is one of these. Every entry matches a user id
 * exactly; entries with `@` also match the email case-insensitively (IdPs disagree on case; no
 * two real accounts differ only by it).
 */
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
import { signedInUser, stringField } from './facts.js';

export type UsersNode = Extract<Criterion, { kind: 'users' }>;

export function parseUsers(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const ids = new Set<string>();
  const emails = new Set<string>();
  for (const entry of asList(value as string | string[])) {
    ids.add(entry);
    if (entry.includes('@')) emails.add(entry.toLowerCase());
  }
  return [
    {
      kind: 'users',
      ids,
      emails,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: `user is ${listText(ids)}`,
      reasons: makeReasons(ctx, place, {
        'user-unauthenticated': UNAUTHENTICATED_MESSAGE,
        'user-not-allowed': 'your account is not among the users this rule allows',
      }),
    },
  ];
}

export function evaluateUsers(node: UsersNode, input: DecisionInput): Reason | null {
  const user = signedInUser(input);
  if (!user) return node.reasons['user-unauthenticated'] ?? null;
  if (node.ids.size > 0 && typeof user.id === 'string' && node.ids.has(user.id)) return null;
  const email = stringField(user.email);
  if (email !== undefined && node.emails.size > 0 && node.emails.has(email.toLowerCase()))
    return null;
  return node.reasons['user-not-allowed'] ?? null;
}
