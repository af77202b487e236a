import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import type { Problem } from '../shared/errors.js';
import { issuesToProblems } from './issues.js';

describe('issuesToProblems', () => {
  test('works for another YAML format given its JSON Schema', () => {
    const Schema = z.strictObject({
      cases: z.array(z.strictObject({ expect: z.enum(['allow', 'deny']) })),
    });
    const data = { cases: [{ expct: 'allow' }] };
    const result = Schema.safeParse(data);
    assert.ok(!result.success);
    const problems: Problem[] = [];
    issuesToProblems(result.error.issues, {
      data,
      at: () => undefined,
      keyAt: () => undefined,
      add: (p) => problems.push(p) < 100,
      schema: z.toJSONSchema(Schema, { io: 'input' }),
    });
    assert.deepEqual(
      problems.map((p) => [p.code, p.path, p.help]),
      [['ZT_CONFIG_UNKNOWN_KEY', ['cases', 0, 'expct'], 'did you mean `expect`?']],
    );
  });

  test('stops when add says it has enough', () => {
    const Schema = z.array(z.string());
    const data = [1, 2, 3, 4, 5];
    const result = Schema.safeParse(data);
    assert.ok(!result.success);
    const problems: Problem[] = [];
    const complete = issuesToProblems(result.error.issues, {
      data,
      at: () => undefined,
      keyAt: () => undefined,
      add: (p) => problems.push(p) < 2,
    });
    assert.equal(complete, false);
    assert.equal(problems.length, 2);
  });
});
