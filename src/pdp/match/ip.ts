/**
 * IP addresses and CIDR sets for the `source_ip` criterion.
 *
 * Representation: an IPv4 address is one unsigned 32-bit integer; an IPv6 address is four
 * unsigned 32-bit words, most significant first. Plain numbers rather than bigints because
 * bigint arithmetic allocates, and a lookup runs on every request.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are the IPv4 address: a dual-stack socket reports
 * an IPv4 client that way, and `10.0.0.0/8` must still match it. An IPv6 CIDR that covers the
 * whole mapped block (such as `::/0`) therefore also covers every IPv4 address, which is what
 * `node:net`'s BlockList does too. Other embeddings (`::a.b.c.d`, NAT64 `64:ff9b::/96`) stay
 * IPv6: those are different hosts as far as the network is concerned.
 *
 * Accepted text is strict. Zone ids (`fe80::1%eth0`) name an interface on the receiving host, not
 * a client, and are rejected, as are brackets, ports, surrounding whitespace and IPv4 octets with
 * leading zeros (which some parsers read as octal, so `010.1.1.1` is ambiguous).
 */

export interface Ipv4Address {
  readonly family: 4;
  /** Unsigned 32-bit integer: `10.1.2.3` is `0x0a010203`. */
  readonly value: number;
}

export interface Ipv6Address {
  readonly family: 6;
  /** Four unsigned 32-bit words, most significant first. */
  readonly words: readonly [number, number, number, number];
}

export type IpAddress = Ipv4Address | Ipv6Address;

export type Cidr =
  | { readonly family: 4; readonly address: Ipv4Address; readonly prefix: number }
  | { readonly family: 6; readonly address: Ipv6Address; readonly prefix: number };

export type CidrResult =
  ({ readonly ok: true } & Cidr) | { readonly ok: false; readonly message: string };

/** `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`; anything longer cannot be an address. */
const MAX_ADDRESS_LENGTH = 45;
const SYNTAX_NONE = 0;
const SYNTAX_V4 = 4;
const SYNTAX_V6 = 6;
type Syntax = typeof SYNTAX_NONE | typeof SYNTAX_V4 | typeof SYNTAX_V6;

// Scratch space for the hot path: lookups parse into these instead of allocating. Safe because
// parsing is synchronous and never re-entered.
const scratch = new Uint32Array(4);
const groups = new Uint32Array(8);

/** Strict dotted quad in text[start, end); the unsigned value, or -1. */
function parseV4(text: string, start: number, end: number): number {
  let value = 0;
  let i = start;
  for (let octets = 1; ; octets++) {
    if (i >= end) return -1;
    let c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    let octet = c - 48;
    i++;
    while (i < end) {
      c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      if (octet === 0) return -1; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      i++;
    }
    value = value * 256 + octet;
    if (octets === 4) return i === end ? value : -1;
    if (i >= end || text.charCodeAt(i) !== 46 /* . */) return -1;
    i++;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/** RFC 4291 section 2.2 text forms; writes four words into `out`. */
function parseV6(text: string, out: Uint32Array): boolean {
  const n = text.length;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58 /* : */) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let j = i;
    let v = 0;
    while (j < n) {
      const h = hexValue(text.charCodeAt(j));
      if (h < 0) break;
      if (j - i === 4) return false;
      v = v * 16 + h;
      j++;
    }
    if (j < n && text.charCodeAt(j) === 46 /* . */) {
      // An IPv4 tail fills the last two groups and must end the text.
      if (count > 6) return false;
      const v4 = parseV4(text, i, n);
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    if (j === i || count === 8) return false;
    groups[count++] = v;
    if (j === n) break;
    if (text.charCodeAt(j) !== 58) return false;
    j++;
    if (j < n && text.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = count;
      j++;
    } else if (j === n) {
      return false; // a single trailing colon
    }
    i = j;
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const shift = 8 - count;
  for (let w = 0; w < 4; w++) {
    const a = 2 * w;
    const b = a + 1;
    const ga =
      gap < 0 || a < gap ? (groups[a] ?? 0) : a < gap + shift ? 0 : (groups[a - shift] ?? 0);
    const gb =
      gap < 0 || b < gap ? (groups[b] ?? 0) : b < gap + shift ? 0 : (groups[b - shift] ?? 0);
    out[w] = ga * 65536 + gb;
  }
  return true;
}

/**
 * Parses without allocating. IPv4 syntax leaves the value in `out[3]` (and zeroes the rest);
 * IPv6 syntax leaves four words. The caller decides what a mapped address means.
 */
function parseSyntax(text: string, out: Uint32Array): Syntax {
  const n = text.length;
  if (n === 0 || n > MAX_ADDRESS_LENGTH) return SYNTAX_NONE;
  if (text.indexOf(':') < 0) {
    const v = parseV4(text, 0, n);
    if (v < 0) return SYNTAX_NONE;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0;
    out[3] = v;
    return SYNTAX_V4;
  }
  return parseV6(text, out) ? SYNTAX_V6 : SYNTAX_NONE;
}

function isMapped(w: Uint32Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string') return undefined;
  const syntax = parseSyntax(text, scratch);
  if (syntax === SYNTAX_NONE) return undefined;
  if (syntax === SYNTAX_V4 || isMapped(scratch)) return { family: 4, value: scratch[3] ?? 0 };
  return {
    family: 6,
    words: [scratch[0] ?? 0, scratch[1] ?? 0, scratch[2] ?? 0, scratch[3] ?? 0],
  };
}

function formatV4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** RFC 5952 canonical text: lower case, no leading zeros, the longest zero run compressed. */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return formatV4(ip.value);
  const g: number[] = [];
  for (const w of ip.words) g.push(w >>> 16, w & 0xffff);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed (RFC 5952 section 4.2.2)
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (part: number[]): string => part.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLength))}`;
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.address)}/${cidr.prefix}`;
}

