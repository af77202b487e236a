/**
 * YAML text -> plain data plus a way back from key paths to file positions, hardened against
 * hostile input: a size limit, a nesting limit checked without recursion, a small alias budget
 * (alias bombs), cycles through aliases, duplicate keys found in linear time, and no library error
 * or stack overflow escaping as anything but a Problem.
 */
import {
  Composer,
  Parser,
  type CST,
  type Document,
  LineCounter,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  type ParsedNode,
  type YAMLError,
  type YAMLMap,
} from 'yaml';
import type { Problem } from '../shared/errors.js';
import type { KeyPath, SourceLocation } from '../shared/source.js';
import { codeText, describeValue, problem } from './problem.js';

/** The largest config file ztgate reads. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** The deepest nesting of maps and lists accepted (the root map is level 1). */
export const MAX_DEPTH = 64;
/** Passed to the YAML library: how far aliases may multiply the document (alias bombs). */
export const MAX_ALIAS_COUNT = 50;

/** Positions of key paths in one parsed document. */
export interface YamlLocator {
  /** The position of the value at a path; of its key when the value is empty or a block map/list. */
  value(path: KeyPath): SourceLocation | undefined;
  /** The position of the key that ends a path (the item, for a list index). */
  key(path: KeyPath): SourceLocation | undefined;
}

export interface ParsedYaml {
  /** The document as plain data; undefined when it could not be read (see problems). */
  readonly data: Record<string, unknown> | undefined;
  readonly problems: readonly Problem[];
  readonly locator: YamlLocator;
}

const YAML_HELP: Record<string, string> = {
  TAB_AS_INDENT: 'indent with spaces: YAML does not allow tabs for indentation',
  BAD_INDENT:
    'indent nested keys further than their parent, and every key of one map by the same amount',
  MULTIPLE_DOCS: 'a config file holds one YAML document: remove the `---` that starts a second one',
  NON_STRING_KEY: 'write map keys as plain strings',
  TAG_RESOLVE_FAILED:
    'remove the tag: ztgate reads the YAML 1.2 core schema (strings, numbers, booleans, null, lists and maps)',
  KEY_OVER_1024_CHARS: 'keys are at most 1024 characters long',
  MISSING_CHAR: 'look for an unclosed quote or bracket',
  BAD_ALIAS: 'an alias `*name` must refer to an anchor `&name` defined before it',
  BLOCK_AS_IMPLICIT_KEY:
    'quote a value that contains `: `; a nested map goes on the lines below its key, indented',
  MULTILINE_IMPLICIT_KEY: 'put a key and its `:` on one line, and check the indentation around it',
  BAD_SCALAR_START: 'quote the value',
  UNEXPECTED_TOKEN:
    'check the line for a stray character, a missing `:` or a bracket that does not match',
};

const TOO_DEEP_HELP = `ztgate accepts at most ${MAX_DEPTH} levels of nested maps and lists; flatten the document`;

