/**
 * What every collector works with: an injected command runner and file reader (so tests replay
 * recorded outputs), a clock, and limits. A collector never throws: what it cannot find it leaves
 * out and says why in `unavailable`.
 */
import type { PostureValue } from '../../../pdp/input.js';

export interface CommandResult {
  /** the exit code; null when the process was killed or never ran */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** set when the command could not run or finish: `not installed`, `timed out after 5000 ms`, ... */
  readonly error?: string;
}

export interface RunOptions {
  readonly timeoutMs?: number;
  /** extra environment variables (the runner always sets `LC_ALL=C`) */
  readonly env?: Readonly<Record<string, string>>;
}

export type CommandRunner = (
  command: string,
  args: readonly string[],
  options?: RunOptions,
) => Promise<CommandResult>;

export interface HostFs {
  /** the file's bytes (at most `maxBytes`), or undefined when it cannot be read */
  readFile(path: string, maxBytes?: number): Promise<Buffer | undefined>;
  /** entry names, or undefined when the directory cannot be read */
  readDir(path: string): Promise<readonly string[] | undefined>;
  /** modification time in ms, or undefined */
  mtime(path: string): Promise<number | undefined>;
}

export type Platform = 'linux' | 'macos' | 'windows';

export interface CollectorContext {
  readonly platform: Platform;
  readonly run: CommandRunner;
  readonly fs: HostFs;
  readonly now: () => number;
  /** per command */
  readonly commandTimeoutMs: number;
  readonly edrProcesses: readonly string[];
  readonly agentVersion: string;
  /** the kernel release (`os.release()`) */
  readonly kernelRelease: () => string;
  /** the agent's uid (undefined on Windows) */
  readonly uid: number | undefined;
}

export interface Collected {
  readonly attributes: Readonly<Record<string, PostureValue>>;
  readonly unavailable: Readonly<Record<string, string>>;
}

export interface Collector {
  readonly name: string;
  /** the attributes it may produce: each is either in `attributes` or in `unavailable` afterwards */
  readonly provides: readonly string[];
  collect(ctx: CollectorContext): Promise<Collected>;
}

/** One attribute, or the reason it is missing. */
export type Outcome<T extends PostureValue> = { readonly value: T } | { readonly reason: string };

export function value<T extends PostureValue>(v: T): Outcome<T> {
  return { value: v };
}

export function reason(why: string): { readonly reason: string } {
  return { reason: why };
}

export function isValue<T extends PostureValue>(o: Outcome<T>): o is { readonly value: T } {
  return 'value' in o;
}

/** A `Collected` from named outcomes. */
export function collected(outcomes: Readonly<Record<string, Outcome<PostureValue>>>): Collected {
  const attributes: Record<string, PostureValue> = {};
  const unavailable: Record<string, string> = {};
  for (const [name, o] of Object.entries(outcomes)) {
    if (isValue(o)) attributes[name] = o.value;
    else unavailable[name] = o.reason;
  }
  return { attributes, unavailable };
}

/** Why a command result is not usable, or undefined when it ran and exited 0. */
export function commandFailure(command: string, r: CommandResult): string | undefined {
  if (r.error) return `\`${command}\` ${r.error}`;
  if (r.code !== 0) {
    const detail = firstLine(r.stderr) || firstLine(r.stdout);
    return `\`${command}\` exited with ${r.code ?? 'a signal'}${detail ? `: ${detail}` : ''}`;
  }
  return undefined;
}

export function firstLine(text: string, max = 120): string {
  const line =
    text
      .split(/\r?\n/)
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** Whole days from `then` to `now`, never negative. */
export function daysSince(then: number, now: number): number {
  return Math.max(0, Math.floor((now - then) / 86_400_000));
}
