/**
 * A small, strict DER reader and writer for the few structures the CA handles on its hot path
 * (certificate signing requests in, leaf certificates out). It is serialization only: signing,
 * verification and hashing are node:crypto's.
 *
 * The reader accepts DER, not BER: single-byte tags, definite minimal lengths, no bytes past the
 * end of a structure. Anything else is an error, so that what was checked is exactly what is used.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One element: its tag and where its header and contents lie in the buffer. */
export interface Tlv {
  readonly tag: number;
  /** offset of the tag byte */
  readonly start: number;
  /** offset of the first content byte */
  readonly contentStart: number;
  /** offset just past the element */
  readonly end: number;
}

/** Reads the element that starts at `pos` and must end at or before `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit = buf.length): Tlv {
  if (pos + 2 > limit) throw new DerError('truncated element');
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
  const first = buf[pos + 1] as number;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = pos + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError('indefinite length (BER, not DER)');
    if (count > 3) throw new DerError('element too long');
    if (pos + 2 + count > limit) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[pos + 2 + i] as number);
    if (buf[pos + 2] === 0 || length < 0x80)
      throw new DerError('non-minimal length (BER, not DER)');
    contentStart = pos + 2 + count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError('element runs past the end of its container');
  return { tag, start: pos, contentStart, end };
}

/** Reads the one element that must fill `buf` exactly (no trailing bytes). */
export function readOnly(buf: Uint8Array, expectedTag?: number): Tlv {
  const tlv = readTlv(buf, 0);
  if (tlv.end !== buf.length) throw new DerError('trailing bytes after the structure');
  if (expectedTag !== undefined && tlv.tag !== expectedTag) {
    throw new DerError(`expected tag 0x${hex(expectedTag)}, found 0x${hex(tlv.tag)}`);
  }
  return tlv;
}

/** The direct children of a constructed element. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw new DerError('not a constructed element');
  const out: Tlv[] = [];
  let pos = parent.contentStart;
  while (pos < parent.end) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
    if (out.length > 4096) throw new DerError('too many elements');
  }
  return out;
}

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv) throw new DerError(`${what} is missing`);
  if (tlv.tag !== tag)
    throw new DerError(`${what}: expected tag 0x${hex(tag)}, found 0x${hex(tlv.tag)}`);
  return tlv;
}

export function contents(buf: Uint8Array, tlv: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + tlv.contentStart, tlv.end - tlv.contentStart);
}

export function whole(buf: Uint8Array, tlv: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + tlv.start, tlv.end - tlv.start);
}

/** Decodes an OBJECT IDENTIFIER's contents to dotted form. */
export function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0 || bytes.length > 64) throw new DerError('malformed object identifier');
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (const b of bytes) {
    if (fresh && b === 0x80) throw new DerError('non-minimal object identifier');
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128)
      throw new DerError('object identifier arc too large');
    fresh = (b & 0x80) === 0;
    if (fresh) {
      arcs.push(value);
      value = 0;
    }
  }
  if (!fresh) throw new DerError('truncated object identifier');
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** The contents of a BIT STRING with no unused bits (keys, signatures). */
export function bitStringBytes(buf: Uint8Array, tlv: Tlv): Buffer {
  const c = contents(buf, tlv);
  if (c.length === 0 || c[0] !== 0) throw new DerError('bit string with unused bits');
  return c.subarray(1);
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------
// writer

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  if (n < 0x1000000) return Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  throw new DerError('element too long');
}

/** One element from a tag and its contents. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Buffer {
  const body = parts.length === 1 ? Buffer.from(parts[0] as Uint8Array) : Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const seq = (...parts: readonly Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...parts);
export const set = (...parts: readonly Uint8Array[]): Buffer => tlv(TAG.SET, ...parts);
export const octetString = (b: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, b);
export const utf8String = (s: string): Buffer => tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
export const ia5String = (s: string): Buffer => tlv(TAG.IA5_STRING, Buffer.from(s, 'latin1'));
export const printableString = (s: string): Buffer =>
  tlv(TAG.PRINTABLE_STRING, Buffer.from(s, 'latin1'));
export const bool = (v: boolean): Buffer => tlv(TAG.BOOLEAN, Buffer.from([v ? 0xff : 0x00]));
/** A BIT STRING with no unused bits. */
export const bitString = (b: Uint8Array): Buffer => tlv(TAG.BIT_STRING, Buffer.from([0]), b);
/** A context-specific tag: `[n]`, constructed or primitive. */
export const context = (n: number, constructed: boolean, ...parts: readonly Uint8Array[]): Buffer =>
  tlv(0x80 | (constructed ? 0x20 : 0) | n, ...parts);

/** A non-negative INTEGER from its big-endian magnitude (a leading zero is added when needed). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const m = Buffer.from(magnitude.subarray(start));
  return tlv(TAG.INTEGER, (m[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

export function smallInteger(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new DerError('integer out of range');
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  return unsignedInteger(Buffer.from(bytes));
}

const oidCache = new Map<string, Buffer>();

export function oid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split('.').map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new DerError(`malformed object identifier ${dotted}`);
  }
  const out: number[] = [];
  const push = (v: number) => {
    const chunk = [v & 0x7f];
    for (let rest = Math.floor(v / 128); rest > 0; rest = Math.floor(rest / 128)) {
      chunk.unshift((rest & 0x7f) | 0x80);
    }
    out.push(...chunk);
  };
  push((arcs[0] as number) * 40 + (arcs[1] as number));
  for (const a of arcs.slice(2)) push(a);
  const encoded = tlv(TAG.OID, Buffer.from(out));
  oidCache.set(dotted, encoded);
  return encoded;
}

/** UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5); whole seconds, UTC. */
export function time(date: Date): Buffer {
  const y = date.getUTCFullYear();
  const p = (n: number) => String(n).padStart(2, '0');
  const rest = `${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(
    date.getUTCMinutes(),
  )}${p(date.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050)
    return tlv(TAG.UTC_TIME, Buffer.from(`${p(y % 100)}${rest}`, 'latin1'));
  if (y < 0 || y > 9999) throw new DerError('date out of range');
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${String(y).padStart(4, '0')}${rest}`, 'latin1'));
}
