/** Helpers for the config tests: load text and get its problems, find one, print them. */
import assert from 'node:assert/strict';
import { ProblemsError, formatProblem, type ErrorCode, type Problem } from '../../shared/errors.js';
import { formatKeyPath } from '../../shared/source.js';
import { loadConfigText, type LoadOptions } from '../load.js';

/** Loads text that must fail; returns every problem of the ProblemsError. */
export function problemsOf(
  text: string,
  options: LoadOptions = {},
  file = 'ztgate.yaml',
): readonly Problem[] {
  try {
    loadConfigText(text, file, { env: {}, ...options });
  } catch (err) {
    if (err instanceof ProblemsError) return err.problems;
    throw err;
  }
  assert.fail(`expected the config to fail:\n${text}`);
}

export function show(problems: readonly Problem[]): string {
  return problems.map((p) => formatProblem(p)).join('\n');
}

/** The one problem with this code (and key path, when given); fails with every problem shown. */
export function findProblem(problems: readonly Problem[], code: ErrorCode, path?: string): Problem {
  const found = problems.filter(
    (p) => p.code === code && (path === undefined || formatKeyPath(p.path ?? []) === path),
  );
  assert.equal(
    found.length,
    1,
    `expected one ${code}${path ? ` at ${path}` : ''} in:\n${show(problems)}`,
  );
  const p = found[0];
  assert.ok(p);
  return p;
}

/** Asserts a problem's position as `line:col`. */
export function assertAt(p: Problem, line: number, col: number, file = 'ztgate.yaml'): void {
  assert.deepEqual(p.at, { file, line, col }, `position of: ${formatProblem(p)}`);
}
