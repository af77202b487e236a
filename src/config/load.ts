/**
 * Loading ztgate.yaml: read the file (bounded), parse the YAML (hardened, ./yaml.ts), apply the
 * `ZTGATE_*` environment overrides (./env.ts), validate with the schema (./schema.ts, issues worded
 * by ./issues.ts), run the semantic checks (./check.ts), resolve relative paths against the config
 * file's directory and, on request, check the secret files (./secrets.ts).
 *
 * Every problem is collected with its location; on any error a ProblemsError carrying all of them
 * (warnings too) is thrown. Nothing else escapes: no library error, no stack overflow.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ProblemsError, hasErrors, type Problem } from '../shared/errors.js';
import type { KeyPath, Locate, SourceLocation } from '../shared/source.js';
import { parseDuration } from '../shared/duration.js';
import { checkConfig, isAccessLogFile } from './check.js';
import { applyEnv, envLocation, type EnvSource } from './env.js';
import { issuesToProblems } from './issues.js';
import { EVERY_ITEM, fileKeys, schemaAt } from './json-schema.js';
import { codeText, problem } from './problem.js';
import { ConfigSchema, CONFIG_PATH_ENV, DEFAULT_CONFIG_PATH, type Config } from './schema.js';
import { checkSecretFile } from './secrets.js';
import { MAX_CONFIG_BYTES, parseYaml, tooLarge, type YamlLocator } from './yaml.js';

export interface LoadOptions {
  /** the environment to read `ZTGATE_*` overrides from; default `process.env` */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** check that every `*_file` exists, is a non-empty regular file and, for secrets, mode 0600 */
  readonly readSecrets?: boolean;
}

export interface LoadedConfig {
  /** the validated config: defaults filled in, `data_dir` and `*_file` paths absolute */
  readonly config: Config;
  /** where a key path's value was written (file position, or the variable that overrode it) */
  readonly locate: Locate;
  /** the warnings found (a loaded config has no errors) */
  readonly problems: readonly Problem[];
  /** the absolute path of the config file */
  readonly file: string;
  /** the absolute directory relative paths were resolved against */
  readonly dir: string;
}

/** At most this many errors, and this many warnings, are listed; the rest are summed up in one last problem. */
export const MAX_PROBLEMS = 100;

/** The config file to read: `ZTGATE_CONFIG`, or `./ztgate.yaml`. */
export function defaultConfigPath(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const fromEnv = env[CONFIG_PATH_ENV];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONFIG_PATH;
}

/** Reads, checks and returns a config file; throws ProblemsError listing every problem. */
export function loadConfigFile(file: string, options: LoadOptions = {}): LoadedConfig {
  const text = readConfigText(file);
  return loadConfigText(text, file, options);
}

/**
 * Checks config text as if read from `file` (used for locations and to resolve relative paths);
 * throws ProblemsError listing every problem when there is an error.
 */
export function loadConfigText(
  text: string,
  file: string,
  options: LoadOptions = {},
): LoadedConfig {
  const result = checkConfigText(text, file, options);
  if (!result.config || hasErrors(result.problems)) throw new ProblemsError(result.problems);
  return {
    config: result.config,
    locate: result.locate,
    problems: result.problems,
    file: result.file,
    dir: result.dir,
  };
}

/** What checking a config found, without throwing: `config` is set only when there is no error. */
export interface ConfigCheck {
  readonly config: Config | undefined;
  readonly locate: Locate;
  readonly problems: readonly Problem[];
  readonly file: string;
  readonly dir: string;
}

/**
 * Checks config text and returns every problem instead of throwing (for `ztgate policy check` and
 * editors). loadConfigText is this plus the throw. Never throws itself.
 */
