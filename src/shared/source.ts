/** Where a value came from: a file position, or an environment variable that overrode it. */
export interface SourceLocation {
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly col: number;
  /** set when the value came from an environment variable rather than the file */
  readonly env?: string;
}

/** A key path inside a document: `['routes', 0, 'policy']`. */
export type KeyPath = readonly (string | number)[];

/** Looks up the position of a key path; undefined when the path is not in the document. */
export type Locate = (path: KeyPath) => SourceLocation | undefined;

export function formatLocation(loc: SourceLocation | undefined): string {
  if (!loc) return '';
  if (loc.env) return `env ${loc.env}`;
  return `${loc.file}:${loc.line}:${loc.col}`;
}

/** `['routes', 0, 'policy']` -> `routes[0].policy` */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}
