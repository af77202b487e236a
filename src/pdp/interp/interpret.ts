/**
 * The reference interpreter: the policy language's semantics written as plainly as possible. It
 * evaluates every node (no short-circuit) and returns, beside the decision, a trace of what held,
 * failed or was unknown — the explanation `ztgate policy eval --explain` prints. Tests compare the
 * compiled evaluator against it.
 *
 * Semantics:
 * - A criterion holds (true), fails (false), cannot be judged (unknown: a fact it needs is missing),
 *   or fails only for want of fresher or other MFA (step-up). These are ordered
 *   false < unknown < step-up < true.
 * - A rule (and `all:`) takes the lowest outcome of its children; its reason is the first child (in
 *   canonical order) with that outcome. So a step-up is offered only when MFA is all that is missing.
 * - `any:` takes the highest outcome of its children, with the reason of the first child that has it
 *   (a step-up that would make it hold beats an unknown branch).
 * - `not:` holds when its rule is false or step-up; is false (`condition-negated`) when it holds;
 *   stays unknown when its rule is unknown.
 * - A policy: a deny rule that holds decides (deny). Else an allow rule that holds decides (allow).
 *   Else, with no allow rules: deny. Else, from the allow rules' reasons: login if one says the user
 *   is not signed in, else step_up if one needs fresher or other MFA, else deny. A path that is not
 *   normalized is denied (`input-invalid`) before any rule runs when the policy tests paths.
 */
import type { Decision, Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Node, PolicyAst, RuleNode } from '../lang/ast.js';
import { evaluateCriterion } from '../criteria/index.js';
import { isNormalizedPath } from '../criteria/paths.js';
import {
  decideWithoutAllow,
  failureClass,
  FALSE,
  policyReason,
  STEP_UP,
  UNKNOWN,
} from '../outcome.js';

export type Truth = 'true' | 'false' | 'unknown';

export interface TraceNode {
  readonly criterion: string;
  readonly kind: string;
  readonly describe: string;
  readonly outcome: Truth;
  readonly reason?: Reason;
  readonly children?: readonly TraceNode[];
}

export interface TraceRule {
  readonly rule: string;
  readonly effect: 'allow' | 'deny';
  readonly outcome: Truth;
  readonly reason?: Reason;
  readonly criteria: readonly TraceNode[];
}

export interface Interpretation {
  readonly decision: Decision;
  readonly trace: readonly TraceRule[];
}

interface Outcome {
  readonly truth: Truth;
  readonly reason: Reason | null;
  readonly trace: TraceNode;
}

function truthOf(reason: Reason | null): Truth {
  if (reason === null) return 'true';
  return failureClass(reason) === UNKNOWN ? 'unknown' : 'false';
}

export function interpret(ast: PolicyAst, input: DecisionInput): Interpretation {
  const name = ast.name;
  if (ast.usesPath) {
    const path = input.request?.path;
    if (typeof path === 'string' && !isNormalizedPath(path)) {
      return {
        decision: {
          decision: 'deny',
          policy: name,
          reasons: [policyReason('input-invalid', 'the request path is not in normalized form')],
        },
        trace: [],
      };
    }
  }
  const rules = [...ast.deny, ...ast.allow].map((r) => {
    const o = evalRule(r.node, input);
    const traced: TraceRule = {
      rule: r.name,
      effect: r.effect,
      outcome: o.truth,
      ...(o.reason ? { reason: o.reason } : {}),
      criteria: o.trace.children ?? [],
    };
    return { top: r, outcome: o, traced };
  });
  const trace = rules.map((r) => r.traced);
  const deny = rules.find((r) => r.top.effect === 'deny' && r.outcome.truth === 'true');
  if (deny)
    return {
      decision: {
        decision: 'deny',
        policy: name,
        rule: deny.top.name,
        reasons: [deny.top.decidedReason],
      },
      trace,
    };
  const allows = rules.filter((r) => r.top.effect === 'allow');
  const allowed = allows.find((r) => r.outcome.truth === 'true');
  if (allowed) {
    return {
      decision: {
        decision: 'allow',
        policy: name,
        rule: allowed.top.name,
        reasons: [allowed.top.decidedReason],
      },
      trace,
    };
  }
  if (allows.length === 0) {
    return {
      decision: {
        decision: 'deny',
        policy: name,
        reasons: [policyReason('no-allow-rules', `policy ${name} has no allow rules`)],
      },
      trace,
    };
  }
  return {
    decision: decideWithoutAllow(
      name,
      allows.map((r) => r.outcome.reason as Reason),
    ),
    trace,
  };
}

function evalNode(node: Node, input: DecisionInput): Outcome {
  switch (node.kind) {
    case 'any': {
      const parts = node.rules.map((r) => evalRule(r, input));
      let reason: Reason | null = null;
      if (!parts.some((p) => p.truth === 'true')) {
        const failures = parts.map((p) => p.reason as Reason);
        reason =
          failures.find((r) => failureClass(r) === STEP_UP) ??
          failures.find((r) => failureClass(r) === UNKNOWN) ??
          (failures[0] as Reason);
      }
      return outcome(node, reason, parts);
    }
    case 'all': {
      const parts = node.rules.map((r) => evalRule(r, input));
      return outcome(node, conjunctionReason(parts), parts);
    }
    case 'not': {
      const inner = evalRule(node.rule, input);
      const reason =
        inner.truth === 'true'
          ? (node.reasons['condition-negated'] as Reason)
          : inner.truth === 'unknown'
            ? inner.reason
            : null;
      return outcome(node, reason, [inner]);
    }
    default:
      return outcome(node, evaluateCriterion(node, input));
  }
}

function evalRule(rule: RuleNode, input: DecisionInput): Outcome {
  const parts = rule.children.map((c) => evalNode(c, input));
  return outcome(rule, conjunctionReason(parts), parts);
}

function conjunctionReason(parts: readonly Outcome[]): Reason | null {
  const reasons = parts.map((p) => p.reason).filter((r): r is Reason => r !== null);
  return (
    reasons.find((r) => failureClass(r) === FALSE) ??
    reasons.find((r) => failureClass(r) === UNKNOWN) ??
    reasons.find((r) => failureClass(r) === STEP_UP) ??
    null
  );
}

function outcome(
  node: { criterion: string; kind: string; describe: string },
  reason: Reason | null,
  parts?: readonly Outcome[],
): Outcome {
  const truth = truthOf(reason);
  return {
    truth,
    reason,
    trace: {
      criterion: node.criterion,
      kind: node.kind,
      describe: node.describe,
      outcome: truth,
      ...(reason ? { reason } : {}),
      ...(parts ? { children: parts.map((p) => p.trace) } : {}),
    },
  };
}