export function checkConfigText(
  text: string,
  file: string,
  options: LoadOptions = {},
): ConfigCheck {
  try {
    return checkText(text, file, options);
  } catch (err) {
    // A bug or an exhausted stack somewhere below: still a config problem, never a raw error.
    const tooDeep = err instanceof RangeError;
    const absolute = resolve(file);
    return {
      config: undefined,
      locate: () => undefined,
      problems: [
        problem(
          tooDeep ? 'ZT_CONFIG_TOO_DEEP' : 'ZT_CONFIG_INVALID_VALUE',
          tooDeep
            ? 'the document is too deeply nested to check'
            : 'the config could not be checked',
          {
            help: 'simplify the file; if the problem remains, report it',
            at: { file, line: 1, col: 1 },
          },
        ),
      ],
      file: absolute,
      dir: dirname(absolute),
    };
  }
}

function checkText(text: string, file: string, options: LoadOptions): ConfigCheck {
  const absolute = resolve(file);
  const dir = dirname(absolute);
  const env = options.env ?? process.env;
  const problems: Problem[] = [];
  let errors = 0;
  let warnings = 0;
  let droppedErrors = 0;
  let droppedWarnings = 0;
  // Every prefix of the path of every error, so that later checks can skip what is already wrong.
  const errorPaths = new Set<string>();
  const add = (p: Problem): boolean => {
    const isError = p.severity === 'error';
    if (isError && p.path) {
      for (let n = 0; n <= p.path.length; n++) errorPaths.add(JSON.stringify(p.path.slice(0, n)));
    }
    if ((isError ? errors : warnings) >= MAX_PROBLEMS) {
      if (isError) droppedErrors++;
      else droppedWarnings++;
      return false;
    }
    if (isError) errors++;
    else warnings++;
    problems.push(p);
    return true;
  };
  const reported = (path: KeyPath): boolean => errorPaths.has(JSON.stringify(path));
  const finish = (config: Config | undefined, locate: Locate): ConfigCheck => {
    const sorted = sortProblems(problems);
    if (droppedErrors + droppedWarnings > 0) {
      sorted.push(
        problem(
          'ZT_CONFIG_TOO_MANY_PROBLEMS',
          `more than ${MAX_PROBLEMS} ${droppedErrors > 0 ? 'errors' : 'warnings'} were found; the first ${MAX_PROBLEMS} are listed`,
          {
            severity: droppedErrors > 0 ? 'error' : 'warning',
            help: 'fix these and check again',
            at: { file, line: 1, col: 1 },
          },
        ),
      );
    }
    return { config, locate, problems: sorted, file: absolute, dir };
  };

  const parsed = parseYaml(text, file);
  for (const p of parsed.problems) add(p);
  const overlay = applyEnv(parsed.data ?? {}, env, file);
  const where = makeLocate(parsed.locator, overlay.sources, file);
  if (!parsed.data) {
    for (const p of overlay.problems) if (p.severity === 'warning') add(p);
    return finish(undefined, where.locate);
  }
  for (const p of overlay.problems) add(p);
  const data = overlay.data;

  const result = ConfigSchema.safeParse(data);
  if (!result.success) {
    issuesToProblems(result.error.issues, { data, at: where.at, keyAt: where.keyAt, add });
  }
  checkConfig(data, { at: where.at, reported, add });

  // Files: checked from the data, so they are reported even when another key is wrong.
  if (options.readSecrets) {
    for (const key of fileKeys()) {
      if (key.path[key.path.length - 1] === 'data_dir') continue;
      for (const path of expandPath(data, key.path)) {
        const value = valueAt(data, path);
        if (typeof value !== 'string' || value === '' || reported(path)) continue;
        const issue = checkSecretFile(resolvePath(dir, value), { secret: key.secret });
        if (issue)
          add(
            problem(issue.code, issue.message, {
              help: issue.help,
              path,
              at: where.at(path),
            }),
          );
      }
    }
  }

  if (!result.success || errors > 0) return finish(undefined, where.locate);
  const config = result.data;
  for (const key of fileKeys()) {
    for (const path of expandPath(config, key.path)) {
      const value = valueAt(config, path);
      if (typeof value === 'string') setAt(config, path, resolvePath(dir, value));
    }
  }
  if (isAccessLogFile(config.proxy.access_log))
    config.proxy.access_log = resolvePath(dir, config.proxy.access_log);
  // `session.idle` defaults to 1h, or to `ttl` when that is shorter.
  const session = (data as { session?: unknown }).session;
  const idleGiven =
    typeof session === 'object' && session !== null && Object.hasOwn(session, 'idle');
  const ttl = parseDuration(config.session.ttl);
  const idle = parseDuration(config.session.idle);
  if (!idleGiven && ttl !== undefined && idle !== undefined && idle > ttl)
    config.session.idle = config.session.ttl;
  return finish(config, where.locate);
}