/**
 * Parses one YAML document. Problems are returned, never thrown; `data` is set only when there is
 * no error, and is then a map (an empty document is `{}`).
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const problems: Problem[] = [];
  const pos = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  let doc: Document.Parsed | undefined;
  const fail = (): ParsedYaml => ({ data: undefined, problems, locator: makeLocator(doc, pos) });

  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) {
    problems.push(tooLarge(file, bytes));
    return fail();
  }

  try {
    // parseDocument, in steps: the concrete syntax tree is built without recursion, so its depth
    // can be checked before the composer (which recurses) ever sees it. Letting the composer run
    // out of stack is not safe: V8 may then fail to compile a regular expression and abort.
    const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
    const deep = tooDeepToken(tokens);
    if (deep !== undefined) {
      problems.push(
        problem('ZT_CONFIG_TOO_DEEP', `the document nests deeper than ${MAX_DEPTH} levels`, {
          help: TOO_DEEP_HELP,
          at: pos(deep),
        }),
      );
      return fail();
    }
    const composer = new Composer<ParsedNode, true>({
      version: '1.2',
      schema: 'core',
      // Only the core schema's types: no !!binary, !!set, !!timestamp and the like.
      resolveKnownTags: false,
      // Duplicate keys are found below in linear time; the library's check is quadratic.
      uniqueKeys: false,
      stringKeys: true,
      prettyErrors: false,
      keepSourceTokens: false,
    });
    for (const d of composer.compose(tokens, true, text.length)) {
      if (!doc) doc = d;
      else {
        problems.push(
          problem('ZT_CONFIG_YAML_SYNTAX', 'the file holds more than one YAML document', {
            help: YAML_HELP.MULTIPLE_DOCS,
            at: pos(d.range[0]),
          }),
        );
        break;
      }
    }
  } catch (err) {
    problems.push(libraryFailure(err, file));
    return fail();
  }
  if (!doc) {
    problems.push(
      problem('ZT_CONFIG_YAML_SYNTAX', 'the YAML could not be read', {
        at: { file, line: 1, col: 1 },
      }),
    );
    return fail();
  }

  const yamlErrors: YAMLError[] = [...doc.errors, ...doc.warnings];
  const exhausted = yamlErrors.find((e) => e.code === 'RESOURCE_EXHAUSTION');
  if (exhausted) {
    // The library ran out of stack on absurd nesting; the other errors are its echoes.
    problems.push(
      problem('ZT_CONFIG_TOO_DEEP', `the document nests deeper than ${MAX_DEPTH} levels`, {
        help: TOO_DEEP_HELP,
        at: pos(exhausted.pos[0]),
      }),
    );
    return fail();
  }
  for (const e of yamlErrors) {
    problems.push(
      problem('ZT_CONFIG_YAML_SYNTAX', yamlMessage(e), {
        help: YAML_HELP[e.code] ?? undefined,
        at: pos(e.pos[0]),
      }),
    );
  }
  if (problems.length > 0) return fail();

  const walk = checkNodes(doc, pos);
  problems.push(...walk.problems);
  if (problems.length > 0) return fail();

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    problems.push(libraryFailure(err, file));
    return fail();
  }
  if (walk.hasAlias && !withinDepth(data)) {
    problems.push(
      problem(
        'ZT_CONFIG_TOO_DEEP',
        `the document nests deeper than ${MAX_DEPTH} levels once its aliases are expanded, or an alias refers to a map or list that contains it`,
        {
          help: 'use aliases only for maps and lists that do not contain the alias',
          at: { file, line: 1, col: 1 },
        },
      ),
    );
    return fail();
  }

  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    problems.push(
      problem(
        'ZT_CONFIG_WRONG_TYPE',
        `expected a map of config keys at the top of the file, got ${describeValue(data)}`,
        {
          help: 'a config file is a map of keys such as `listen:`, `routes:` and `policies:`',
          at: doc.contents?.range ? pos(doc.contents.range[0]) : { file, line: 1, col: 1 },
        },
      ),
    );
    return fail();
  }
  return { data: data as Record<string, unknown>, problems, locator: makeLocator(doc, pos) };
}

export function tooLarge(file: string, bytes: number): Problem {
  const mib = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return problem(
    'ZT_CONFIG_FILE_TOO_LARGE',
    `${codeText(file)} is ${mib(bytes)}, larger than the ${MAX_CONFIG_BYTES / (1024 * 1024)} MiB ztgate reads`,
    { help: 'a config this large is almost certainly not the intended file; check the path' },
  );
}

/** An error thrown by the YAML library (a stack overflow, an alias bomb) as a Problem. */
function libraryFailure(err: unknown, file: string): Problem {
  const at = { file, line: 1, col: 1 };
  if (err instanceof RangeError) {
    return problem('ZT_CONFIG_TOO_DEEP', `the document nests deeper than ${MAX_DEPTH} levels`, {
      help: TOO_DEEP_HELP,
      at,
    });
  }
  if (err instanceof ReferenceError && /excessive alias count/i.test(err.message)) {
    return problem(
      'ZT_CONFIG_TOO_MANY_ALIASES',
      'the document expands YAML aliases more than ztgate accepts',
      {
        help: `each alias may stand for at most ${MAX_ALIAS_COUNT} nodes; write the values out or share less through aliases`,
        at,
      },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return problem(
    'ZT_CONFIG_YAML_SYNTAX',
    `the YAML could not be read: ${lowerFirst(message).slice(0, 200)}`,
    { at },
  );
}

function yamlMessage(e: YAMLError): string {
  let message = lowerFirst(e.message.split('\n', 1)[0] ?? '').replace(/\.$/, '');
  if (message.length > 300) message = `${message.slice(0, 300)}…`;
  return message;
}

function lowerFirst(s: string): string {
  // Keep acronyms (`YAML`, `JSON`) as they are.
  if (/^[A-Z][a-z]/.test(s)) return s.charAt(0).toLowerCase() + s.slice(1);
  return s;
}

/**
 * The offset of the first collection in the concrete syntax tree nested deeper than MAX_DEPTH, or
 * undefined. An explicit stack: the input may nest ten thousand levels.
 */
function tooDeepToken(tokens: readonly CST.Token[]): number | undefined {
  const stack: { token: CST.Token | null | undefined; depth: number }[] = tokens.map((token) => ({
    token,
    depth: 0,
  }));
  while (stack.length > 0) {
    const item = stack.pop();
    const token = item?.token;
    if (!item || !token) continue;
    if (token.type === 'document') {
      stack.push({ token: token.value, depth: item.depth });
    } else if (
      token.type === 'block-map' ||
      token.type === 'block-seq' ||
      token.type === 'flow-collection'
    ) {
      const depth = item.depth + 1;
      if (depth > MAX_DEPTH) return token.offset;
      for (const it of token.items) {
        if ('key' in it) stack.push({ token: it.key, depth });
        stack.push({ token: it.value, depth });
      }
    }
  }
  return undefined;
}

interface WalkEntry {
  readonly node: unknown;
  readonly depth: number;
  readonly parent: WalkEntry | undefined;
  readonly seg: string | number | undefined;
}

function entryPath(e: WalkEntry): (string | number)[] {
  const out: (string | number)[] = [];
  for (let cur: WalkEntry | undefined = e; cur && cur.seg !== undefined; cur = cur.parent)
    out.push(cur.seg);
  return out.reverse();
}

function keyText(pair: Pair): string {
  const k = pair.key;
  if (isScalar(k)) return String(k.value);
  // Keys that are not scalars were refused by the parser (`stringKeys`).
  return isCollection(k) ? k.toString() : '';
}

/**
 * One pass over the node tree, with an explicit stack (no recursion, whatever the depth):
 * nesting depth, duplicate keys and `__proto__` keys. Aliases are not followed here.
 */
function checkNodes(
  doc: Document.Parsed,
  pos: (offset: number) => SourceLocation,
): { problems: Problem[]; hasAlias: boolean } {
  const problems: Problem[] = [];
  let hasAlias = false;
  const stack: WalkEntry[] = [{ node: doc.contents, depth: 1, parent: undefined, seg: undefined }];
  while (stack.length > 0) {
    const entry = stack.pop();
    if (!entry) break;
    const { node, depth } = entry;
    if (isAlias(node)) {
      hasAlias = true;
      if (!node.resolve(doc)) {
        problems.push(
          problem(
            'ZT_CONFIG_YAML_SYNTAX',
            `the alias ${codeText(`*${node.source}`)} refers to no anchor`,
            {
              help: YAML_HELP.BAD_ALIAS,
              path: entryPath(entry),
              at: node.range ? pos(node.range[0]) : undefined,
            },
          ),
        );
      }
      continue;
    }
    if (!isCollection(node)) continue;
    if (depth > MAX_DEPTH) {
      return {
        problems: [
          problem('ZT_CONFIG_TOO_DEEP', `the document nests deeper than ${MAX_DEPTH} levels`, {
            help: TOO_DEEP_HELP,
            path: entryPath(entry),
            at: node.range ? pos(node.range[0]) : undefined,
          }),
        ],
        hasAlias,
      };
    }
    if (isMap(node)) {
      const seen = new Map<string, Pair>();
      for (const pair of node.items) {
        const key = keyText(pair);
        const keyPos = isScalar(pair.key) && pair.key.range ? pos(pair.key.range[0]) : undefined;
        const keyPath = [...entryPath(entry), key];
        const first = seen.get(key);
        if (first) {
          const firstAt =
            isScalar(first.key) && first.key.range ? pos(first.key.range[0]) : undefined;
          problems.push(
            problem('ZT_CONFIG_YAML_SYNTAX', `duplicate key ${codeText(key)}`, {
              help: firstAt
                ? `${codeText(key)} is already set at line ${firstAt.line}; keep one of them`
                : 'keep one of them',
              path: keyPath,
              at: keyPos,
            }),
          );
        } else {
          seen.set(key, pair);
        }
        if (key === '__proto__') {
          problems.push(
            problem('ZT_CONFIG_INVALID_VALUE', '`__proto__` is not allowed as a key', {
              help: 'rename the key',
              path: keyPath,
              at: keyPos,
            }),
          );
        }
        stack.push({ node: pair.value, depth: depth + 1, parent: entry, seg: key });
      }
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        stack.push({ node: node.items[i], depth: depth + 1, parent: entry, seg: i });
      }
    }
  }
  return { problems, hasAlias };
}

/**
 * Whether plain data (where aliases may share or loop back to objects) nests at most MAX_DEPTH
 * levels. Heights are memoized per object, so shared subtrees are visited once; a cycle fails.
 */
function withinDepth(root: unknown): boolean {
  if (typeof root !== 'object' || root === null) return true;
  interface Frame {
    readonly obj: object;
    readonly kids: unknown[];
    i: number;
    height: number;
  }
  const heights = new Map<object, number>();
  const onPath = new Set<object>();
  const kidsOf = (o: object): unknown[] => (Array.isArray(o) ? (o as unknown[]) : Object.values(o));
  const frames: Frame[] = [{ obj: root, kids: kidsOf(root), i: 0, height: 1 }];
  onPath.add(root);
  while (frames.length > 0) {
    const top = frames[frames.length - 1];
    if (!top) break;
    if (top.i < top.kids.length) {
      const kid = top.kids[top.i++];
      if (typeof kid !== 'object' || kid === null) continue;
      if (onPath.has(kid)) return false;
      const known = heights.get(kid);
      if (known !== undefined) {
        if (frames.length + known > MAX_DEPTH) return false;
        top.height = Math.max(top.height, known + 1);
        continue;
      }
      if (frames.length + 1 > MAX_DEPTH) return false;
      onPath.add(kid);
      frames.push({ obj: kid, kids: kidsOf(kid), i: 0, height: 1 });
    } else {
      frames.pop();
      onPath.delete(top.obj);
      heights.set(top.obj, top.height);
      const parent = frames[frames.length - 1];
      if (parent) parent.height = Math.max(parent.height, top.height + 1);
    }
  }
  return true;
}

function makeLocator(
  doc: Document.Parsed | undefined,
  pos: (offset: number) => SourceLocation,
): YamlLocator {
  const index = new WeakMap<YAMLMap, Map<string, Pair>>();
  const lookup = (map: YAMLMap, key: string): Pair | undefined => {
    let byKey = index.get(map);
    if (!byKey) {
      byKey = new Map();
      for (const pair of map.items) {
        const k = keyText(pair);
        if (!byKey.has(k)) byKey.set(k, pair);
      }
      index.set(map, byKey);
    }
    return byKey.get(key);
  };
  const deref = (node: unknown): unknown => {
    // An alias chain is at most as long as the number of anchors; bound it anyway.
    let cur = node;
    for (let i = 0; i < 100 && isAlias(cur) && doc; i++) cur = cur.resolve(doc);
    return cur;
  };
  const nodePos = (node: unknown): SourceLocation | undefined => {
    const range = (node as Partial<ParsedNode> | null | undefined)?.range;
    return range ? pos(range[0]) : undefined;
  };

  /** Walks a path; returns the last node reached and the pair (if any) holding it. */
  const walk = (
    path: KeyPath,
  ): { node: unknown; pair: Pair | undefined; item: unknown } | undefined => {
    if (!doc) return undefined;
    let node: unknown = doc.contents;
    let pair: Pair | undefined;
    let item: unknown;
    for (const seg of path) {
      const cur = deref(node);
      if (isMap(cur)) {
        const p = lookup(cur, String(seg));
        if (!p) return undefined;
        pair = p;
        item = undefined;
        node = p.value;
      } else if (isSeq(cur) && typeof seg === 'number') {
        if (seg < 0 || seg >= cur.items.length) return undefined;
        pair = undefined;
        node = cur.items[seg];
        item = node;
      } else {
        return undefined;
      }
    }
    return { node, pair, item };
  };

  return {
    value(path) {
      if (!doc) return undefined;
      if (path.length === 0) return nodePos(doc.contents) ?? pos(0);
      const found = walk(path);
      if (!found) return undefined;
      const { node, pair } = found;
      const keyPos = pair && isPair(pair) ? nodePos(pair.key) : undefined;
      const empty =
        node === null ||
        node === undefined ||
        (isScalar(node) && node.value === null && !node.source);
      if (empty) return keyPos ?? nodePos(node);
      if (isCollection(node) && !(node as Node & { flow?: boolean }).flow && keyPos) return keyPos;
      return nodePos(node) ?? keyPos;
    },
    key(path) {
      if (!doc) return undefined;
      if (path.length === 0) return nodePos(doc.contents) ?? pos(0);
      const found = walk(path);
      if (!found) return undefined;
      if (found.pair) return nodePos(found.pair.key) ?? nodePos(found.node);
      return nodePos(found.item);
    },
  };
}
