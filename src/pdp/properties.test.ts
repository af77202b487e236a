/**
 * Property tests of the policy language: random policies over a small vocabulary (so that rules
 * often match) against random inputs. `decide` also asserts, on every case, that the compiled
 * evaluator and the reference interpreter give the same decision and reasons.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DecisionInput } from './input.js';
import { interpret } from './interp/interpret.js';
import type { PolicySyntax, RuleSyntax } from './lang/schema.js';
import { compile, decide } from './test-helpers/decide.js';

const groups = fc.constantFrom('eng', 'hr', 'ops');
const subset = <T>(arb: fc.Arbitrary<T>) => fc.uniqueArray(arb, { minLength: 1, maxLength: 2 });

const criterion: fc.Arbitrary<RuleSyntax> = fc.oneof(
  fc.constant({ public: true as const }),
  fc.constant({ authenticated: true as const }),
  subset(groups).map((g) => ({ groups: g })),
  subset(fc.constantFrom('a@x.io', 'B@x.io', 'u3')).map((u) => ({ users: u })),
  subset(fc.constantFrom('x.io', 'y.io')).map((d) => ({ domains: d })),
  fc.constantFrom('GET', 'POST').map((m) => ({ methods: [m] })),
  subset(fc.constantFrom('/a/**', '/b/*', '/a/c')).map((p) => ({ paths: p })),
  subset(fc.constantFrom('10.0.0.0/8', '2001:db8::/32')).map((s) => ({ source_ip: s })),
  subset(fc.constantFrom('DE', 'US')).map((c) => ({ countries: c })),
  fc
    .record({ min: fc.integer({ min: 0, max: 60 }), max: fc.integer({ min: 60, max: 100 }) })
    .map((risk) => ({ risk })),
  fc.constantFrom<RuleSyntax>(
    { mfa: true },
    { mfa: { max_age: '10m' } },
    { mfa: { methods: ['webauthn'] } },
    { device: {} },
    { device: { managed: true } },
    { device: { tier: 'high' } },
    { device: { posture: { firewall: true } } },
    { device: { posture: { patch: { max: 30 } } } },
    { time: { hours: '09:00-17:00' } },
    { client_cert: true },
    { claims: { level: [1, 2] } },
  ),
);

const merge = (parts: RuleSyntax[]): RuleSyntax => Object.assign({}, ...parts) as RuleSyntax;

const rule: fc.Arbitrary<RuleSyntax> = fc.letrec<{ rule: RuleSyntax }>((tie) => ({
  rule: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.array(criterion, { minLength: 1, maxLength: 3 }).map(merge),
    fc
      .tuple(criterion, fc.array(tie('rule'), { minLength: 1, maxLength: 3 }))
      .map(([c, any]) => ({ ...c, any })),
    fc
      .tuple(criterion, fc.array(tie('rule'), { minLength: 1, maxLength: 2 }))
      .map(([c, all]) => ({ ...c, all })),
    tie('rule').map((not) => ({ not })),
  ),
})).rule;

const policy: fc.Arbitrary<PolicySyntax> = fc.record(
  { allow: fc.array(rule, { maxLength: 3 }), deny: fc.array(rule, { maxLength: 2 }) },
  { requiredKeys: [] },
);

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const input: fc.Arbitrary<DecisionInput> = fc.record({
  user: maybe(
    fc.record({
      id: fc.constantFrom('u1', 'u3', ''),
      email: maybe(fc.constantFrom('a@x.io', 'b@x.io', 'c@y.io', 'bad')),
      groups: maybe(fc.uniqueArray(groups, { maxLength: 3 })),
      claims: maybe(fc.record({ level: fc.constantFrom<unknown>(1, 2, '1', [2, 3]) })),
    }),
  ),
  session: maybe(
    fc.record({
      mfa: maybe(
        fc.record({
          methods: fc.uniqueArray(fc.constantFrom('totp', 'webauthn'), { maxLength: 2 }),
          at: fc.constantFrom('2026-11-22T10:00:00Z', '2026-11-22T09:00:00Z'),
        }),
      ),
    }),
  ),
  device: maybe(
    fc.record({
      id: fc.constantFrom('d1', ''),
      managed: maybe(fc.boolean()),
      tier: maybe(fc.constantFrom('high', 'low')),
      posture: maybe(
        fc.record(
          { firewall: maybe(fc.boolean()), patch: maybe(fc.constantFrom(3, 31, 30)) },
          { requiredKeys: [] },
        ),
      ),
    }),
  ),
  request: maybe(
    fc.record(
      {
        method: fc.constantFrom('GET', 'POST', 'get'),
        path: fc.constantFrom('/a', '/a/c', '/a/x/y', '/b/z', '/b/z/w', '/', '//a', '/a/../b'),
        source_ip: fc.constantFrom('10.1.2.3', '::ffff:10.9.9.9', '2001:db8::5', '192.0.2.1'),
        country: fc.constantFrom('DE', 'US', 'FR'),
        time: fc.constantFrom('2026-11-22T10:05:00Z', '2026-11-22T20:00:00Z', 'garbage'),
      },
      { requiredKeys: [] },
    ),
  ),
  risk: maybe(fc.record({ score: fc.constantFrom(0, 59, 60, 61, 100) })),
  client_cert: maybe(fc.record({ fingerprint: fc.constantFrom('ab'.repeat(32)) })),
});

const runs = { numRuns: 400 };

describe('policy language properties', () => {
  it('the compiled evaluator agrees with the reference interpreter', () => {
    fc.assert(
      fc.property(policy, fc.array(input, { minLength: 1, maxLength: 5 }), (p, inputs) => {
        const { compiled } = compile(p);
        for (const i of inputs) decide(compiled, i);
      }),
      runs,
    );
  });

  it('an empty policy, or one whose allow rules do not hold, never allows', () => {
    fc.assert(
      fc.property(input, (i) => {
        assert.equal(decide({}, i).decision, 'deny');
        assert.equal(decide({ allow: [] }, i).decision, 'deny');
      }),
      runs,
    );
    fc.assert(
      fc.property(policy, input, (p, i) => {
        const { compiled } = compile(p);
        const holds = interpret(compiled.ast, i).trace.some(
          (r) => r.effect === 'allow' && r.outcome === 'true',
        );
        if (!holds) assert.notEqual(decide(compiled, i).decision, 'allow');
      }),
      runs,
    );
  });

  it('adding a deny rule never turns a non-allow into an allow', () => {
    fc.assert(
      fc.property(policy, rule, input, (p, extra, i) => {
        const before = decide(p, i).decision;
        const after = decide({ ...p, deny: [...(p.deny ?? []), extra] }, i).decision;
        if (before !== 'allow') assert.notEqual(after, 'allow');
      }),
      runs,
    );
  });

  it('not: {not: X} has the truth of X', () => {
    fc.assert(
      fc.property(rule, input, (x, i) => {
        const plain = compile({ allow: [x] }).compiled;
        const doubled = compile({ allow: [{ not: { not: x } }] }).compiled;
        const truth = (c: typeof plain) => interpret(c.ast, i).trace[0]?.outcome;
        assert.equal(truth(doubled), truth(plain));
        assert.equal(
          decide(doubled, i).decision === 'allow',
          decide(plain, i).decision === 'allow',
        );
      }),
      runs,
    );
  });

  it('the reasons always name the rule that decided', () => {
    fc.assert(
      fc.property(policy, input, (p, i) => {
        const d = decide(p, i);
        const first = d.reasons[0];
        assert.ok(first, 'a decision always has a reason');
        if (d.decision === 'allow' || first.code === 'rule-denied') {
          assert.ok(d.rule);
          assert.equal(first.rule, d.rule);
          assert.equal(d.rule.startsWith(d.decision === 'allow' ? 'allow[' : 'deny['), true);
        } else if (first.code !== 'no-allow-rules' && first.code !== 'input-invalid') {
          assert.deepEqual(
            d.reasons.map((r) => r.rule),
            (p.allow ?? []).map((_, k) => `allow[${k}]`),
          );
        }
      }),
      runs,
    );
  });
});
