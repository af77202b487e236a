/**
 * The JSON Schema of ztgate.yaml, generated from ./schema.ts, and the few questions the loader and
 * the docs ask of it: which keys are allowed at a path (for "did you mean"), how to describe what a
 * path expects, which scalar keys an environment variable can set, which keys name files.
 * Everything here is derived from the schema, never listed by hand.
 */
import { z } from 'zod';
import type { KeyPath } from '../shared/source.js';
import { DURATION_PATTERN } from '../shared/duration.js';
import { SIZE_PATTERN } from '../shared/size.js';
import { orList } from './problem.js';
import { ConfigSchema, ENV_PREFIX } from './schema.js';

/** One node of a JSON Schema document. */
export type JsonSchema = { readonly [key: string]: unknown };

export const SCHEMA_ID = 'urn:ztgate:schema:config';
export const SCHEMA_TITLE = 'ztgate.yaml';

let cached: JsonSchema | undefined;

/**
 * The JSON Schema (draft 2020-12) of ztgate.yaml, as an editor sees the file: keys with defaults
 * are optional and carry their `default`. The same object every call; do not mutate it.
 */
export function configJsonSchema(): JsonSchema {
  if (cached) return cached;
  const generated = z.toJSONSchema(ConfigSchema, {
    target: 'draft-2020-12',
    io: 'input',
  }) as Record<string, unknown>;
  const { $schema, description, ...rest } = generated;
  cached = deepFreeze({
    $schema,
    $id: SCHEMA_ID,
    title: SCHEMA_TITLE,
    description,
    ...rest,
  });
  return cached;
}

function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v && typeof v === 'object' && !Object.isFrozen(v)) {
      Object.freeze(v);
      stack.push(...(Object.values(v) as unknown[]));
    }
  }
  return value;
}

