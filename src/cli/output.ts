/**
 * The one place where errors become command-line messages and exit codes:
 * 0 success, 1 a user error (one clear message, no stack trace), 2 a usage error.
 */
import { InvalidArgumentError } from 'commander';
import { ProblemsError, ZtError, formatProblem } from '../shared/errors.js';

export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_USAGE = 2;

export type OutputFormat = 'text' | 'json';

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: () => Promise<string>;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** Thrown by a command to end with a given exit code after it has printed what it had to say. */
export class ExitRequest extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Prints an error the way every command does and returns the exit code for it. */
export function reportError(err: unknown, io: Io, format: OutputFormat): number {
  if (err instanceof ExitRequest) return err.exitCode;
  if (err instanceof ZtError) {
    const code = err.code === 'ZT_CLI_USAGE' ? EXIT_USAGE : EXIT_USER_ERROR;
    // Scripts read the JSON on stdout; people read stderr, whatever the format.
    if (format === 'json') {
      const problems =
        err instanceof ProblemsError
          ? err.problems
          : [{ code: err.code, severity: 'error', message: err.message, help: err.help }];
      io.stdout(`${JSON.stringify({ ok: false, problems }, null, 2)}\n`);
    }
    if (err instanceof ProblemsError) {
      io.stderr(`${err.problems.map(formatProblem).join('\n')}\n`);
    } else {
      io.stderr(`error ${err.code}: ${err.message}\n${err.help ? `  help: ${err.help}\n` : ''}`);
    }
    return code;
  }
  // A bug, not a user error: say so plainly, keep the stack for the report.
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr(`internal error (please report it): ${detail}\n`);
  return EXIT_USER_ERROR;
}

/**
 * Wraps a command's action: the action returns an exit code (or nothing for 0); any error is
 * printed once, in the command's `--format`, and turned into its exit code.
 */
export async function runCommand(
  io: Io,
  format: OutputFormat | undefined,
  action: () => Promise<number | void> | number | void,
): Promise<void> {
  let code: number;
  try {
    code = (await action()) ?? EXIT_OK;
  } catch (err) {
    code = reportError(err, io, format ?? 'text');
  }
  if (code !== EXIT_OK) throw new ExitRequest(code);
}

/** Parses `--format` (commander option parser); anything but text or json is a usage error. */
export function parseFormat(value: string): OutputFormat {
  if (value === 'text' || value === 'json') return value;
  throw new InvalidArgumentError(`expected \`text\` or \`json\`, not \`${value}\``);
}
