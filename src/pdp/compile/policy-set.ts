/**
 * Compiles every policy of a config. On reload, a policy whose syntax and source positions did not
 * change is reused from the previous set instead of compiled again (its reasons carry positions,
 * so a policy that merely moved in the file is recompiled to keep them true).
 */
import { createHash } from 'node:crypto';
import type { Problem } from '../../shared/errors.js';
import type { KeyPath, Locate } from '../../shared/source.js';
import { parsePolicy } from '../lang/parse.js';
import type { PolicySyntax } from '../lang/schema.js';
import { compilePolicy, type CompiledPolicy } from './compile-policy.js';

export interface CompiledPolicySet {
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
  /** checksum per policy name, for reuse on the next reload */
  readonly checksums: ReadonlyMap<string, string>;
}

export interface PolicySetCompile {
  readonly set: CompiledPolicySet;
  readonly problems: readonly Problem[];
  /** names of the policies taken unchanged from `previous` */
  readonly reused: readonly string[];
}

export function compilePolicySet(
  policies: Readonly<Record<string, PolicySyntax>>,
  locate: Locate,
  options: { pathOf?: (name: string) => KeyPath; previous?: CompiledPolicySet } = {},
): PolicySetCompile {
  const pathOf = options.pathOf ?? ((name: string) => ['policies', name]);
  const compiled = new Map<string, CompiledPolicy>();
  const checksums = new Map<string, string>();
  const problems: Problem[] = [];
  const reused: string[] = [];
  for (const [name, syntax] of Object.entries(policies)) {
    const path = pathOf(name);
    const sum = checksum(name, syntax, path, locate);
    checksums.set(name, sum);
    const previous = options.previous;
    const old = previous?.checksums.get(name) === sum ? previous.policies.get(name) : undefined;
    if (old) {
      compiled.set(name, old);
      reused.push(name);
      continue;
    }
    const parsed = parsePolicy(name, syntax, path, locate);
    problems.push(...parsed.problems);
    compiled.set(name, compilePolicy(parsed.ast));
  }
  return { set: { policies: compiled, checksums }, problems, reused };
}

/** SHA-256 over the policy's syntax and the source position of every value in it. */
function checksum(name: string, syntax: PolicySyntax, path: KeyPath, locate: Locate): string {
  const hash = createHash('sha256');
  hash.update(name);
  hash.update('\0');
  hash.update(JSON.stringify(syntax));
  const stack: [unknown, KeyPath][] = [[syntax, path]];
  while (stack.length > 0) {
    const [value, at] = stack.pop() as [unknown, KeyPath];
    const loc = locate(at);
    if (loc) hash.update(`${loc.file}:${loc.line}:${loc.col};`);
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Array.isArray(value)
        ? value.entries()
        : Object.entries(value as Record<string, unknown>)) {
        stack.push([v, [...at, k]]);
      }
    }
  }
  return hash.digest('hex');
}
