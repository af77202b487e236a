/**
 * Hostile and malformed policies and inputs: each gives a clear error or a bounded-time result,
 * never a crash or a hang.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validatePolicySyntax } from './lang/validate.js';
import type { RuleSyntax } from './lang/schema.js';
import { compile, decide, errorsOf, noLocation, sample } from './test-helpers/decide.js';

const bounded = { timeout: 30_000 };

function validate(value: unknown) {
  return validatePolicySyntax(value, ['policies', 'p'], noLocation);
}

describe('hostile policies', () => {
  it('10,000-deep nesting is refused before it reaches the validator', bounded, () => {
    let rule: unknown = { public: true };
    for (let i = 0; i < 10_000; i++) rule = { not: rule };
    const { syntax, problems } = validate({ allow: [rule] });
    assert.equal(syntax, undefined);
    assert.deepEqual(
      problems.map((p) => p.code),
      ['ZT_CONFIG_TOO_DEEP'],
    );
    let list: unknown = [];
    for (let i = 0; i < 10_000; i++) list = [list];
    assert.deepEqual(
      validate({ allow: list }).problems.map((p) => p.code),
      ['ZT_CONFIG_TOO_DEEP'],
    );
  });

  it('nesting beyond 32 combinators is a clear error', () => {
    let rule: RuleSyntax = { public: true };
    for (let i = 0; i < 40; i++) rule = { not: rule };
    assert.ok(errorsOf({ allow: [rule] }).includes('ZT_POLICY_INVALID_VALUE'));
  });

  it('unknown criteria and wrong types are reported with a suggestion', () => {
    const { problems } = validate({ allow: [{ grups: ['x'] }], deny: 'nope' });
    const byCode = problems.map((p) => [p.code, p.help ?? '']);
    assert.deepEqual(
      byCode.find((p) => p[0] === 'ZT_CONFIG_UNKNOWN_KEY'),
      ['ZT_CONFIG_UNKNOWN_KEY', 'did you mean `groups`?'],
    );
    assert.ok(
      problems.some(
        (p) => p.code === 'ZT_CONFIG_WRONG_TYPE' && p.path?.join('.') === 'policies.p.deny',
      ),
    );
    assert.ok(validate({ allow: [{ mfa: { max_age: 'soon' } }] }).problems.length > 0);
    assert.ok(validate({ allow: [{ risk: { min: '5' } }] }).problems.length > 0);
    assert.ok(validate([]).problems.length > 0);
    assert.ok(validate(null).problems.length > 0);
  });

  it('1,000,000-element lists compile and evaluate', bounded, () => {
    const many = Array.from({ length: 1_000_000 }, (_, i) => `group-${i}`);
    const { compiled } = compile({ allow: [{ groups: many }] });
    assert.equal(
      decide(compiled, sample({ user: { id: 'u', groups: ['group-999999'] } })).decision,
      'allow',
    );
    assert.equal(
      decide(compiled, sample({ user: { id: 'u', groups: ['nope'] } })).decision,
      'deny',
    );
    const nets = Array.from(
      { length: 1_000_000 },
      (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    );
    const cidrs = compile({ allow: [{ authenticated: true, source_ip: nets }] }).compiled;
    assert.equal(
      decide(cidrs, sample({ request: { source_ip: '10.15.66.63' } })).decision,
      'allow',
    );
    assert.equal(decide(cidrs, sample({ request: { source_ip: '10.16.66.63' } })).decision, 'deny');
  });

  it('huge strings give errors or bounded-time answers', bounded, () => {
    const huge = 'a'.repeat(10_000_000);
    assert.equal(
      decide({ allow: [{ groups: [huge] }] }, sample({ user: { id: 'u', groups: [huge] } }))
        .decision,
      'allow',
    );
    assert.ok(errorsOf({ allow: [{ paths: [`/${huge}`] }] }).includes('ZT_POLICY_INVALID_GLOB'));
    assert.ok(errorsOf({ allow: [{ domains: [huge] }] }).includes('ZT_POLICY_INVALID_VALUE'));
    assert.ok(errorsOf({ allow: [{ source_ip: [huge] }] }).includes('ZT_POLICY_INVALID_CIDR'));
    assert.ok(errorsOf({ allow: [{ time: { tz: huge, days: 'mon' } }] }).length > 0);
    const p = {
      allow: [{ authenticated: true, paths: ['/*a*a*a*a*a*a*a*a*b', '/**/**/**/**/x'] }],
    };
    assert.equal(
      decide(p, sample({ request: { path: `/${'a'.repeat(100_000)}` } })).decision,
      'deny',
    );
    assert.equal(
      decide(p, sample({ request: { path: `/${'a/'.repeat(50_000)}y` } })).decision,
      'deny',
    );
    const email = `${'x'.repeat(1_000_000)}@example.com`;
    assert.equal(
      decide({ allow: [{ domains: ['example.com'] }] }, sample({ user: { id: 'u', email } }))
        .decision,
      'allow',
    );
  });
});
