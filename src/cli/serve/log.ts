/**
 * The server's own log: one JSON object per line on stderr (`time`, `level`, `code`, `msg` and
 * fields), the same shape the proxy writes, so one parser reads both. Never a secret: callers pass
 * codes, messages and identifiers only.
 */
import { formatProblem, ProblemsError, ZtError } from '../../shared/errors.js';

/** An error as one log message: every config problem with its file:line:col, or `code: message`. */
export function describeError(err: unknown): string {
  if (err instanceof ProblemsError) return err.problems.map(formatProblem).join('\n');
  if (err instanceof ZtError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export type Fields = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

export interface ServeLog {
  info(code: string, message: string, fields?: Fields): void;
  warn(code: string, message: string, fields?: Fields): void;
  error(code: string, message: string, fields?: Fields): void;
  /** a line another component already formatted (the proxy's) */
  raw(line: string): void;
}

export function createServeLog(
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): ServeLog {
  const emit = (level: string, code: string, msg: string, fields?: Fields): void => {
    write(JSON.stringify({ time: new Date().toISOString(), level, code, msg, ...fields }));
  };
  return {
    info: (code, msg, fields) => emit('info', code, msg, fields),
    warn: (code, msg, fields) => emit('warn', code, msg, fields),
    error: (code, msg, fields) => emit('error', code, msg, fields),
    raw: write,
  };
}
