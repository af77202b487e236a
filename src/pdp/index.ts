/**
 * The policy decision point: compile a config's policies and routes once, then answer decisions.
 * Pure: no I/O and no clock; the time of a request comes in its input.
 */
import type { Problem } from '../shared/errors.js';
import type { Locate } from '../shared/source.js';
import type { CompiledPolicy } from './compile/compile-policy.js';
import { compilePolicySet, type CompiledPolicySet } from './compile/policy-set.js';
import { RouteTable } from './compile/route-table.js';
import type { Decision } from './decision.js';
import type { DecisionInput } from './input.js';
import type { PolicySyntax } from './lang/schema.js';
import { policyReason } from './outcome.js';

export type { Decision, Reason, ReasonCode, Verdict } from './decision.js';
export type { DecisionInput } from './input.js';
export type { CompiledPolicy } from './compile/compile-policy.js';
export { interpret } from './interp/interpret.js';
export { RouteTable, normalizeHost } from './compile/route-table.js';

export interface RouteSource {
  readonly from: string;
  readonly policy: string | PolicySyntax;
}

export interface PolicyEngine<R extends RouteSource = RouteSource> {
  readonly policies: CompiledPolicySet;
  readonly routes: RouteTable<R>;
  /** The decision of a named policy; an unknown name is a deny (`policy-unknown`). */
  evaluate(policy: string, input: DecisionInput): Decision;
  /** The policy a route uses: its named policy, or its inline policy compiled as `routes[i]`. */
  policyFor(route: R): CompiledPolicy | undefined;
}

export interface EngineBuild<R extends RouteSource> {
  readonly engine: PolicyEngine<R>;
  readonly problems: readonly Problem[];
}

/**
 * Builds an engine from the `policies` and `routes` of a config. Inline route policies are
 * compiled under the name `routes[i]`. Problems are returned, not thrown: a caller must not serve
 * traffic with an engine whose build reported errors.
 */
export function buildEngine<R extends RouteSource>(
  source: {
    readonly policies: Readonly<Record<string, PolicySyntax>>;
    readonly routes: readonly R[];
  },
  locate: Locate,
  previous?: CompiledPolicySet,
): EngineBuild<R> {
  locate = memoizeLocate(locate);
  const inline: Record<string, PolicySyntax> = {};
  const inlineName = new Map<R, string>();
  source.routes.forEach((r, i) => {
    if (typeof r.policy !== 'string') {
      inline[`routes[${i}]`] = r.policy;
      inlineName.set(r, `routes[${i}]`);
    }
  });
  const named = compilePolicySet(source.policies, locate, previous ? { previous } : {});
  const problems: Problem[] = [...named.problems];
  const policies = new Map(named.set.policies);
  const checksums = new Map(named.set.checksums);
  source.routes.forEach((r, i) => {
    if (typeof r.policy === 'string') return;
    const one = compilePolicySet({ [`routes[${i}]`]: r.policy }, locate, {
      pathOf: () => ['routes', i, 'policy'],
      ...(previous ? { previous } : {}),
    });
    problems.push(...one.problems);
    for (const [k, v] of one.set.policies) policies.set(k, v);
    for (const [k, v] of one.set.checksums) checksums.set(k, v);
  });
  const set: CompiledPolicySet = { policies, checksums };
  const { table } = RouteTable.build(source.routes);
  const unknown = new Map<string, Decision>();
  const engine: PolicyEngine<R> = {
    policies: set,
    routes: table,
    evaluate(policy, input) {
      const p = policies.get(policy);
      if (p) return p.evaluate(input);
      let d = unknown.get(policy);
      if (!d) {
        d = Object.freeze({
          decision: 'deny',
          policy,
          reasons: Object.freeze([
            policyReason('policy-unknown', 'no policy by that name; access is denied'),
          ]),
        });
        if (unknown.size < 1000) unknown.set(policy, d);
      }
      return d;
    },
    policyFor(route) {
      return policies.get(
        typeof route.policy === 'string' ? route.policy : (inlineName.get(route) ?? ''),
      );
    },
  };
  return { engine, problems };
}

/**
 * Positions are looked up several times per value during a build (checksum, reasons, nodes), and a
 * config loader's lookup walks its document: remember them for the duration of one build.
 */
function memoizeLocate(locate: Locate): Locate {
  const seen = new Map<string, ReturnType<Locate>>();
  return (path) => {
    const key = path.join('\u0000');
    if (seen.has(key)) return seen.get(key);
    const loc = locate(path);
    seen.set(key, loc);
    return loc;
  };
}
