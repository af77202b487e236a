/**
 * zod issues -> Problems with ztgate's codes and words: one problem per unknown key, located at the
 * key, with a "did you mean" drawn from the keys the JSON Schema allows there; "expected X, got Y"
 * for wrong types; one clear message for a union (a criterion that takes a string or a list)
 * instead of zod's list of every branch that failed.
 */
import type { z } from 'zod';
import { DURATION_PATTERN } from '../shared/duration.js';
import { SIZE_PATTERN, SIZE_UNITS } from '../shared/size.js';
import type { ErrorCode, Problem } from '../shared/errors.js';
import type { KeyPath, SourceLocation } from '../shared/source.js';
import { suggest } from '../shared/suggest.js';
import { configJsonSchema, describeAt, knownKeysAt, type JsonSchema } from './json-schema.js';
import { codeText, describeValue, hasKey, orList, problem, valueAt } from './problem.js';

type Issue = z.core.$ZodIssue;

export interface IssueContext {
  /** the data that was validated */
  readonly data: unknown;
  /** the position of the value at a path, or of its nearest ancestor in the document */
  readonly at: (path: KeyPath) => SourceLocation | undefined;
  /** the position of the key that ends a path */
  readonly keyAt: (path: KeyPath) => SourceLocation | undefined;
  /** takes one problem; returns false when no more are wanted */
  readonly add: (p: Problem) => boolean;
  /**
   * The JSON Schema of what was validated, for "did you mean" and "expected ..." (default: the
   * config's). Another YAML format checked with these words passes `z.toJSONSchema(itsSchema, { io: 'input' })`.
   */
  readonly schema?: JsonSchema;
}

const DURATION_REGEX = new RegExp(DURATION_PATTERN).toString();
const SIZE_REGEX = new RegExp(SIZE_PATTERN).toString();
const LIST_KEYS_UP_TO = 24;

/** Turns zod issues into problems; stops as soon as `ctx.add` says it has enough. */
export function issuesToProblems(
  issues: readonly Issue[],
  ctx: IssueContext,
  base: KeyPath = [],
): boolean {
  // A misspelt required key gives "unknown key `polcy`" and "missing key `policy`": say it once.
  const misspelt = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const path = toPath(base, issue.path);
    const known = knownKeysAt(path, ctx.schema ?? configJsonSchema());
    for (const key of issue.keys.slice(0, 200)) {
      const near = suggest(key, known);
      if (near !== undefined) misspelt.add(JSON.stringify([...path, near]));
    }
  }
  for (const issue of issues) {
    if (misspelt.size > 0) {
      const path = toPath(base, issue.path);
      if (
        misspelt.has(JSON.stringify(path)) &&
        isAbsentKey(issue, path, valueAt(ctx.data, path), ctx)
      )
        continue;
    }
    if (!issueToProblems(issue, ctx, base)) return false;
  }
  return true;
}

function toPath(base: KeyPath, path: readonly PropertyKey[]): KeyPath {
  const out: (string | number)[] = [...base];
  for (const p of path) out.push(typeof p === 'number' ? p : String(p));
  return out;
}

