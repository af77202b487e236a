/**
 * `paths: [/api/**, /files/*.pdf]` — the normalized request path matches one of these globs
 * (`*` within a segment, `**` across segments; linear time).
 *
 * The PDP refuses to judge a path that is not normalized (dot segments, empty segments,
 * backslashes, control characters): the glob `/admin/**` says nothing about `//admin/x` or
 * `/a/../admin/x`, and a deny rule that does not match such a path would otherwise be bypassed.
 * The PEP normalizes before it asks; anything else reaching here is a bug or an attack.
 */
import type { Reason } from '../decision.js';
import type { DecisionInput } from '../input.js';
import type { Criterion } from '../lang/ast.js';
import {
  asList,
  child,
  listText,
  locationOf,
  makeReasons,
  report,
  type ParseContext,
  type Place,
} from '../lang/context.js';
import { GlobSet } from '../match/glob.js';
import { requestField } from './facts.js';

export type PathsNode = Extract<Criterion, { kind: 'paths' }>;

export function parsePaths(value: unknown, place: Place, ctx: ParseContext): Criterion[] {
  const patterns = asList(value as string | string[]);
  const placeOf = (i: number) => (Array.isArray(value) ? child(place, i) : place);
  let ok = true;
  patterns.forEach((p, i) => {
    if (!p.startsWith('/')) {
      ok = false;
      report(
        ctx,
        placeOf(i).path,
        'ZT_POLICY_INVALID_GLOB',
        `path pattern \`${p.slice(0, 200)}\` must start with \`/\``,
        `write \`/${p.slice(0, 200)}\``,
      );
    }
  });
  const { set, errors } = GlobSet.compile(patterns);
  for (const e of errors) {
    ok = false;
    report(ctx, placeOf(e.index).path, 'ZT_POLICY_INVALID_GLOB', e.message);
  }
  if (!ok) return [];
  return [
    {
      kind: 'paths',
      globs: set,
      criterion: place.criterion,
      at: locationOf(ctx, place),
      describe: `path ${listText(patterns)}`,
      reasons: makeReasons(ctx, place, {
        'input-missing': 'the request path is unknown',
        'path-not-allowed': 'this path is not allowed',
      }),
    },
  ];
}

export function evaluatePaths(node: PathsNode, input: DecisionInput): Reason | null {
  const path = requestField(input, 'path');
  if (path === undefined) return node.reasons['input-missing'] ?? null;
  return node.globs.matches(path) ? null : (node.reasons['path-not-allowed'] ?? null);
}

/**
 * A normalized path: starts with `/`; no empty segment except a trailing slash; no `.` or `..`
 * segment; no `\`; no ASCII control character or DEL.
 */
export function isNormalizedPath(path: string): boolean {
  const n = path.length;
  if (n === 0 || path.charCodeAt(0) !== 47) return false;
  let segStart = 1;
  for (let i = 1; i <= n; i++) {
    const c = i < n ? path.charCodeAt(i) : 47;
    if (c < 32 || c === 127 || c === 92) return false;
    if (c === 47) {
      const len = i - segStart;
      if (len === 0 && i < n) return false; // `//` (a trailing `/` is fine)
      if (len === 1 && path.charCodeAt(segStart) === 46) return false;
      if (len === 2 && path.charCodeAt(segStart) === 46 && path.charCodeAt(segStart + 1) === 46)
        return false;
      segStart = i + 1;
    }
  }
  return true;
}
