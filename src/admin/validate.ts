/** Zod validation of parameters and bodies, with every issue reported as a located problem. */
import type { z } from 'zod';
import { AdminError, jsonPointer, type DocumentProblem } from './problem.js';
import { formatKeyPath } from '../shared/source.js';

const MAX_ISSUES = 20;

/** Parses `value` with `schema`; a failure is a 400 naming every issue (at most 20). */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems: DocumentProblem[] = r.error.issues.slice(0, MAX_ISSUES).map((i) => {
    const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
    return {
      code: 'ZT_ADMIN_REQUEST_INVALID',
      severity: 'error',
      message: issueMessage(i),
      ...(path.length > 0 ? { path: formatKeyPath(path), pointer: jsonPointer(path) } : {}),
    };
  });
  const first = problems[0];
  throw new AdminError(
    'ZT_ADMIN_REQUEST_INVALID',
    `the ${where} is not valid${first ? `: ${first.path ? `\`${first.path}\`: ` : ''}${first.message}` : ''}`,
    { problems },
  );
}

/** Zod's wording, without echoing long input back. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys
      .slice(0, 5)
      .map((k) => `\`${k.slice(0, 64)}\``)
      .join(', ')}`;
  }
  return issue.message.length > 200 ? `${issue.message.slice(0, 200)}…` : issue.message;
}
