/**
 * What the YAML editors (one policy, the routes) share: parsing with positions, the check as you
 * type (syntax in the browser at once, the server's full check after a pause) and the list of
 * problems with their line numbers.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { LineCounter, parseDocument } from 'yaml';
import { ApiError, type ConfigProblem } from '../api';

export interface LocalProblem {
  readonly message: string;
  readonly line?: number | undefined;
  readonly col?: number | undefined;
  readonly path?: string | undefined;
  readonly severity: 'error' | 'warning';
}

export interface Parsed {
  readonly value: unknown;
  readonly problems: readonly LocalProblem[];
  /** where a path into the document is written in the text (the nearest enclosing node) */
  locate(path: readonly (string | number)[]): { line: number; col: number } | undefined;
}

export function parseYaml(text: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: LocalProblem[] = [...doc.errors, ...doc.warnings].map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return {
      message: e.message.split('\n')[0] ?? e.message,
      line: pos.line,
      col: pos.col,
      severity: doc.errors.includes(e) ? 'error' : 'warning',
    };
  });
  return {
    value: doc.errors.length === 0 ? (doc.toJS() as unknown) : undefined,
    problems,
    locate(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] };
        if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]);
      }
      return undefined;
    },
  };
}

/**
 * The part of a server problem's JSON pointer that is inside the edited text:
 * `/policies/<name>/allow/0` with `skip` 2 -> `["allow", 0]`; `/routes/1/from` with `skip` 1 ->
 * `[1, "from"]`. Undefined when the pointer is about another part of the document.
 */
export function pointerPath(
  pointer: string | undefined,
  top: string,
  skip: number,
): (string | number)[] | undefined {
  if (!pointer) return undefined;
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (parts[0] !== top) return undefined;
  return parts.slice(skip).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * Checks `parsed` as it changes: its syntax problems at once, then (when the syntax is sound)
 * `check(value)` on the server after 300 ms, its problems placed on lines by `toPath`. An answer
 * to an older text is dropped.
 */
export function useLiveCheck(
  parsed: Parsed | undefined,
  check: (value: unknown) => Promise<{ problems: readonly ConfigProblem[] }>,
  toPath: (pointer: string | undefined) => (string | number)[] | undefined,
  deps: readonly unknown[],
): { problems: readonly LocalProblem[]; checking: boolean } {
  const [problems, setProblems] = useState<readonly LocalProblem[]>([]);
  const [checking, setChecking] = useState(false);
  const seq = useRef(0);
  useEffect(() => {
    if (!parsed) return;
    const mine = ++seq.current;
    if (parsed.problems.some((p) => p.severity === 'error')) {
      setProblems(parsed.problems);
      setChecking(false);
      return;
    }
    setChecking(true);
    const timer = setTimeout(() => {
      check(parsed.value).then(
        (r) => {
          if (mine !== seq.current) return;
          setChecking(false);
          setProblems([
            ...parsed.problems,
            ...r.problems.map((p) => {
              const path = toPath(p.pointer);
              const at = path ? parsed.locate(path) : undefined;
              return {
                message: p.message,
                severity: p.severity,
                path: p.path,
                line: at?.line,
                col: at?.col,
              };
            }),
          ]);
        },
        (e: unknown) => {
          if (mine !== seq.current) return;
          setChecking(false);
          const list = e instanceof ApiError ? (e.problem.problems ?? []) : [];
          setProblems(
            list.length > 0
              ? list.map((p) => ({ message: p.message, severity: p.severity, path: p.path }))
              : [{ message: e instanceof Error ? e.message : 'check failed', severity: 'error' }],
          );
        },
      );
    }, 300);
    return () => clearTimeout(timer);
  }, [parsed, ...deps]);
  return { problems, checking };
}

export function ProblemList(props: {
  readonly id: string;
  readonly checking: boolean;
  readonly problems: readonly LocalProblem[];
}): JSX.Element {
  return (
    <div id={props.id} class="problems" aria-live="polite">
      {props.checking ? (
        <p class="muted">Checking…</p>
      ) : props.problems.length === 0 ? (
        <p class="ok">No problems.</p>
      ) : (
        <ul>
          {props.problems.map((p, i) => (
            <li key={i} class={p.severity}>
              {p.line !== undefined ? (
                <span class="pos">
                  line {p.line}
                  {p.col !== undefined ? `:${p.col}` : ''}
                </span>
              ) : null}{' '}
              {p.path ? <code>{p.path}</code> : null} {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