function issueToProblems(issue: Issue, ctx: IssueContext, base: KeyPath): boolean {
  const path = toPath(base, issue.path);
  const value = valueAt(ctx.data, path);
  if (isAbsentKey(issue, path, value, ctx)) return ctx.add(typeProblem(path, value, [], ctx));
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(path, ctx.schema ?? configJsonSchema());
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        const near = suggest(key, known);
        const help = near
          ? `did you mean ${codeText(near)}?`
          : known.length === 0
            ? 'this map takes no keys'
            : known.length <= LIST_KEYS_UP_TO
              ? `the keys allowed here are ${orList(known.map((k) => codeText(k)))}`
              : undefined;
        const ok = ctx.add(
          problem('ZT_CONFIG_UNKNOWN_KEY', `unknown key ${codeText(key)}`, {
            help,
            path: keyPath,
            at: ctx.keyAt(keyPath) ?? ctx.at(path),
          }),
        );
        if (!ok) return false;
      }
      return true;
    }
    case 'invalid_type':
      return ctx.add(typeProblem(path, value, issue.expected, ctx));
    case 'invalid_union':
      return unionProblems(issue, path, value, ctx);
    case 'invalid_format': {
      if (issue.format === 'regex' && issue.pattern === DURATION_REGEX) {
        return ctx.add(
          problem('ZT_CONFIG_INVALID_DURATION', `${describeValue(value)} is not a duration`, {
            help: 'write a duration such as `90s`, `30m`, `8h`, `7d` or `1h30m`',
            path,
            at: ctx.at(path),
          }),
        );
      }
      if (issue.format === 'regex' && issue.pattern === SIZE_REGEX) {
        return ctx.add(
          problem('ZT_CONFIG_INVALID_SIZE', `${describeValue(value)} is not a size`, {
            help: sizeHelp(value),
            path,
            at: ctx.at(path),
          }),
        );
      }
      const said = issue.message.startsWith('expected ')
        ? issue.message
        : `expected a value matching ${codeText(issue.pattern ?? issue.format)}`;
      return ctx.add(
        problem('ZT_CONFIG_INVALID_VALUE', `${said}, got ${describeValue(value)}`, {
          path,
          at: ctx.at(path),
        }),
      );
    }
    case 'too_small':
    case 'too_big':
      return ctx.add(sizeProblem(issue, path, value, ctx));
    case 'invalid_value': {
      const values = issue.values;
      const sameType = values.some((v) => typeof v === typeof value);
      const strings = values.filter((v): v is string => typeof v === 'string');
      const near = typeof value === 'string' ? suggest(value, strings) : undefined;
      let help: string | undefined = near ? `did you mean ${codeText(near)}?` : undefined;
      if (values.length === 1 && values[0] === true && value === false) {
        help = 'this key only takes `true`; remove it when you do not want it';
      }
      const expected =
        values.length === 1
          ? codeText(String(values[0]))
          : `one of ${orList(values.map((v) => codeText(String(v))))}`;
      return ctx.add(
        problem(
          sameType ? 'ZT_CONFIG_INVALID_VALUE' : 'ZT_CONFIG_WRONG_TYPE',
          `expected ${expected}, got ${describeValue(value)}`,
          {
            help,
            path,
            at: ctx.at(path),
          },
        ),
      );
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      const said = inner?.message.startsWith('expected ')
        ? inner.message
        : 'the key is not acceptable here';
      const key = path[path.length - 1];
      return ctx.add(
        problem('ZT_CONFIG_INVALID_VALUE', `${codeText(String(key))} is not a valid name here`, {
          help: said,
          path,
          at: ctx.keyAt(path) ?? ctx.at(path),
        }),
      );
    }
    case 'custom': {
      const params = issue.params ?? {};
      const code =
        typeof params.ztCode === 'string'
          ? (params.ztCode as ErrorCode)
          : 'ZT_CONFIG_INVALID_VALUE';
      const help = typeof params.help === 'string' ? params.help : undefined;
      return ctx.add(problem(code, lowerFirst(issue.message), { help, path, at: ctx.at(path) }));
    }
    case 'invalid_element':
    case 'not_multiple_of':
      return ctx.add(
        problem('ZT_CONFIG_INVALID_VALUE', `${lowerFirst(issue.message)}`, {
          path,
          at: ctx.at(path),
        }),
      );
    default: {
      const never: never = issue;
      void never;
      return true;
    }
  }
}