/** Keeps hostile input out of error messages at a readable size. */
function quote(text: string): string {
  const shown = text.length > 64 ? `${text.slice(0, 61)}...` : text;
  return `\`${shown}\``;
}

/** Why an address did not parse, in terms of the mistakes people actually make. */
function explainBadAddress(whole: string, address: string): string {
  const q = quote(whole);
  if (address.trim() !== address) return `${q} has surrounding whitespace`;
  if (address.startsWith('[')) return `${q}: write IPv6 addresses without brackets`;
  const zone = address.indexOf('%');
  if (zone >= 0) {
    return `${q}: zone ids such as ${quote(address.slice(zone))} are not allowed; they name a local interface, not a client`;
  }
  if (/^[0-9.]+:[0-9]*$/.test(address)) return `${q}: ports are not allowed`;
  if (/^[0-9.]+$/.test(address) && /(^|\.)0[0-9]/.test(address)) {
    return `${q}: IPv4 octets must not have leading zeros (they are read as octal by some tools)`;
  }
  return `${q} is not an IP address or CIDR`;
}

const V4_FULL = 0xffffffff;

function v4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (V4_FULL << (32 - prefix)) >>> 0;
}

/** The word mask for word `w` of an IPv6 prefix. */
function v6WordMask(prefix: number, w: number): number {
  const bits = Math.min(32, Math.max(0, prefix - 32 * w));
  return v4Mask(bits);
}