/** A path from the config, made absolute against the config file's directory. */
function resolvePath(dir: string, value: string): string {
  return isAbsolute(value) ? value : resolve(dir, value);
}

function startsWith(path: KeyPath, prefix: KeyPath): boolean {
  if (path.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (path[i] !== prefix[i]) return false;
  return true;
}

function valueAt(data: unknown, path: KeyPath): unknown {
  let cur = data;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      if (typeof seg !== 'number') return undefined;
      cur = cur[seg];
      continue;
    }
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function setAt(data: unknown, path: KeyPath, value: unknown): void {
  const parent = valueAt(data, path.slice(0, -1));
  const last = path[path.length - 1];
  if (typeof parent === 'object' && parent !== null && last !== undefined)
    (parent as Record<string | number, unknown>)[last] = value;
}

/**
 * The concrete paths a file key stands for in the data: `routes[].tls.key_file` is
 * `routes[0].tls.key_file`, `routes[1].tls.key_file`, ... for every route there is.
 */
function expandPath(data: unknown, pattern: readonly string[]): KeyPath[] {
  let paths: (string | number)[][] = [[]];
  for (const seg of pattern) {
    if (seg !== EVERY_ITEM) {
      for (const p of paths) p.push(seg);
      continue;
    }
    const next: (string | number)[][] = [];
    for (const p of paths) {
      const list = valueAt(data, p);
      if (Array.isArray(list)) for (let i = 0; i < list.length; i++) next.push([...p, i]);
    }
    paths = next;
  }
  return paths;
}

/** File problems in file order, then those from the environment, then the rest; stable. */
function sortProblems(problems: readonly Problem[]): Problem[] {
  const rank = (at: SourceLocation | undefined): number => (at === undefined ? 2 : at.env ? 1 : 0);
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => {
      const ra = rank(a.p.at);
      const rb = rank(b.p.at);
      if (ra !== rb) return ra - rb;
      if (ra === 0 && a.p.at && b.p.at) {
        if (a.p.at.line !== b.p.at.line) return a.p.at.line - b.p.at.line;
        if (a.p.at.col !== b.p.at.col) return a.p.at.col - b.p.at.col;
      }
      return a.i - b.i;
    })
    .map((x) => x.p);
}

function isPrefix(prefix: readonly (string | number)[], path: KeyPath): boolean {
  return startsWith(path, prefix);
}

/**
 * The three ways to ask for a position: `locate` (exported: the exact path, or undefined), `at`
 * (the path or its nearest ancestor, for problems) and `keyAt` (the key itself).
 */
