/** Small helpers to build Problems the same way everywhere in the config component. */
import type { ErrorCode, Problem, Severity } from '../shared/errors.js';
import type { KeyPath, SourceLocation } from '../shared/source.js';

export interface ProblemOptions {
  readonly severity?: Severity;
  readonly help?: string | undefined;
  readonly path?: KeyPath | undefined;
  readonly at?: SourceLocation | undefined;
}

/** The longest piece of user input quoted in a message; longer input is cut with `…`. */
const MAX_QUOTE = 80;
/** The longest key kept whole in a problem's key path. */
const MAX_PATH_SEGMENT = 256;

export function problem(code: ErrorCode, message: string, options: ProblemOptions = {}): Problem {
  const out: {
    code: ErrorCode;
    severity: Severity;
    message: string;
    help?: string;
    path?: KeyPath;
    at?: SourceLocation;
  } = { code, severity: options.severity ?? 'error', message };
  if (options.help !== undefined) out.help = options.help;
  if (options.path !== undefined) out.path = clipPath(options.path);
  if (options.at !== undefined) out.at = options.at;
  return out;
}

export function warning(
  code: ErrorCode,
  message: string,
  options: Omit<ProblemOptions, 'severity'> = {},
): Problem {
  return problem(code, message, { ...options, severity: 'warning' });
}

/** A path with absurdly long keys shortened, so a message stays readable. */
function clipPath(path: KeyPath): KeyPath {
  if (!path.some((p) => typeof p === 'string' && p.length > MAX_PATH_SEGMENT)) return path;
  return path.map((p) =>
    typeof p === 'string' && p.length > MAX_PATH_SEGMENT ? `${p.slice(0, MAX_PATH_SEGMENT)}…` : p,
  );
}

/** User input in backticks, cut to a readable length; control characters and backticks escaped. */
export function codeText(value: string): string {
  let s = value.length > MAX_QUOTE ? `${value.slice(0, MAX_QUOTE)}…` : value;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f`]/.test(s))
    s = JSON.stringify(s).slice(1, -1).replaceAll('`', '\\u0060');
  return `\`${s}\``;
}

/** Words for a value a user wrote: `a list`, `a map`, `the number `5``, `an empty value`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'string') {
    return value === '' ? 'an empty string' : `the string ${codeText(value)}`;
  }
  if (typeof value === 'number') return `the number ${codeText(String(value))}`;
  if (typeof value === 'boolean') return codeText(String(value));
  if (typeof value === 'object') return 'a map';
  return `a ${typeof value}`;
}

/** The value at a key path in plain data, or undefined. */
export function valueAt(data: unknown, path: KeyPath): unknown {
  let cur = data;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    if (Array.isArray(cur)) {
      if (typeof seg !== 'number') return undefined;
      cur = cur[seg];
    } else {
      const key = String(seg);
      if (!Object.hasOwn(cur, key)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    }
  }
  return cur;
}

/** Whether the map at `path[:-1]` holds the key `path[-1]`. */
export function hasKey(data: unknown, path: KeyPath): boolean {
  if (path.length === 0) return true;
  const parent = valueAt(data, path.slice(0, -1));
  const last = path[path.length - 1];
  if (typeof parent !== 'object' || parent === null || last === undefined) return false;
  if (Array.isArray(parent)) return typeof last === 'number' && last < parent.length;
  return Object.hasOwn(parent, String(last));
}

/** `a`, `a` or `b`, `a`, `b` or `c` */
export function orList(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1] ?? ''}`;
}
