/**
 * The policy corpus (test/corpus/*.yaml, in the `ztgate policy test` format) run against the
 * compiled evaluator and the reference interpreter: both must give the expected decision, and the
 * same decision and reasons as each other.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { caseHolds, loadPolicyTestFile } from '../../src/cli/policy-test.js';
import { interpret } from '../../src/pdp/index.js';

const dir = join(import.meta.dirname, '..', 'corpus');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('policy corpus', () => {
  it('has corpus files', () => assert.ok(files.length > 0));
  for (const f of files) {
    describe(f, () => {
      const loaded = loadPolicyTestFile(join(dir, f));
      for (const c of loaded.cases) {
        it(c.name, () => {
          const compiled = loaded.engine.policies.policies.get(c.policy);
          assert.ok(compiled, `policy ${c.policy}`);
          const fast = compiled.evaluate(c.input);
          const reference = interpret(compiled.ast, c.input).decision;
          assert.deepEqual(fast, reference, 'compiled and interpreted decisions differ');
          assert.ok(
            caseHolds(c, fast),
            `expected ${c.expect}${c.reason ? ` (${c.reason})` : ''}, got ${JSON.stringify(fast, null, 2)}`,
          );
        });
      }
    });
  }
});
