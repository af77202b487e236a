/**
 * Test helper: compile a policy written as a plain object, evaluate an input with the compiled
 * evaluator AND the reference interpreter, assert they agree, and return the decision.
 */
import assert from 'node:assert/strict';
import { compilePolicy, type CompiledPolicy } from '../compile/compile-policy.js';
import type { Decision } from '../decision.js';
import type { DecisionInput } from '../input.js';
import { interpret } from '../interp/interpret.js';
import { parsePolicy } from '../lang/parse.js';
import { PolicySchema } from '../lang/schema.js';
import type { Problem } from '../../shared/errors.js';

export const noLocation = () => undefined;

/** A policy as a plain object; validated by the schema at run time (tests write literals). */
export type PolicyLiteral = object;

export function compile(
  policy: PolicyLiteral,
  name = 'p',
): { compiled: CompiledPolicy; problems: readonly Problem[] } {
  const syntax = PolicySchema.parse(policy);
  const parsed = parsePolicy(name, syntax, ['policies', name], noLocation);
  return { compiled: compilePolicy(parsed.ast), problems: parsed.problems };
}

/** Problems of a policy (schema-valid) as `code` strings, errors only. */
export function errorsOf(policy: PolicyLiteral): string[] {
  return compile(policy)
    .problems.filter((p) => p.severity === 'error')
    .map((p) => p.code);
}

export function decide(policy: PolicyLiteral | CompiledPolicy, input: DecisionInput): Decision {
  const compiled = isCompiled(policy) ? policy : compile(policy).compiled;
  const fast = compiled.evaluate(input);
  const reference = interpret(compiled.ast, input).decision;
  assert.deepEqual(fast, reference, 'compiled evaluator and reference interpreter disagree');
  return fast;
}

export function verdict(policy: PolicyLiteral | CompiledPolicy, input: DecisionInput): string {
  return decide(policy, input).decision;
}

export function codes(policy: PolicyLiteral | CompiledPolicy, input: DecisionInput): string[] {
  return decide(policy, input).reasons.map((r) => r.code);
}

const T = '2026-11-22T10:05:00Z';

/** The sample input of PRODUCT.md section 3, with overrides. */
export function sample(
  overrides: Partial<Record<keyof DecisionInput, unknown>> = {},
): DecisionInput {
  return {
    user: { id: 'u1', email: 'alice@example.com', groups: ['engineering'], claims: {} },
    session: { id: 's1', mfa: { methods: ['totp'], at: '2026-11-22T10:00:00Z' } },
    device: {
      id: 'd1',
      managed: true,
      tier: 'high',
      posture: { disk_encrypted: true, firewall: true, os_patch_age_days: 3 },
    },
    request: {
      method: 'GET',
      host: 'app.localhost',
      path: '/x',
      source_ip: '203.0.113.9',
      country: 'DE',
      time: T,
    },
    risk: { score: 12, signals: [] },
    ...overrides,
  } as DecisionInput;
}

function isCompiled(p: PolicyLiteral | CompiledPolicy): p is CompiledPolicy {
  return 'evaluate' in p && typeof p.evaluate === 'function';
}