function isSchema(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The target of a local `$ref` (`#/$defs/Rule`), or undefined. */
function deref(root: JsonSchema, ref: string): JsonSchema | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let cur: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    if (!isSchema(cur)) return undefined;
    cur = cur[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return isSchema(cur) ? cur : undefined;
}

/** The name of the `$defs` entry a node refers to, if it is a reference. */
export function refName(node: JsonSchema): string | undefined {
  const ref = node.$ref;
  return typeof ref === 'string' && ref.startsWith('#/$defs/') ? ref.slice(8) : undefined;
}

/**
 * The concrete alternatives a node stands for: `$ref`s followed, `anyOf`/`oneOf` branches spread.
 * Iterative and bounded, so a recursive schema (rules nest) cannot loop.
 */
export function alternatives(
  node: JsonSchema,
  root: JsonSchema = configJsonSchema(),
): JsonSchema[] {
  const out: JsonSchema[] = [];
  const stack: JsonSchema[] = [node];
  const seen = new Set<JsonSchema>();
  while (stack.length > 0) {
    const n = stack.pop();
    if (!n || seen.has(n)) continue;
    seen.add(n);
    const ref = n.$ref;
    if (typeof ref === 'string') {
      const target = deref(root, ref);
      if (target) stack.push(target);
      continue;
    }
    const branches = Array.isArray(n.anyOf)
      ? n.anyOf
      : Array.isArray(n.oneOf)
        ? n.oneOf
        : undefined;
    if (branches) {
      for (let i = branches.length - 1; i >= 0; i--) {
        const b: unknown = branches[i];
        if (isSchema(b)) stack.push(b);
      }
      continue;
    }
    out.push(n);
  }
  return out;
}

/**
 * The schema nodes of the value at a key path as written in the schema (a `$ref` or an `anyOf`
 * is kept, so it can be described by name).
 */
export function rawSchemaAt(path: KeyPath, root: JsonSchema = configJsonSchema()): JsonSchema[] {
  let raw: JsonSchema[] = [root];
  for (const seg of path) {
    const next: JsonSchema[] = [];
    for (const n of raw.flatMap((r) => alternatives(r, root))) {
      if (typeof seg === 'number') {
        if (isSchema(n.items)) next.push(n.items);
        continue;
      }
      const props = n.properties;
      if (isSchema(props) && Object.hasOwn(props, seg)) {
        const p = props[seg];
        if (isSchema(p)) next.push(p);
      } else if (isSchema(n.additionalProperties)) {
        next.push(n.additionalProperties);
      }
    }
    raw = next;
    if (raw.length === 0) break;
  }
  return raw;
}

/** The concrete schema nodes that describe the value at a key path (several for a union). */
export function schemaAt(path: KeyPath, root: JsonSchema = configJsonSchema()): JsonSchema[] {
  return rawSchemaAt(path, root).flatMap((n) => alternatives(n, root));
}

/** Words for what the value at a key path should be, or undefined when the schema has no node. */
export function describeAt(
  path: KeyPath,
  root: JsonSchema = configJsonSchema(),
): string | undefined {
  const raw = rawSchemaAt(path, root);
  if (raw.length === 0) return undefined;
  const parts: string[] = [];
  for (const n of raw) {
    const words = describeSchema(n, root);
    if (!parts.includes(words)) parts.push(words);
  }
  return parts.join(' or ');
}

/** The keys a map at this path may hold, for "did you mean". */
export function knownKeysAt(path: KeyPath, root: JsonSchema = configJsonSchema()): string[] {
  const keys = new Set<string>();
  for (const n of schemaAt(path, root)) {
    if (isSchema(n.properties)) for (const k of Object.keys(n.properties)) keys.add(k);
  }
  return [...keys];
}

/** The value types a JSON Schema node accepts, as `typeof` names (`object` for maps and lists). */
function jsonTypes(node: JsonSchema): string[] {
  const t = node.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  if ('const' in node) return [typeof node.const];
  if (Array.isArray(node.enum)) return [...new Set(node.enum.map((v) => typeof v))];
  return [];
}

const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean']);

/**
 * Words for what a schema node expects: `a string`, `a list of strings`, `` `true` ``, `a duration
 * such as `30m``, `a string or a policy (a map)`.
 */
export function describeSchema(node: JsonSchema, root: JsonSchema = configJsonSchema()): string {
  const parts: string[] = [];
  const stack: { node: JsonSchema; name: string | undefined; depth: number }[] = [
    { node, name: undefined, depth: 0 },
  ];
  while (stack.length > 0) {
    const item = stack.pop();
    if (!item || item.depth > 8) continue;
    const n = item.node;
    if (typeof n.$ref === 'string') {
      const target = deref(root, n.$ref);
      if (target) stack.push({ node: target, name: refName(n), depth: item.depth + 1 });
      continue;
    }
    const branches = Array.isArray(n.anyOf)
      ? n.anyOf
      : Array.isArray(n.oneOf)
        ? n.oneOf
        : undefined;
    if (branches) {
      for (let i = branches.length - 1; i >= 0; i--) {
        const b: unknown = branches[i];
        if (isSchema(b)) stack.push({ node: b, name: undefined, depth: item.depth + 1 });
      }
      continue;
    }
    for (const words of describeOne(n, root, item.name))
      if (!parts.includes(words)) parts.push(words);
  }
  return parts.length === 0 ? 'a value' : orList(parts);
}

function describeOne(node: JsonSchema, root: JsonSchema, defName: string | undefined): string[] {
  if ('const' in node) return [`\`${String(node.const)}\``];
  if (Array.isArray(node.enum))
    return [`one of ${node.enum.map((v) => `\`${String(v)}\``).join(', ')}`];
  const types = jsonTypes(node);
  if (types.length > 1)
    return types.flatMap((t) => describeOne({ ...node, type: t }, root, defName));
  const type = types[0];
  if (type === 'string') {
    if (node.pattern === DURATION_PATTERN) return ['a duration such as `30m`'];
    if (node.pattern === SIZE_PATTERN) return ['a size such as `10MiB`'];
    return ['a string'];
  }
  if (type === 'number' || type === 'integer') return ['a number'];
  if (type === 'boolean') return ['a boolean'];
  if (type === 'object') return [defName ? `a ${defName.toLowerCase()} (a map)` : 'a map'];
  if (type === 'array') {
    if (isSchema(node.items)) {
      const itemRef = refName(node.items);
      if (itemRef) return [`a list of ${itemRef.toLowerCase()}s`];
      const items = alternatives(node.items, root);
      const first = items[0];
      const firstType = first ? jsonTypes(first) : [];
      if (items.length === 1 && first && firstType.length === 1 && !('const' in first)) {
        if (firstType[0] === 'string') return ['a list of strings'];
        if (firstType[0] === 'object') return ['a list of maps'];
      }
    }
    return ['a list'];
  }
  return ['a value'];
}

/** Whether a value at this path may be of the given JS kind. */
export function schemaAccepts(
  nodes: readonly JsonSchema[],
  kind: 'string' | 'number' | 'boolean',
): boolean {
  return nodes.some((n) => {
    const types = jsonTypes(n);
    return kind === 'number'
      ? types.includes('number') || types.includes('integer')
      : types.includes(kind);
  });
}

/** A scalar key an environment variable can set. */
export interface EnvKey {
  /** `ZTGATE_IDENTITY_OIDC_ISSUER` */
  readonly name: string;
  /** `['identity', 'oidc', 'issuer']` */
  readonly path: readonly string[];
  /** the schema nodes of the value, to decide how to read the variable's text */
  readonly schema: readonly JsonSchema[];
}

/** The segment of a file key's path that stands for every item of a list: `routes[].tls.key_file`. */
export const EVERY_ITEM = '[]';

/** A key whose value is a path, resolved against the config file's directory. */
export interface FileKey {
  /** `['tls', 'key_file']`; `['routes', '[]', 'tls', 'key_file']` for a key in each item of a list */
  readonly path: readonly string[];
  /** the file holds a secret: mode 0600 or stricter is required */
  readonly secret: boolean;
}

/** `['routes', '[]', 'tls', 'key_file']` -> `routes[].tls.key_file` */
export function formatFileKey(path: readonly string[]): string {
  return path.reduce(
    (out, seg) => (seg === EVERY_ITEM ? `${out}[]` : out ? `${out}.${seg}` : seg),
    '',
  );
}

interface Leaf {
  readonly path: readonly string[];
  readonly node: JsonSchema;
  readonly nodes: readonly JsonSchema[];
}

/**
 * Every key reachable through fixed object keys (no record entries, no `$ref`s into the policy
 * language), with its schema; with `lists`, also through the items of lists (`EVERY_ITEM`).
 * Computed once each.
 */
const leavesCache = new Map<boolean, readonly Leaf[]>();
function fixedLeaves(lists = false): readonly Leaf[] {
  const cached = leavesCache.get(lists);
  if (cached) return cached;
  const root = configJsonSchema();
  const out: Leaf[] = [];
  // The schema is ours and shallow: plain recursion is fine here.
  const visit = (node: JsonSchema, path: readonly string[]): void => {
    const props = node.properties;
    if (!isSchema(props)) return;
    for (const [key, child] of Object.entries(props)) {
      if (!isSchema(child) || refName(child)) continue;
      const childPath = [...path, key];
      const nodes = alternatives(child, root);
      out.push({ path: childPath, node: child, nodes });
      for (const n of nodes) {
        if (n.type === 'object') visit(n, childPath);
        else if (lists && n.type === 'array' && isSchema(n.items) && !refName(n.items)) {
          for (const item of alternatives(n.items, root))
            if (item.type === 'object') visit(item, [...childPath, EVERY_ITEM]);
        }
      }
    }
  };
  visit(root, []);
  leavesCache.set(lists, out);
  return out;
}

/** The name of the environment variable that overrides a key path. */
export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.join('_').toUpperCase();
}

let envCache: readonly EnvKey[] | undefined;

/**
 * Every key an environment variable can override: the scalar keys outside lists and records
 * (`ZTGATE_LISTEN`, `ZTGATE_SESSION_TTL`, `ZTGATE_IDENTITY_OIDC_ISSUER`, ...).
 */
export function envKeys(): readonly EnvKey[] {
  if (envCache) return envCache;
  const out: EnvKey[] = [];
  const names = new Map<string, string>();
  for (const leaf of fixedLeaves()) {
    const scalar =
      leaf.nodes.length > 0 &&
      leaf.nodes.every(
        (n) => jsonTypes(n).every((t) => SCALAR_TYPES.has(t)) && jsonTypes(n).length > 0,
      );
    if (!scalar) continue;
    const name = envName(leaf.path);
    const clash = names.get(name);
    if (clash !== undefined) {
      throw new Error(
        `config keys \`${clash}\` and \`${leaf.path.join('.')}\` map to the same variable ${name}`,
      );
    }
    names.set(name, leaf.path.join('.'));
    out.push({ name, path: leaf.path, schema: leaf.nodes });
  }
  envCache = out;
  return out;
}

let fileCache: readonly FileKey[] | undefined;

/**
 * Every key that holds a file path: `data_dir` and each `*_file` key, also in the items of lists
 * (a route's `tls.key_file`, a device webhook's `secret_file`).
 */
export function fileKeys(): readonly FileKey[] {
  if (fileCache) return fileCache;
  fileCache = fixedLeaves(true)
    .filter((l) => {
      const last = l.path[l.path.length - 1] ?? '';
      return last === 'data_dir' || last.endsWith('_file');
    })
    .map((l) => ({
      path: l.path,
      secret: l.nodes.some((n) => n['x-ztgate-secret'] === true),
    }));
  return fileCache;
}
