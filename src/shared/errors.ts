import type { ErrorCode } from './error-catalog.js';
import { formatKeyPath, formatLocation, type KeyPath, type SourceLocation } from './source.js';

export type { ErrorCode } from './error-catalog.js';

/**
 * The base of every error ztgate raises on purpose. `code` is stable and documented in
 * docs/errors.md; `message` is lower-case, names user input in backticks and never contains a
 * secret, token or key. `help` says what to do about it.
 */
export class ZtError extends Error {
  readonly code: ErrorCode;
  readonly help: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { help?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ZtError';
    this.code = code;
    this.help = options?.help;
  }
}

export type Severity = 'error' | 'warning';

/**
 * One problem found while checking a config, a policy or a test file. Problems are collected, not
 * thrown at the first, so that a user sees every mistake in one run.
 */
export interface Problem {
  readonly code: ErrorCode;
  readonly severity: Severity;
  readonly message: string;
  readonly help?: string;
  readonly path?: KeyPath;
  readonly at?: SourceLocation;
}

/** Raised when checking found at least one error; carries every problem, warnings included. */
export class ProblemsError extends ZtError {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    const errors = problems.filter((p) => p.severity === 'error');
    const first = errors[0] ?? problems[0];
    super(
      first?.code ?? 'ZT_CONFIG_INVALID_VALUE',
      errors.length === 1 && first ? formatProblem(first) : `${errors.length} errors found`,
    );
    this.name = 'ProblemsError';
    this.problems = problems;
  }
}

/** `ztgate.yaml:12:7: error ZT_CONFIG_UNKNOWN_KEY: unknown key ...` plus a help line. */
export function formatProblem(p: Problem): string {
  const where = formatLocation(p.at);
  const key = p.path && p.path.length > 0 ? ` (at \`${formatKeyPath(p.path)}\`)` : '';
  const head = `${where ? `${where}: ` : ''}${p.severity} ${p.code}: ${p.message}${key}`;
  return p.help ? `${head}\n  help: ${p.help}` : head;
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}
