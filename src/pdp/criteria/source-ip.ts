/**
 * `source_ip: [10.0.0.0/8, 2001:db8::/32]` — the client address is in one of these ranges.
 * A network location is a signal, never a credential: a rule that trusts it alone gets a warning.
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
import { CidrSet, parseIp } from '../match/ip.js';
import { requestField } from './facts.js';

export type SourceIpNode = Extract<Criterion, { kind: 'source-ip' }>;

export function parseSourceIp(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const list = asList(value as string | string[]);
  const { set, errors } = CidrSet.compile(list);
  for (const e of errors) {
    report(
      ctx,
      (Array.isArray(value) ? child(place, e.index) : place).path,
      'ZT_POLICY_INVALID_CIDR',
      e.message,
    );
  }
  if (errors.length > 0) return [];
  return [
    {
      kind: 'source-ip',
      cidrs: set,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: `source address in ${listText(list)}`,
      reasons: makeReasons(ctx, place, {
        'input-missing': 'the address the request comes from is unknown',
        'input-invalid': 'the address the request comes from is malformed',
        'source-ip-not-allowed': 'your network address is not in a range this rule allows',
      }),
    },
  ];
}

export function evaluateSourceIp(node: SourceIpNode, input: DecisionInput): Reason | null {
  const ip = requestField(input, 'source_ip');
  if (ip === undefined) return node.reasons['input-missing'] ?? null;
  // Malformed is unknown, not "outside every range": `not: {source_ip: ...}` must not admit it.
  const parsed = parseIp(ip);
  if (parsed === undefined) return node.reasons['input-invalid'] ?? null;
  return node.cidrs.containsParsed(parsed) ? null : (node.reasons['source-ip-not-allowed'] ?? null);
}
