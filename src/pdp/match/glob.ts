/**
 * Path and SPIFFE ID globs that match in linear time.
 *
 * The text and the pattern are split on `/` into segments. `*` matches any run of characters
 * inside one segment; `**`, which must be a whole segment, matches zero or more whole segments.
 * Everything else is literal and case-sensitive. Patterns come from policy authors and texts from
 * clients, so neither may be able to make a match slow: there is no regex here. Matching runs an
 * NFA over pattern segments (the set of positions the pattern could be at), so the work is bounded
 * by len(text) x len(pattern) whatever the input.
 */

export const MAX_PATTERN_LENGTH = 4096;
export const MAX_WILDCARDS = 64;

export interface Glob {
  readonly pattern: string;
  matches(text: string): boolean;
}

export type GlobResult =
  { readonly ok: true; readonly glob: Glob } | { readonly ok: false; readonly message: string };

const LITERAL = 0;
const ANY = 1; // a lone `*`: any one segment, including an empty one
const GLOBSTAR = 2;
const WILD = 3; // a segment with `*` and literal parts

interface Segment {
  readonly kind: typeof LITERAL | typeof ANY | typeof GLOBSTAR | typeof WILD;
  /** The literal text (LITERAL), or the parts between the stars (WILD: at least two). */
  readonly parts: readonly string[];
  /** The shortest text segment that can match. */
  readonly minLength: number;
}

function quote(text: string): string {
  const shown = text.length > 64 ? `${text.slice(0, 61)}...` : text;
  return `\`${shown}\``;
}

class ExactGlob implements Glob {
  constructor(readonly pattern: string) {}
  matches(text: string): boolean {
    return text === this.pattern;
  }
}

/** `prefix/**`: the prefix itself or anything below it. */
class SubtreeGlob implements Glob {
  private readonly below: string;
  constructor(
    readonly pattern: string,
    readonly prefix: string,
  ) {
    this.below = `${prefix}/`;
  }
  matches(text: string): boolean {
    return typeof text === 'string' && (text === this.prefix || text.startsWith(this.below));
  }
}

class EverythingGlob implements Glob {
  constructor(readonly pattern: string) {}
  matches(text: string): boolean {
    return typeof text === 'string';
  }
}

/** The first index of `part` in text[from, limit), or -1; never looks past `limit`. */
function findWithin(text: string, part: string, from: number, limit: number): number {
  const last = limit - part.length;
  const first = part.charCodeAt(0);
  for (let p = from; p <= last; p++) {
    if (text.charCodeAt(p) === first && text.startsWith(part, p)) return p;
  }
  return -1;
}

/** Whether text[start, end) matches one non-globstar pattern segment. */
function segmentMatches(segment: Segment, text: string, start: number, end: number): boolean {
  const length = end - start;
  if (segment.kind === ANY) return true;
  const parts = segment.parts;
  if (segment.kind === LITERAL) {
    const literal = parts[0] ?? '';
    return length === literal.length && text.startsWith(literal, start);
  }
  if (length < segment.minLength) return false;
  const head = parts[0] ?? '';
  const tail = parts[parts.length - 1] ?? '';
  if (!text.startsWith(head, start) || !text.startsWith(tail, end - tail.length)) return false;
  // With only `*` between the parts, taking each middle part at its leftmost position leaves the
  // most room for the rest, so one greedy pass decides the match (no backtracking).
  let pos = start + head.length;
  const limit = end - tail.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] ?? '';
    const at = findWithin(text, part, pos, limit);
    if (at < 0) return false;
    pos = at + part.length;
  }
  return true;
}

class SegmentGlob implements Glob {
  // Per-glob scratch so a match allocates nothing. Matching is synchronous and never re-entered.
  private readonly current: Int32Array;
  private readonly next: Int32Array;
  private readonly seen: Int32Array;
  private generation = 0;

  constructor(
    readonly pattern: string,
    private readonly segments: readonly Segment[],
  ) {
    const states = segments.length + 1;
    this.current = new Int32Array(states);
    this.next = new Int32Array(states);
    this.seen = new Int32Array(states);
  }

  matches(text: string): boolean {
    if (typeof text !== 'string') return false;
    const segments = this.segments;
    const accept = segments.length;
    let current = this.current;
    let next = this.next;
    let count = this.add(current, 0, 0, this.step());
    let start = 0;
    for (;;) {
      let end = text.indexOf('/', start);
      if (end < 0) end = text.length;
      const generation = this.step();
      let nextCount = 0;
      for (let k = 0; k < count; k++) {
        const state = current[k] ?? accept;
        if (state === accept) continue;
        const segment = segments[state];
        if (segment === undefined) continue;
        if (segment.kind === GLOBSTAR) {
          nextCount = this.add(next, nextCount, state, generation);
        } else if (segmentMatches(segment, text, start, end)) {
          nextCount = this.add(next, nextCount, state + 1, generation);
        }
      }
      if (nextCount === 0) return false;
      const swap = current;
      current = next;
      next = swap;
      count = nextCount;
      if (end === text.length) break;
      start = end + 1;
    }
    for (let k = 0; k < count; k++) if (current[k] === accept) return true;
    return false;
  }

