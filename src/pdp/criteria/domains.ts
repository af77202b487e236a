/**
 * `domains: [example.com]` — the user's email domain (after the last `@`) is one of these, compared
 * case-insensitively and exactly: `example.com` does not admit `sub.example.com`, since a
 * subsidiary's accounts are often run by someone else.
 */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion } from '../lang/ast.js';
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
import { UNAUTHENTICATED_MESSAGE } from './authenticated.js';
import { signedInUser, stringField } from './facts.js';

export type DomainsNode = Extract<Criterion, { kind: 'domains' }>;

const DOMAIN =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function parseDomains(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const domains = new Set<string>();
  const list = asList(value as string | string[]);
  list.forEach((entry, i) => {
    const domain = entry.toLowerCase().replace(/\.$/, '');
    if (!DOMAIN.test(domain)) {
      const where = Array.isArray(value) ? child(place, i).path : place.path;
      report(
        ctx,
        where,
        'ZT_POLICY_INVALID_VALUE',
        `\`${entry.slice(0, 100)}\` is not a domain name`,
        entry.includes('@')
          ? 'use `users:` for email addresses; `domains:` takes `example.com`'
          : 'write the domain alone, as in `example.com` (internationalized names in their xn-- form)',
      );
      return;
    }
    domains.add(domain);
  });
  return [
    {
      kind: 'domains',
      domains,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: `email domain is ${listText(domains)}`,
      reasons: makeReasons(ctx, place, {
        'user-unauthenticated': UNAUTHENTICATED_MESSAGE,
        'domain-not-allowed': "your account's email domain is not one this rule allows",
      }),
    },
  ];
}

export function evaluateDomains(node: DomainsNode, input: DecisionInput): Reason | null {
  const user = signedInUser(input);
  if (!user) return node.reasons['user-unauthenticated'] ?? null;
  const email = stringField(user.email);
  if (email !== undefined) {
    const at = email.lastIndexOf('@');
    if (at > 0 && node.domains.has(email.slice(at + 1).toLowerCase())) return null;
  }
  return node.reasons['domain-not-allowed'] ?? null;
}
