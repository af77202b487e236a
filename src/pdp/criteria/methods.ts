/** `methods: [GET, HEAD]` — the HTTP method is one of these (written in any case). */
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
import { requestField } from './facts.js';

export type MethodsNode = Extract<Criterion, { kind: 'methods' }>;

export function parseMethods(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const methods = new Set(asList(value as string | string[]).map((m) => m.toUpperCase()));
  return [
    {
      kind: 'methods',
      methods,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: `method ${listText(methods)}`,
      reasons: makeReasons(ctx, place, {
        'input-missing': 'the request method is unknown',
        'method-not-allowed': `only ${listText(methods)} requests are allowed here`,
      }),
    },
  ];
}

export function evaluateMethods(node: MethodsNode, input: DecisionInput): Reason | null {
  const method = requestField(input, 'method');
  if (method === undefined) return node.reasons['input-missing'] ?? null;
  // HTTP methods are case-sensitive on the wire, but no client means `get` to differ from `GET`.
  return node.methods.has(method) || node.methods.has(method.toUpperCase())
    ? null
    : (node.reasons['method-not-allowed'] ?? null);
}
