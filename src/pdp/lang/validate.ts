/**
 * Structural validation of a policy that did not come through the config loader (an API body, a
 * test file): a depth guard first, so hostile nesting cannot overflow the stack in the schema
 * validator, then the schema. The config loader has its own, richer mapping of schema issues.
 */
import { depthExceeds } from '../../shared/depth.js';
import type { Problem } from '../../shared/errors.js';
import type { KeyPath, Locate } from '../../shared/source.js';
import { suggest } from '../../shared/suggest.js';
import { COMBINATOR_KEYS, CRITERION_KEYS, PolicySchema, type PolicySyntax } from './schema.js';

/** Nesting of plain objects and lists allowed in a policy document (combinators allow 32 levels). */
export const MAX_DOCUMENT_DEPTH = 100;

const RULE_KEYS = [...CRITERION_KEYS, ...COMBINATOR_KEYS];

export function validatePolicySyntax(
  value: unknown,
  path: KeyPath,
  locate: Locate,
): { syntax: PolicySyntax | undefined; problems: Problem[] } {
  const problem = (code: Problem['code'], message: string, at: KeyPath, help?: string): Problem => {
    const loc = locate(at);
    return {
      code,
      severity: 'error',
      message,
      path: at,
      ...(loc ? { at: loc } : {}),
      ...(help ? { help } : {}),
    };
  };
  if (depthExceeds(value, MAX_DOCUMENT_DEPTH)) {
    return {
      syntax: undefined,
      problems: [
        problem(
          'ZT_CONFIG_TOO_DEEP',
          `the policy nests more than ${MAX_DOCUMENT_DEPTH} levels deep`,
          path,
        ),
      ],
    };
  }
  const result = PolicySchema.safeParse(value);
  if (result.success) return { syntax: result.data, problems: [] };
  const problems = result.error.issues.flatMap((issue): Problem[] => {
    const at = [...path, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      const inRule = issue.path.length > 0;
      return issue.keys.map((key) => {
        const near = suggest(key, inRule ? RULE_KEYS : ['allow', 'deny', 'description']);
        return problem(
          'ZT_CONFIG_UNKNOWN_KEY',
          `unknown key \`${key.slice(0, 100)}\``,
          [...at, key],
          near ? `did you mean \`${near}\`?` : undefined,
        );
      });
    }
    if (issue.code === 'invalid_type')
      return [problem('ZT_CONFIG_WRONG_TYPE', issue.message.toLowerCase(), at)];
    return [problem('ZT_CONFIG_INVALID_VALUE', issue.message.toLowerCase(), at)];
  });
  return { syntax: undefined, problems };
}
