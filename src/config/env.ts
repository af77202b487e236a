/**
 * Environment overrides: `ZTGATE_` + the key path of a scalar key outside lists and records,
 * upper-cased and joined by `_` (`ZTGATE_LISTEN`, `ZTGATE_SESSION_TTL`,
 * `ZTGATE_IDENTITY_OIDC_ISSUER`). The list is derived from the schema (./json-schema.ts). A value is
 * read as a YAML scalar, so `true` and numbers work where the key takes them; for a key that takes
 * a string the text is used as written. An override wins over the file. An empty variable is
 * ignored. Any other `ZTGATE_*` variable gives a warning with a "did you mean".
 */
import { isScalar, parseDocument } from 'yaml';
import type { Problem } from '../shared/errors.js';
import { formatKeyPath, type SourceLocation } from '../shared/source.js';
import { suggest } from '../shared/suggest.js';
import { envKeys, schemaAccepts, type EnvKey, type JsonSchema } from './json-schema.js';
import { codeText, problem, warning } from './problem.js';
import { CONFIG_PATH_ENV, ENV_PREFIX } from './schema.js';

/**
 * `ZTGATE_*` variables that are not config keys: `ZTGATE_CONFIG` names the config file,
 * `ZTGATE_TEST` is set by the test runner.
 */
export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set([CONFIG_PATH_ENV, 'ZTGATE_TEST']);

export interface EnvSource {
  readonly path: readonly string[];
  readonly name: string;
}

export interface EnvOverlay {
  /** the data with every override applied (the input is not modified) */
  readonly data: Record<string, unknown>;
  /** the keys set from the environment, and by which variable */
  readonly sources: readonly EnvSource[];
  readonly problems: readonly Problem[];
}

export function envLocation(file: string, name: string): SourceLocation {
  return { file, line: 0, col: 0, env: name };
}

/** The value an override gives its key: a YAML scalar, or the text itself for string keys. */
export function readEnvValue(text: string, schema: readonly JsonSchema[]): unknown {
  let parsed: unknown = text;
  try {
    const doc = parseDocument(text, {
      version: '1.2',
      schema: 'core',
      resolveKnownTags: false,
      prettyErrors: false,
    });
    if (doc.errors.length === 0 && isScalar(doc.contents)) parsed = doc.contents.value;
  } catch {
    parsed = text;
  }
  if (typeof parsed === 'string') return parsed;
  if (
    (typeof parsed === 'number' || typeof parsed === 'boolean') &&
    schemaAccepts(schema, typeof parsed as 'number' | 'boolean')
  ) {
    return parsed;
  }
  if (schemaAccepts(schema, 'string')) return text;
  return parsed;
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Applies every `ZTGATE_*` override to a copy of the data. */
export function applyEnv(
  data: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
): EnvOverlay {
  const byName = new Map<string, EnvKey>(envKeys().map((k) => [k.name, k]));
  const problems: Problem[] = [];
  const sources: EnvSource[] = [];
  let root: Record<string, unknown> = data;
  const names = Object.keys(env)
    .filter((n) => n.startsWith(ENV_PREFIX))
    .sort();
  for (const name of names) {
    const text = env[name];
    if (text === undefined || RESERVED_ENV_NAMES.has(name)) continue;
    const key = byName.get(name);
    const at = envLocation(file, name);
    if (!key) {
      const near = suggest(name, [...byName.keys(), ...RESERVED_ENV_NAMES]);
      problems.push(
        warning(
          'ZT_CONFIG_ENV_UNKNOWN',
          `the environment variable ${codeText(name)} names no config key`,
          {
            help: near
              ? `did you mean ${codeText(near)}?`
              : 'see docs/config.md for the variables ztgate reads',
            at,
          },
        ),
      );
      continue;
    }
    if (text === '') continue;
    const value = readEnvValue(text, key.schema);
    // Copy every map on the way down, so maps shared through YAML aliases are not changed.
    const top: Record<string, unknown> = { ...root };
    let parent = top;
    let blocked: string[] | undefined;
    for (let i = 0; i < key.path.length - 1; i++) {
      const seg = key.path[i] ?? '';
      const next: unknown = Object.hasOwn(parent, seg) ? parent[seg] : undefined;
      if (next === undefined || next === null) {
        const created: Record<string, unknown> = {};
        parent[seg] = created;
        parent = created;
      } else if (isPlainMap(next)) {
        const copy = { ...next };
        parent[seg] = copy;
        parent = copy;
      } else {
        blocked = key.path.slice(0, i + 1);
        break;
      }
    }
    if (blocked) {
      problems.push(
        problem(
          'ZT_CONFIG_ENV_INVALID',
          `${codeText(name)} cannot set \`${key.path.join('.')}\`: \`${formatKeyPath(blocked)}\` in the config file is not a map`,
          {
            help: `fix \`${formatKeyPath(blocked)}\` in the file, or unset ${codeText(name)}`,
            path: key.path,
            at,
          },
        ),
      );
      continue;
    }
    parent[key.path[key.path.length - 1] ?? ''] = value;
    root = top;
    sources.push({ path: key.path, name });
  }
  return { data: root, sources, problems };
}