  /** Adds a state and, through any `**` it stands on, the states after it (zero segments). */
  private add(list: Int32Array, count: number, state: number, generation: number): number {
    const segments = this.segments;
    let s = state;
    for (;;) {
      if (this.seen[s] === generation) return count;
      this.seen[s] = generation;
      list[count++] = s;
      if (segments[s]?.kind !== GLOBSTAR) return count;
      s++;
    }
  }

  private step(): number {
    if (this.generation === 0x7fffffff) {
      this.seen.fill(0);
      this.generation = 0;
    }
    return ++this.generation;
  }
}

/** Compiles a pattern after checking it, or explains what is wrong with it. */
export function compileGlob(pattern: string): GlobResult {
  if (typeof pattern !== 'string') return { ok: false, message: 'a pattern must be a string' };
  if (pattern.length === 0) return { ok: false, message: 'a pattern must not be empty' };
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return {
      ok: false,
      message: `${quote(pattern)} is longer than ${MAX_PATTERN_LENGTH} characters`,
    };
  }
  const texts = pattern.split('/');
  const segments: Segment[] = [];
  let wildcards = 0;
  for (const text of texts) {
    if (text === '**') {
      wildcards++;
      // `**/**` means the same as `**`; folding them keeps the state set small.
      if (segments[segments.length - 1]?.kind !== GLOBSTAR) {
        segments.push({ kind: GLOBSTAR, parts: [], minLength: 0 });
      }
      continue;
    }
    if (text.includes('**')) {
      return {
        ok: false,
        message: `${quote(pattern)}: \`**\` must be a whole path segment, as in \`/api/**\``,
      };
    }
    if (text === '*') {
      wildcards++;
      segments.push({ kind: ANY, parts: [], minLength: 0 });
      continue;
    }
    const parts = text.split('*');
    if (parts.length === 1) {
      segments.push({ kind: LITERAL, parts, minLength: text.length });
      continue;
    }
    wildcards += parts.length - 1;
    segments.push({ kind: WILD, parts, minLength: text.length - (parts.length - 1) });
  }
  if (wildcards > MAX_WILDCARDS) {
    return {
      ok: false,
      message: `${quote(pattern)} has ${wildcards} wildcards; at most ${MAX_WILDCARDS} are allowed`,
    };
  }
  return { ok: true, glob: specialize(pattern, segments) };
}

function specialize(pattern: string, segments: readonly Segment[]): Glob {
  const literalUpTo = segments.findIndex((s) => s.kind !== LITERAL);
  if (literalUpTo < 0) return new ExactGlob(pattern);
  if (segments.length === 1 && segments[0]?.kind === GLOBSTAR) return new EverythingGlob(pattern);
  if (literalUpTo === segments.length - 1 && segments[literalUpTo]?.kind === GLOBSTAR) {
    const prefix = segments
      .slice(0, literalUpTo)
      .map((s) => s.parts[0] ?? '')
      .join('/');
    // `**` alone is handled above, so there is at least one literal segment here.
    return new SubtreeGlob(pattern, prefix);
  }
  return new SegmentGlob(pattern, segments);
}

/** Below this many subtree prefixes, testing each with startsWith beats hashing every prefix. */
const SUBTREE_SCAN_LIMIT = 8;

export class GlobSet {
  private constructor(
    private readonly exact: ReadonlySet<string>,
    private readonly subtreePrefixes: readonly string[],
    private readonly subtreeSet: ReadonlySet<string> | undefined,
    private readonly everything: boolean,
    private readonly others: readonly Glob[],
  ) {}

  static compile(patterns: readonly string[]): {
    set: GlobSet;
    errors: { index: number; message: string }[];
  } {
    const errors: { index: number; message: string }[] = [];
    const exact = new Set<string>();
    const prefixes = new Set<string>();
    const others: Glob[] = [];
    let everything = false;
    for (let index = 0; index < patterns.length; index++) {
      const result = compileGlob(patterns[index] as string);
      if (!result.ok) {
        errors.push({ index, message: result.message });
        continue;
      }
      const glob = result.glob;
      if (glob instanceof ExactGlob) exact.add(glob.pattern);
      else if (glob instanceof SubtreeGlob) prefixes.add(glob.prefix);
      else if (glob instanceof EverythingGlob) everything = true;
      else others.push(glob);
    }
    const list = [...prefixes];
    const set = new GlobSet(
      exact,
      list,
      list.length > SUBTREE_SCAN_LIMIT ? prefixes : undefined,
      everything,
      others,
    );
    return { set, errors };
  }

  /** Whether any pattern matches. */
  matches(text: string): boolean {
    if (typeof text !== 'string') return false;
    if (this.everything || this.exact.has(text)) return true;
    if (this.subtreeSet !== undefined) {
      // Each `/` in the text ends a candidate prefix; hashing them is O(text), not O(patterns).
      if (this.subtreeSet.has(text)) return true;
      for (let slash = text.indexOf('/'); slash >= 0; slash = text.indexOf('/', slash + 1)) {
        if (this.subtreeSet.has(text.slice(0, slash))) return true;
      }
    } else {
      for (const prefix of this.subtreePrefixes) {
        if (
          text === prefix ||
          (text.length > prefix.length &&
            text.charCodeAt(prefix.length) === 47 &&
            text.startsWith(prefix))
        ) {
          return true;
        }
      }
    }
    for (const glob of this.others) if (glob.matches(text)) return true;
    return false;
  }
}