function makeLocate(
  locator: YamlLocator,
  sources: readonly EnvSource[],
  file: string,
): {
  locate: Locate;
  at: (path: KeyPath) => SourceLocation | undefined;
  keyAt: (path: KeyPath) => SourceLocation | undefined;
} {
  const envFor = (path: KeyPath): string | undefined =>
    sources.find((s) => isPrefix(s.path, path))?.name;
  const envUnder = (path: KeyPath): string | undefined =>
    sources.find((s) => isPrefix(path, s.path))?.name;

  const locate: Locate = (path) => {
    const name = envFor(path);
    if (name) return envLocation(file, name);
    const last = path[path.length - 1];
    if (typeof last === 'string' && path.length > 0 && isUnknownKey(path)) return locator.key(path);
    return locator.value(path);
  };
  const at = (path: KeyPath): SourceLocation | undefined => {
    const name = envFor(path);
    if (name) return envLocation(file, name);
    for (let n = path.length; n >= 0; n--) {
      const prefix = path.slice(0, n);
      const loc = locator.value(prefix);
      if (loc) return loc;
      const under = envUnder(prefix);
      if (under) return envLocation(file, under);
    }
    return undefined;
  };
  const keyAt = (path: KeyPath): SourceLocation | undefined => {
    const name = envFor(path);
    if (name) return envLocation(file, name);
    return locator.key(path);
  };
  return { locate, at, keyAt };
}

/** Whether the last key of a path is one the schema does not allow in its map. */
function isUnknownKey(path: KeyPath): boolean {
  const key = path[path.length - 1];
  if (typeof key !== 'string') return false;
  const parents = schemaAt(path.slice(0, -1));
  if (parents.length === 0) return false;
  return !parents.some((n) => {
    const props = n.properties;
    if (typeof props === 'object' && props !== null && Object.hasOwn(props, key)) return true;
    return typeof n.additionalProperties === 'object' && n.additionalProperties !== null;
  });
}

/**
 * Reads a config file as UTF-8 text, refusing anything larger than MAX_CONFIG_BYTES before reading
 * it. Throws ProblemsError (ZT_CONFIG_FILE_UNREADABLE, ZT_CONFIG_FILE_TOO_LARGE,
 * ZT_CONFIG_YAML_SYNTAX for text that is not UTF-8).
 */
export function readConfigText(file: string): string {
  const unreadable = (reason: string, help: string): ProblemsError =>
    new ProblemsError([
      problem('ZT_CONFIG_FILE_UNREADABLE', `the config file ${codeText(file)} ${reason}`, { help }),
    ]);
  const pathHelp = `give the path with \`--config\` or ${CONFIG_PATH_ENV}`;
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw unreadable('does not exist', `create it, or ${pathHelp}`);
    if (code === 'EACCES' || code === 'EPERM')
      throw unreadable('cannot be read (permission denied)', 'let the user ztgate runs as read it');
    throw unreadable(`cannot be read (${code ?? 'unknown error'})`, pathHelp);
  }
  if (st.isDirectory())
    throw unreadable(
      'is a directory',
      `name the file itself, such as ${codeText(`${file}/ztgate.yaml`)}`,
    );
  if (!st.isFile()) throw unreadable('is not a regular file', pathHelp);
  if (st.size > MAX_CONFIG_BYTES) throw new ProblemsError([tooLarge(file, st.size)]);

  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    throw unreadable(
      code === 'EACCES' || code === 'EPERM'
        ? 'cannot be read (permission denied)'
        : `cannot be read (${code ?? 'unknown error'})`,
      pathHelp,
    );
  }
  let bytes: Buffer;
  try {
    // Read in chunks and stop one byte past the limit: the file may have grown since the stat.
    const chunks: Buffer[] = [];
    const chunk = Buffer.alloc(64 * 1024);
    let total = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_CONFIG_BYTES) throw new ProblemsError([tooLarge(file, total)]);
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
    bytes = Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof ProblemsError) throw err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    throw unreadable(`cannot be read (${code ?? 'unknown error'})`, pathHelp);
  } finally {
    closeSync(fd);
  }
  return decodeUtf8(bytes, file);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decodeUtf8(bytes: Buffer, file: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new ProblemsError([
      problem('ZT_CONFIG_YAML_SYNTAX', 'the file is not UTF-8 text', {
        help: 'save the config as UTF-8; check that the path names the config file and not a binary',
        at: { file, line, col: offset - lineStart + 1 },
      }),
    ]);
  }
}

/** The offset of the first byte that does not belong to a valid UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    let n: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}
