/**
 * Compiles a policy AST to closures. The hot path allocates nothing when access is allowed or a
 * deny rule matches (those decisions are built once, here, and frozen); a non-allow outcome
 * allocates only its list of reasons.
 *
 * Semantics are those of the reference interpreter (../interp/interpret.ts), which the tests
 * compare against on a corpus and on random policies: the compiler may only be faster, never
 * different. It short-circuits where the interpreter evaluates everything.
 */
import type { Decision, Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion, Node, PolicyAst, RuleNode } from '../lang/ast.js';
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

/** null when the node holds; else the reason it does not. */
export type Check = (input: DecisionInput) => Reason | null;

export interface CompiledPolicy {
  readonly name: string;
  readonly ast: PolicyAst;
  evaluate(input: DecisionInput): Decision;
}

export function compilePolicy(ast: PolicyAst): CompiledPolicy {
  const name = ast.name;
  const denyChecks = ast.deny.map((r) => compileRule(r.node));
  const denyDecisions = ast.deny.map((r) =>
    freezeDecision({ decision: 'deny', policy: name, rule: r.name, reasons: [r.decidedReason] }),
  );
  const allowChecks = ast.allow.map((r) => compileRule(r.node));
  const allowDecisions = ast.allow.map((r) =>
    freezeDecision({ decision: 'allow', policy: name, rule: r.name, reasons: [r.decidedReason] }),
  );
  const noAllow = freezeDecision({
    decision: 'deny',
    policy: name,
    reasons: [policyReason('no-allow-rules', `policy ${name} has no allow rules`)],
  });
  const badPath = freezeDecision({
    decision: 'deny',
    policy: name,
    reasons: [policyReason('input-invalid', 'the request path is not in normalized form')],
  });
  const failed = freezeDecision({
    decision: 'deny',
    policy: name,
    reasons: [
      policyReason('evaluation-error', 'the policy could not be evaluated; access is denied'),
    ],
  });
  const usesPath = ast.usesPath;
  const nDeny = denyChecks.length;
  const nAllow = allowChecks.length;

  function evaluate(input: DecisionInput): Decision {
    try {
      if (usesPath) {
        const path = input.request?.path;
        if (typeof path === 'string' && !isNormalizedPath(path)) return badPath;
      }
      for (let k = 0; k < nDeny; k++) {
        if ((denyChecks[k] as Check)(input) === null) return denyDecisions[k] as Decision;
      }
      if (nAllow === 0) return noAllow;
      const reasons: Reason[] = [];
      for (let k = 0; k < nAllow; k++) {
        const r = (allowChecks[k] as Check)(input);
        if (r === null) return allowDecisions[k] as Decision;
        reasons.push(r);
      }
      return decideWithoutAllow(name, reasons);
    } catch {
      // Any evaluation error is a deny: the opposite of skipping a failing policy.
      return failed;
    }
  }
  return { name, ast, evaluate };
}

function freezeDecision(d: Decision): Decision {
  Object.freeze(d.reasons);
  return Object.freeze(d);
}

type Evaluator = (node: Criterion, input: DecisionInput) => Reason | null;

function compileNode(node: Node): Check {
  switch (node.kind) {
    case 'any':
      return compileAny(node.rules.map(compileRule));
    case 'all':
      return compileAnd(node.rules.map(compileRule));
    case 'not': {
      const inner = compileRule(node.rule);
      const negated = node.reasons['condition-negated'] as Reason;
      return (input) => {
        const r = inner(input);
        if (r === null) return negated;
        return failureClass(r) === UNKNOWN ? r : null;
      };
    }
    default: {
      const evaluator: Evaluator = evaluateCriterion;
      return (input) => evaluator(node, input);
    }
  }
}

function compileRule(rule: RuleNode): Check {
  return compileAnd(rule.children.map(compileNode));
}

/**
 * AND: the lowest outcome in the order false < unknown < step-up < true. The first plain failure
 * decides at once; unknown and step-up outcomes are remembered while the rest run.
 */
function compileAnd(checks: readonly Check[]): Check {
  if (checks.length === 1) return checks[0] as Check;
  const n = checks.length;
  return (input) => {
    let stepUp: Reason | null = null;
    let unknown: Reason | null = null;
    for (let k = 0; k < n; k++) {
      const r = (checks[k] as Check)(input);
      if (r === null) continue;
      const c = failureClass(r);
      if (c === FALSE) return r;
      if (c === STEP_UP) stepUp ??= r;
      else unknown ??= r;
    }
    return unknown ?? stepUp;
  };
}

/** OR: the highest outcome in the order false < unknown < step-up < true. */
function compileAny(checks: readonly Check[]): Check {
  if (checks.length === 1) return checks[0] as Check;
  const n = checks.length;
  return (input) => {
    let first: Reason | null = null;
    let stepUp: Reason | null = null;
    let unknown: Reason | null = null;
    for (let k = 0; k < n; k++) {
      const r = (checks[k] as Check)(input);
      if (r === null) return null;
      first ??= r;
      const c = failureClass(r);
      if (c === STEP_UP) stepUp ??= r;
      else if (c === UNKNOWN) unknown ??= r;
    }
    return stepUp ?? unknown ?? first;
  };
}