/** What to write instead of a malformed size: the unit it was probably meant to be, or the forms. */
function sizeHelp(value: unknown): string {
  const forms =
    'write a whole number of bytes, or a whole number and a unit: `512KiB`, `10MiB`, `1GB`';
  if (typeof value !== 'string') return forms;
  const m = /^\s*([0-9]+)([.,][0-9]+)?\s*([A-Za-z]+)?\s*$/.exec(value);
  if (!m) return forms;
  if (m[2] !== undefined)
    return `sizes are whole numbers: use a smaller unit, such as \`1536MiB\` for 1.5GiB`;
  const unit = m[3];
  if (unit === undefined) return forms;
  // `10mib` is `10MiB`; `10M` and `10Gi` are binary as nginx and Kubernetes read them.
  const near =
    [unit, `${unit}iB`, `${unit}B`]
      .map((c) => SIZE_UNITS.find((u) => u.toLowerCase() === c.toLowerCase()))
      .find((u) => u !== undefined) ?? suggest(unit, SIZE_UNITS);
  return near
    ? `did you mean ${codeText(`${m[1] ?? ''}${near}`)}? The units are ${SIZE_UNITS.map((u) => `\`${u}\``).join(', ')}`
    : `${forms}; the units are ${SIZE_UNITS.map((u) => `\`${u}\``).join(', ')}`;
}

/** Whether an issue is about a key that is not there at all (a missing required key). */
function isAbsentKey(issue: Issue, path: KeyPath, value: unknown, ctx: IssueContext): boolean {
  const about =
    issue.code === 'invalid_type' ||
    issue.code === 'invalid_value' ||
    issue.code === 'invalid_union';
  return about && value === undefined && path.length > 0 && !hasKey(ctx.data, path);
}

function lowerFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

const ZOD_EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'a boolean',
  array: 'a list',
  object: 'a map',
  record: 'a map',
};

function typeProblem(
  path: KeyPath,
  value: unknown,
  expected: string | readonly string[],
  ctx: IssueContext,
): Problem {
  const fromSchema = describeAt(path, ctx.schema ?? configJsonSchema());
  const fromZod = orList(
    (typeof expected === 'string' ? [expected] : expected).map((e) => ZOD_EXPECTED[e] ?? `a ${e}`),
  );
  const words = fromSchema ?? fromZod;
  const last = path[path.length - 1];
  if (value === undefined && path.length > 0 && !hasKey(ctx.data, path)) {
    const name = typeof last === 'string' ? codeText(last) : `item ${String(last)}`;
    return problem('ZT_CONFIG_MISSING_KEY', `missing key ${name}`, {
      help: `add ${name}: it takes ${words}`,
      path,
      at: ctx.at(path),
    });
  }
  let help: string | undefined;
  if (value === null) {
    help =
      typeof last === 'string'
        ? `give ${codeText(last)} a value, or remove the key`
        : 'give the item a value, or remove it';
  } else if (
    (typeof value === 'number' || typeof value === 'boolean') &&
    /\ba string\b|duration/.test(words) &&
    !/\ba (number|boolean)\b/.test(words)
  ) {
    help = `put the value in quotes to make it a string: ${codeText(`"${String(value)}"`)}`;
  }
  return problem('ZT_CONFIG_WRONG_TYPE', `expected ${words}, got ${describeValue(value)}`, {
    help,
    path,
    at: ctx.at(path),
  });
}

function sizeProblem(
  issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
  path: KeyPath,
  value: unknown,
  ctx: IssueContext,
): Problem {
  const small = issue.code === 'too_small';
  const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
  let message: string;
  if (issue.origin === 'array') {
    message = small
      ? `expected a list of at least ${bound} item${bound === 1 ? '' : 's'}, got ${describeValue(value)}`
      : `expected a list of at most ${bound} items, got ${Array.isArray(value) ? value.length : 'more'}`;
  } else if (issue.origin === 'string') {
    message =
      small && bound === 1
        ? 'expected a non-empty string, got an empty string'
        : `expected ${small ? 'at least' : 'at most'} ${bound} characters, got ${typeof value === 'string' ? value.length : 'a different length'}`;
  } else {
    message = `expected a number ${small ? 'of at least' : 'of at most'} ${bound}, got ${describeValue(value)}`;
  }
  return problem('ZT_CONFIG_INVALID_VALUE', message, { path, at: ctx.at(path) });
}

type UnionIssue = Extract<Issue, { code: 'invalid_union' }>;

/** Whether every issue of a union branch says "this branch is not even the right type". */
function typeMismatch(issues: readonly Issue[]): boolean {
  if (issues.length === 0) return false;
  return issues.every((i) => {
    if (i.path.length > 0) return false;
    if (i.code === 'invalid_type' || i.code === 'invalid_value') return true;
    if (i.code === 'invalid_union')
      return i.errors.length > 0 && i.errors.every((b) => typeMismatch(b));
    return false;
  });
}

/** Whether a branch that failed on type was nevertheless of the value's JS type (`false` for `true`). */
function sameKind(issues: readonly Issue[], value: unknown): boolean {
  return issues.some((i) => {
    if (i.code === 'invalid_value') return i.values.some((v) => typeof v === typeof value);
    if (i.code === 'invalid_union') return i.errors.some((b) => sameKind(b, value));
    return false;
  });
}

function unionProblems(
  issue: UnionIssue,
  path: KeyPath,
  value: unknown,
  ctx: IssueContext,
): boolean {
  const branches = issue.errors;
  // A branch whose issues are not about the type is the one the user meant: report its issues.
  let best: readonly Issue[] | undefined;
  for (const b of branches) {
    if (typeMismatch(b)) continue;
    if (!best || b.length < best.length) best = b;
  }
  if (best) return issuesToProblems(best, ctx, path);

  const expected = describeAt(path, ctx.schema ?? configJsonSchema()) ?? 'another kind of value';
  if (value === undefined && path.length > 0 && !hasKey(ctx.data, path)) {
    return ctx.add(typeProblem(path, value, [], ctx));
  }
  const code: ErrorCode = branches.some((b) => sameKind(b, value))
    ? 'ZT_CONFIG_INVALID_VALUE'
    : 'ZT_CONFIG_WRONG_TYPE';
  let help: string | undefined;
  if (value === null) {
    const last = path[path.length - 1];
    help =
      typeof last === 'string'
        ? `give ${codeText(last)} a value, or remove the key`
        : 'give the item a value, or remove it';
  } else if (value === false && /`true`/.test(expected)) {
    help = 'this key takes `true`, not `false`; remove it when you do not want it';
  }
  return ctx.add(
    problem(code, `expected ${expected}, got ${describeValue(value)}`, {
      help,
      path,
      at: ctx.at(path),
    }),
  );
}