export function parseCidr(text: string): CidrResult {
  if (typeof text !== 'string') return { ok: false, message: 'a CIDR must be a string' };
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const syntax = address.length > MAX_ADDRESS_LENGTH ? SYNTAX_NONE : parseSyntax(address, scratch);
  if (syntax === SYNTAX_NONE) return { ok: false, message: explainBadAddress(text, address) };
  const words: [number, number, number, number] = [
    scratch[0] ?? 0,
    scratch[1] ?? 0,
    scratch[2] ?? 0,
    scratch[3] ?? 0,
  ];
  const mapped = syntax === SYNTAX_V6 && isMapped(scratch);
  const max = syntax === SYNTAX_V4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^[0-9]+$/.test(digits)) {
      return {
        ok: false,
        message: `${quote(text)}: the prefix length must be a number from 0 to ${max}, as in \`/${max === 32 ? 8 : 64}\``,
      };
    }
    if (digits.length > 1 && digits.startsWith('0')) {
      return {
        ok: false,
        message: `${quote(text)}: write the prefix length without leading zeros, as in \`/${Number(digits)}\``,
      };
    }
    prefix = digits.length > 3 ? Infinity : Number(digits);
    if (prefix > max) {
      return {
        ok: false,
        message: `${quote(text)}: the prefix length must be from 0 to ${max} for an ${max === 32 ? 'IPv4' : 'IPv6'} address`,
      };
    }
  }
  if (syntax === SYNTAX_V4 || (mapped && prefix >= 96)) {
    const v4Prefix = syntax === SYNTAX_V4 ? prefix : prefix - 96;
    const value = words[3];
    const network = (value & v4Mask(v4Prefix)) >>> 0;
    if (network !== value) {
      const suggestion = syntax === SYNTAX_V4 ? formatV4(network) : `::ffff:${formatV4(network)}`;
      return {
        ok: false,
        message: `${quote(text)} has host bits set; did you mean \`${suggestion}/${prefix}\`?`,
      };
    }
    return { ok: true, family: 4, address: { family: 4, value }, prefix: v4Prefix };
  }
  const network: [number, number, number, number] = [0, 0, 0, 0];
  let hostBits = false;
  for (let w = 0; w < 4; w++) {
    const value = words[w] ?? 0;
    const masked = (value & v6WordMask(prefix, w)) >>> 0;
    network[w] = masked;
    if (masked !== value) hostBits = true;
  }
  if (hostBits) {
    const suggestion = formatIp({ family: 6, words: network });
    return {
      ok: false,
      message: `${quote(text)} has host bits set; did you mean \`${suggestion}/${prefix}\`?`,
    };
  }
  return { ok: true, family: 6, address: { family: 6, words }, prefix };
}

/** Below this many merged ranges a linear scan beats a binary search. */
const LINEAR_SCAN_LIMIT = 8;

function compareV6(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  for (let w = 0; w < 4; w++) {
    const x = a[4 * i + w] ?? 0;
    const y = b[4 * j + w] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Whether b[j] is a[i] + 1 (128-bit). */
function isSuccessorV6(a: Uint32Array, i: number, b: Uint32Array, j: number): boolean {
  let carry = 1;
  for (let w = 3; w >= 0; w--) {
    const sum = (a[4 * i + w] ?? 0) + carry;
    carry = sum > V4_FULL ? 1 : 0;
    if ((b[4 * j + w] ?? 0) !== sum % 0x100000000) return false;
  }
  return carry === 0;
}

export class CidrSet {
  /**
   * Merged, sorted, disjoint, non-adjacent inclusive ranges. IPv6 ranges take four words each.
   * Merging means a lookup is one binary search whatever the overlap in the input list.
   */
  private constructor(
    private readonly v4Starts: Uint32Array,
    private readonly v4Ends: Uint32Array,
    private readonly v6Starts: Uint32Array,
    private readonly v6Ends: Uint32Array,
  ) {}

  static compile(list: readonly string[]): {
    set: CidrSet;
    errors: { index: number; message: string }[];
  } {
    const errors: { index: number; message: string }[] = [];
    // IPv4 CIDRs are packed as start * 64 + host bits so a native numeric sort orders them
    // without a comparator (start < 2^32, so the key stays below 2^38 and exact).
    const v4Keys: number[] = [];
    const v6Words: number[] = [];
    const v6HostBits: number[] = [];
    let coversAllV4 = false;
    for (let index = 0; index < list.length; index++) {
      const parsed = parseCidr(list[index] as string);
      if (!parsed.ok) {
        errors.push({ index, message: parsed.message });
        continue;
      }
      if (parsed.family === 4) {
        v4Keys.push(parsed.address.value * 64 + (32 - parsed.prefix));
        continue;
      }
      const [w0, w1, w2, w3] = parsed.address.words;
      v6Words.push(w0, w1, w2, w3);
      v6HostBits.push(128 - parsed.prefix);
      // A shorter IPv6 prefix that contains ::ffff:0:0/96 contains every mapped address, and
      // mapped addresses are looked up as IPv4.
      if (parsed.prefix < 96 && w0 === 0 && w1 === 0) {
        if ((0xffff & v6WordMask(parsed.prefix, 2)) >>> 0 === w2) coversAllV4 = true;
      }
    }
    if (coversAllV4) v4Keys.push(32); // 0.0.0.0/0
    const [v4Starts, v4Ends] = mergeV4(v4Keys);
    const [v6Starts, v6Ends] = mergeV6(v6Words, v6HostBits);
    return { set: new CidrSet(v4Starts, v4Ends, v6Starts, v6Ends), errors };
  }

  /** Never throws: text that is not an address is simply not contained. */
  contains(address: string): boolean {
    if (typeof address !== 'string') return false;
    const syntax = parseSyntax(address, scratch);
    if (syntax === SYNTAX_NONE) return false;
    if (syntax === SYNTAX_V4 || isMapped(scratch)) return this.containsV4(scratch[3] ?? 0);
    return this.containsV6(scratch);
  }

  containsParsed(ip: IpAddress): boolean {
    if (ip.family === 4) return this.containsV4(ip.value);
    const [w0, w1, w2, w3] = ip.words;
    scratch[0] = w0;
    scratch[1] = w1;
    scratch[2] = w2;
    scratch[3] = w3;
    // Hand-built values may be mapped even though parseIp never returns one.
    if (isMapped(scratch)) return this.containsV4(w3);
    return this.containsV6(scratch);
  }

  private containsV4(x: number): boolean {
    const starts = this.v4Starts;
    const ends = this.v4Ends;
    const n = starts.length;
    if (n <= LINEAR_SCAN_LIMIT) {
      for (let i = 0; i < n; i++) {
        if (x >= (starts[i] ?? 0) && x <= (ends[i] ?? 0)) return true;
      }
      return false;
    }
    // The last range starting at or before x is the only candidate.
    let lo = 0;
    let hi = n - 1;
    if (x < (starts[0] ?? 0)) return false;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((starts[mid] ?? 0) <= x) lo = mid;
      else hi = mid - 1;
    }
    return x <= (ends[lo] ?? 0);
  }

  private containsV6(x: Uint32Array): boolean {
    const starts = this.v6Starts;
    const ends = this.v6Ends;
    const n = starts.length >>> 2;
    if (n === 0 || compareV6(starts, 0, x, 0) > 0) return false;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (compareV6(starts, mid, x, 0) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return compareV6(x, 0, ends, lo) <= 0;
  }
}

function mergeV4(keys: number[]): [Uint32Array, Uint32Array] {
  const sorted = Float64Array.from(keys).sort();
  const starts = new Uint32Array(sorted.length);
  const ends = new Uint32Array(sorted.length);
  let n = 0;
  for (const key of sorted) {
    const hostBits = key % 64;
    const start = (key - hostBits) / 64;
    const end = start + 2 ** hostBits - 1;
    if (n > 0 && start <= (ends[n - 1] ?? 0) + 1) {
      if (end > (ends[n - 1] ?? 0)) ends[n - 1] = end;
    } else {
      starts[n] = start;
      ends[n] = end;
      n++;
    }
  }
  return [starts.slice(0, n), ends.slice(0, n)];
}

function mergeV6(words: number[], hostBits: number[]): [Uint32Array, Uint32Array] {
  const count = hostBits.length;
  const rawStarts = Uint32Array.from(words);
  const rawEnds = new Uint32Array(words.length);
  for (let i = 0; i < count; i++) {
    const prefix = 128 - (hostBits[i] ?? 0);
    for (let w = 0; w < 4; w++) {
      rawEnds[4 * i + w] = ((rawStarts[4 * i + w] ?? 0) | ~v6WordMask(prefix, w)) >>> 0;
    }
  }
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => compareV6(rawStarts, a, rawStarts, b));
  const starts = new Uint32Array(words.length);
  const ends = new Uint32Array(words.length);
  let n = 0;
  for (const i of order) {
    if (n > 0) {
      const last = n - 1;
      const overlaps = compareV6(rawStarts, i, ends, last) <= 0;
      if (overlaps || isSuccessorV6(ends, last, rawStarts, i)) {
        if (compareV6(rawEnds, i, ends, last) > 0) {
          for (let w = 0; w < 4; w++) ends[4 * last + w] = rawEnds[4 * i + w] ?? 0;
        }
        continue;
      }
    }
    for (let w = 0; w < 4; w++) {
      starts[4 * n + w] = rawStarts[4 * i + w] ?? 0;
      ends[4 * n + w] = rawEnds[4 * i + w] ?? 0;
    }
    n++;
  }
  return [starts.slice(0, 4 * n), ends.slice(0, 4 * n)];
}
